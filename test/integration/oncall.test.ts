import type { AddressObject, ParsedMail } from 'mailparser';
import { FakeSlack } from '../../scripts/local-slack';
import { ensureHandoffWorkflows } from '../../store/schedules';
import { oncallHandoffWorkflowId } from '../../workflows/oncall-handoff';
import { FakePaging } from '../helpers/fake-paging';
import { bearer } from '../helpers/api';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

const HOUR = 3_600_000;

/** recipients are the addresses an e-mail went to. */
const recipients = (m: ParsedMail) => (Array.isArray(m.to) ? m.to : m.to ? [m.to] : []).flatMap((a: AddressObject) => a.value.map((v) => v.address));

/**
 * On-call schedules (issue 20, part 1) on the real stack: the admin API stores and answers them, an escalation step
 * that names a schedule pages whoever is its primary when the step runs (and the alert's timeline says who, or names
 * the gap), and the schedule's handoff workflow tells the incoming person once.
 */
describe('on-call schedules', () => {
  const service = uniqueName('oc');
  const rule = uniqueName('oc_queue').replaceAll('-', '_');
  const schedule = uniqueName('oc-primary').toLowerCase();
  const path = `/api/v1/admin/monitoring/oncall/schedules/${schedule}`;
  let stack: AlertingStack;

  // A phone-only contact's handoff notice goes by text through the SMS gateway.
  const paging = new FakePaging('oc-opsgenie-key');

  beforeAll(async () => {
    await paging.start();
    stack = await startAlertingStack({
      name: 'oc',
      service,
      metric: 'oc_queue_depth',
      rulesYaml: `oc_rules:\n  oc:\n    - name: ${rule}\n      expression: 'oc_queue_depth{service="${service}"} > 100'\n      severity: critical\n`,
      escalationYaml: `default_policy: oc\npolicies:\n  - name: oc\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}, {oncall: ${schedule}}]\n`,
      env: { SMS_WEBHOOK_URL: `${paging.url}/sms`, ALERT_WEBHOOK_SECRET: 'oc-webhook-secret' },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.api.app.inject({ method: 'DELETE', url: path, headers: bearer('admin') });
    await stack?.close();
    await paging.stop();
  });

  const put = (body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.api.app.inject({ method: 'PUT', url: path, headers: { ...bearer('admin'), ...headers }, payload: body });
  const get = (url: string, role: 'admin' | 'viewer' = 'admin') => stack.api.app.inject({ url, headers: bearer(role) });
  const contacts = { alice: { email: 'alice@example.com' }, bob: { email: 'bob@example.com', slack: '#oc-bob' }, carol: { email: 'carol@example.com' }, dave: { phone: '+15550100' } };
  // A weekly rotation of alice and bob, Mondays 09:00 in New York, from a Monday in the past.
  const weekly = { time_zone: 'America/New_York', contacts, layers: [{ name: 'weekly', start: '2026-01-05T09:00', rotation: 'weekly', users: ['alice', 'bob'] }] };

  it('stores a schedule through the admin API and answers who is on call at any instant, and the shifts', async () => {
    const bad = await put({ ...weekly, time_zone: 'Mars/Olympus' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'validation_failed', field: 'body.time_zone' });
    expect((await put({ ...weekly, layers: [{ ...weekly.layers[0], users: ['alice', 'mallory'] }] })).json()).toMatchObject({ field: 'body.layers[0].users[1]' });
    expect((await get(path)).statusCode).toBe(404);

    const created = await put(weekly);
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ name: schedule, version: 1, time_zone: 'America/New_York', oncall_now: { user: expect.stringMatching(/^(alice|bob)$/), source: 'weekly' } });
    // Monday 9 March 2026, the first week of daylight time there, is the tenth handoff (bob's): at 09:00 EDT, 13:00Z.
    const march = (await get(`${path}/oncall?at=2026-03-10T12:00:00Z`)).json();
    expect(march).toMatchObject({ schedule, user: 'bob', source: 'weekly', shift_start: '2026-03-09T13:00:00.000Z', shift_end: '2026-03-16T13:00:00.000Z', contact: { email: 'bob@example.com' } });
    expect((await get(`${path}/oncall?at=2026-03-09T12:59:00Z`)).json()).toMatchObject({ user: 'alice', shift_start: '2026-03-02T14:00:00.000Z' });
    expect((await get(`${path}/oncall?at=yesterday`)).json()).toMatchObject({ error: 'validation_failed', field: 'querystring.at' });
    const shifts = (await get(`${path}/shifts?from=2026-03-01T00:00:00Z&to=2026-03-20T00:00:00Z`)).json().shifts;
    expect(shifts.map((s: { user: string; start: string }) => [s.user, s.start])).toEqual([
      ['bob', '2026-03-01T00:00:00.000Z'],
      ['alice', '2026-03-02T14:00:00.000Z'],
      ['bob', '2026-03-09T13:00:00.000Z'],
      ['alice', '2026-03-16T13:00:00.000Z'],
    ]);

    // A stale edit is refused; the list shows it; a viewer sees nothing.
    expect((await put(weekly, { 'if-match': '0' })).statusCode).toBe(409);
    expect((await get('/api/v1/admin/monitoring/oncall/schedules')).json().schedules.map((s: { name: string }) => s.name)).toContain(schedule);
    expect((await get(path, 'viewer')).statusCode).toBe(403);
  });

  it('pages the primary of the schedule when the step runs, says who in the timeline, and names a gap', async () => {
    // bob covers now (an override over the rotation): the page goes to his e-mail and his Slack channel.
    const now = Date.now();
    expect((await put({ ...weekly, overrides: [{ user: 'bob', from: new Date(now - HOUR).toISOString(), to: new Date(now + HOUR).toISOString(), note: 'swap with alice' }] })).statusCode).toBe(200);
    await stack.driver.push('oc-0', 500);
    await stack.driver.evaluate();
    const alertId = await eventually(async () => {
      const found = (await stack.driver.active()).find((a) => a.instance === 'oc-0');
      expect(found).toBeDefined();
      return found!.alert_id;
    }, 60_000, 300);
    await eventually(async () => expect(stack.mailsOf(alertId).flatMap(recipients)).toEqual(['bob@example.com']), 30_000, 200);
    await eventually(async () => expect(stack.messagesOf(alertId).map((m) => m.channel).sort()).toEqual([FakeSlack.channelId('#ml-alerts'), FakeSlack.channelId('#oc-bob')].sort()), 30_000, 200);
    const timeline = (await get(`/api/v1/alerts/${alertId}/timeline`)).json();
    expect(timeline.entries.find((e: { kind: string }) => e.kind === 'oncall')).toMatchObject({ text: expect.stringContaining(`on call for ${schedule}: bob (override)`), details: { schedule, user: 'bob' } });
    expect(timeline.why).toContain('email bob@example.com');

    // The only layer covers weekday office hours in Kiritimati (UTC+14) on a day that is not today there: a gap now.
    const today = new Date(Date.now() + 14 * HOUR).getUTCDay();
    const notToday = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(today + 3) % 7];
    expect((await put({ time_zone: 'Pacific/Kiritimati', contacts, layers: [{ start: '2026-01-05T09:00', rotation: 'daily', users: ['carol'], restrictions: [{ days: [notToday], from: '09:00', to: '17:00' }] }] })).statusCode).toBe(200);
    await stack.driver.push('oc-1', 500);
    await stack.driver.evaluate();
    const gapId = await eventually(async () => {
      const found = (await stack.driver.active()).find((a) => a.instance === 'oc-1');
      expect(found).toBeDefined();
      return found!.alert_id;
    }, 60_000, 300);
    await eventually(async () => expect(stack.messagesOf(gapId).map((m) => m.channel)).toEqual([FakeSlack.channelId('#ml-alerts')]), 30_000, 200);
    const gap = await eventually(async () => {
      const t = (await get(`/api/v1/alerts/${gapId}/timeline`)).json();
      expect(t.entries.some((e: { kind: string }) => e.kind === 'oncall')).toBe(true);
      return t;
    }, 10_000, 200);
    expect(gap.why).toMatch(new RegExp(`no on-call person reached: a gap in ${schedule}: nobody is on call from`));
    expect(stack.mailsOf(gapId)).toHaveLength(0);
  });

  it('tells the person coming on call, once, when their shift starts', async () => {
    const handoffAt = Date.now() + 3_000;
    const sent = stack.smtp.messages.length;
    expect(
      (await put({ ...weekly, overrides: [{ user: 'carol', from: new Date(handoffAt).toISOString(), to: new Date(handoffAt + HOUR).toISOString() }] })).statusCode,
    ).toBe(200);
    const notice = await eventually(async () => {
      const mail = stack.smtp.messages.slice(sent).find((m) => recipients(m).includes('carol@example.com'));
      expect(mail).toBeDefined();
      return mail!;
    }, 30_000, 200);
    expect(Date.now()).toBeGreaterThanOrEqual(handoffAt - 1_000);
    expect(notice.subject).toContain(`On call for ${schedule}`);
    expect(notice.text).toMatch(/You are on call for .* taking over from (alice|bob)/);
    // Once: an edit that keeps the handoff does not tell her again.
    expect((await put({ ...weekly, description: 'edited', overrides: [{ user: 'carol', from: new Date(handoffAt).toISOString(), to: new Date(handoffAt + HOUR).toISOString() }] })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(stack.smtp.messages.slice(sent).filter((m) => recipients(m).includes('carol@example.com'))).toHaveLength(1);

    // Dave has a phone only: his notice is a text through the gateway, one segment, signed, once.
    const daveAt = Date.now() + 3_000;
    const texts = paging.sms.length;
    const override = { user: 'dave', from: new Date(daveAt).toISOString(), to: new Date(daveAt + HOUR).toISOString() };
    expect((await put({ ...weekly, overrides: [override] })).statusCode).toBe(200);
    const text = await eventually(async () => {
      const found = paging.sms.slice(texts).find((m) => m.body.to === '+15550100');
      expect(found).toBeDefined();
      return found!;
    }, 30_000, 200);
    expect(text.body).toMatchObject({ kind: 'sms', message: expect.stringContaining(`On call for ${schedule} from`) });
    expect(String(text.body.message).length).toBeLessThanOrEqual(160);
    expect(text.headers['x-monitoring-signature']).toBeDefined();
    expect((await put({ ...weekly, description: 'edited', overrides: [override] })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(paging.sms.slice(texts).filter((m) => m.body.to === '+15550100')).toHaveLength(1);
  }, 90_000);

  it('gives a stored schedule without a running handoff workflow one at a worker\'s start, and leaves a running one alone', async () => {
    expect((await put(weekly)).statusCode).toBe(200);
    const handle = stack.temporal.workflow.getHandle(oncallHandoffWorkflowId(stack.taskQueue, schedule));
    // As if Temporal had been replaced: the schedule is stored, its workflow gone.
    await handle.terminate('test: a fresh Temporal');
    expect(await ensureHandoffWorkflows(stack.temporal, stack.taskQueue, [schedule])).toEqual([schedule]);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect(await ensureHandoffWorkflows(stack.temporal, stack.taskQueue, [schedule])).toEqual([]);
  });
});
