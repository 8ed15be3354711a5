import type { AlertView } from '../../core/alert';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { bearer } from '../helpers/api';
import { FakeSlack } from '../../scripts/local-slack';
import { eventually, quietTemporalLogs, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const SILENCES = '/api/v1/admin/monitoring/silences';

describe('silences and inhibition mute notifications, on the real Temporal and Redis', () => {
  const service = uniqueName('svc');
  const critical = uniqueName('cpu_critical').replaceAll('-', '_');
  const warning = uniqueName('cpu_warning').replaceAll('-', '_');
  const rule = (name: string, op: string, severity: string) =>
    `    - name: ${name}\n      expression: 'cpu_usage_percent{service="${service}"} ${op}'\n      duration: 3s\n      severity: ${severity}\n      labels: {category: resource}\n`;
  let stack: AlertingStack;
  // Shorthands for the stack's parts, set once it runs.
  let api: AlertingStack['api'];
  let temporal: AlertingStack['temporal'];
  let driver: AlertingStack['driver'];
  let slack: AlertingStack['slack'];

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'silence',
      service,
      metric: 'cpu_usage_percent',
      rulesYaml: `test_rules:\n  cpu:\n${rule(critical, '> 90', 'critical')}${rule(warning, '> 80', 'warning')}`,
      escalationYaml: 'default_policy: p\npolicies:\n  - name: p\n    steps:\n      - wait: 1h\n        targets: [{slack: "#ml-alerts"}]\n',
    });
    ({ api, temporal, driver, slack } = stack);
  });
  afterAll(() => stack?.close());

  const messagesOf = (alertId: string) => stack.messagesOf(alertId);
  const silence = (payload: object, role: 'admin' | 'viewer' | 'service' = 'admin') => api.app.inject({ method: 'POST', url: SILENCES, headers: bearer(role), payload });

  it('validates silences, naming the field, and lets only admins manage them', async () => {
    expect((await silence({ matchers: [{ name: 'service', value: service }], duration: '1h', comment: 'x' }, 'viewer')).statusCode).toBe(403);
    const badRegex = await silence({ matchers: [{ name: 'service', value: '(', isRegex: true }], duration: '1h', comment: 'x' });
    expect(badRegex.statusCode).toBe(400);
    expect(badRegex.json()).toMatchObject({ field: 'body.matchers[0].value', message: expect.stringContaining('invalid regular expression') });
    const noEnd = await silence({ matchers: [{ name: 'service', value: service }], comment: 'x' });
    expect(noEnd.json()).toMatchObject({ field: 'body.endsAt' });
    const past = await silence({ matchers: [{ name: 'service', value: service }], endsAt: '2020-01-01T00:00:00Z', comment: 'x' });
    expect(past.statusCode).toBe(400);
    const badTarget = await silence({ matchers: [{ name: 'service', value: service }], duration: '1h', comment: 'x', remind: [{ pager: 'x' }] });
    expect(badTarget.json()).toMatchObject({ field: 'body.remind[0].pager' });
  });

  it('holds a silenced alert’s page until the silence ends, reminds before the end, and expires by itself', async () => {
    const instance = `${service}-silenced`;
    const created = await silence({ matchers: [{ name: 'instance', value: instance }], duration: '10s', comment: 'maintenance of the node', remind: [{ slack: '#ml-alerts' }] });
    expect(created.statusCode).toBe(201);
    const { id, workflow_id } = created.json();
    expect((await api.app.inject({ url: SILENCES, headers: bearer('admin') })).json().silences).toContainEqual(expect.objectContaining({ id, status: 'active', createdBy: 'admin' }));

    await driver.breach(instance, 95);
    const view = await driver.firing(critical, instance, { category: 'resource' });
    await eventually(async () => expect((await driver.handleOf(critical, instance, { category: 'resource' }).query<AlertView>('state')).escalation?.mutedBy).toContain(id));
    expect(messagesOf(view.alertId)).toHaveLength(0);
    // The reminder (2.5 s before the end), then the expiry, then the held page.
    await eventually(async () => expect(slack.messages.some((m) => m.text.includes(`Silence ${id}`) && m.text.includes('expires at'))).toBe(true), 15_000);
    expect(await temporal.workflow.getHandle(workflow_id).result()).toEqual({ ended: 'expired', reminded: true });
    await eventually(async () => expect(messagesOf(view.alertId)).toHaveLength(1), 20_000);
    // An ended silence stays listed, as expired (as Alertmanager keeps them for 5 days).
    expect((await api.app.inject({ url: SILENCES, headers: bearer('admin') })).json().silences.find((s: { id: string }) => s.id === id)?.status).toBe('expired');
    await driver.push(instance, 10);
    await driver.evaluate();
  });

  it('announces a silence in the channel of the alerts it mutes and when it ends; an alert resolved under it shows resolved where it paged, one that fired under it sends nothing', async () => {
    const [paged, quiet, still] = ['paged', 'quiet', 'still'].map((s) => `${service}-ann-${s}`) as [string, string, string];
    const alertsChannel = FakeSlack.channelId('#ml-alerts');
    // Two alerts page first.
    await Promise.all([driver.breach(paged, 95), driver.breach(still, 95)]);
    const [pagedView, stillView] = await Promise.all([driver.firing(critical, paged, { category: 'resource' }), driver.firing(critical, still, { category: 'resource' })]);
    await eventually(async () => expect([messagesOf(pagedView.alertId), messagesOf(stillView.alertId)].map((m) => m.length)).toEqual([1, 1]), 20_000);
    const page = messagesOf(pagedView.alertId)[0]!;

    // The silence is announced where they paged, naming both.
    const created = await silence({ matchers: [{ name: 'instance', value: `${service}-ann-.*`, isRegex: true }], duration: '1h', comment: 'failover drill' });
    const { id } = created.json();
    const announcement = await eventually(async () => {
      const found = slack.messages.find((m) => m.text.includes(`Silence ${id}`) && m.text.includes('mutes'));
      expect(found).toBeDefined();
      return found!;
    }, 15_000);
    expect(announcement.channel).toBe(alertsChannel);
    // (Their warnings, inhibited by the criticals, never posted here: not listed.)
    expect(announcement.text).toContain('mutes 2 firing alert(s) here');
    expect(announcement.text).not.toContain(warning);
    expect(announcement.text).toContain('failover drill');
    expect(announcement.text).toContain(`${service}/${paged}`);

    // Resolved under the silence: its page is redrawn as resolved, where it was sent; no new message.
    await driver.push(paged, 10);
    await driver.evaluate();
    await driver.handleOf(critical, paged, { category: 'resource' }).result();
    await eventually(async () => expect(slack.updatesOf(page.ts).some((u) => JSON.stringify(u.args).includes('Resolved'))).toBe(true), 15_000);
    expect(messagesOf(pagedView.alertId)).toHaveLength(1);

    // Fired under the silence and resolved under it: nothing sent, and its timeline says why.
    await driver.breach(quiet, 95);
    const quietView = await driver.firing(critical, quiet, { category: 'resource' });
    await eventually(async () => expect((await driver.handleOf(critical, quiet, { category: 'resource' }).query<AlertView>('state')).escalation?.mutedBy).toContain(id));
    await driver.push(quiet, 10);
    await driver.evaluate();
    await driver.handleOf(critical, quiet, { category: 'resource' }).result();
    expect(messagesOf(quietView.alertId)).toHaveLength(0);
    const why = (await api.app.inject({ url: `/api/v1/alerts/${quietView.alertId}/timeline`, headers: bearer('admin') })).json().why;
    expect(why).toMatch(new RegExp(`nobody was notified.*${id}`));

    // Expired by hand: the channel hears that the alert still firing notifies again.
    await driver.expireSilence(id);
    const ended = await eventually(async () => {
      const found = slack.messages.find((m) => m.text.includes(`Silence ${id}`) && m.text.includes('expired by admin'));
      expect(found).toBeDefined();
      return found!;
    }, 15_000);
    expect(ended.text).toContain('1 alert(s) still firing here notify again now');
    expect(ended.text).toContain(`${service}/${still}`);
    expect(slack.messages.filter((m) => m.text.includes(`Silence ${id}`))).toHaveLength(2);
    await driver.push(still, 10);
    await driver.evaluate();
  }, 90_000);

  it('edits a silence as Alertmanager does (a new one replaces it), announcing the edit where its alerts paged', async () => {
    const instance = `${service}-edit`;
    await driver.breach(instance, 95);
    const firing = await driver.firing(critical, instance, { category: 'resource' });
    await eventually(async () => expect(messagesOf(firing.alertId)).toHaveLength(1), 20_000);
    const first = (await silence({ matchers: [{ name: 'instance', value: instance }], duration: '10m', comment: 'db failover' })).json();
    const edited = await api.app.inject({ method: 'PUT', url: `${SILENCES}/${first.id}`, headers: bearer('admin'), payload: { matchers: [{ name: 'instance', value: instance }], duration: '2h', comment: 'db failover, longer' } });
    expect(edited.statusCode).toBe(200);
    const second = edited.json();
    expect(second).toMatchObject({ replaces: first.id, comment: 'db failover, longer', status: 'active' });
    // The old one ends as an edit (its alert stays muted, now by the new one), the new one is announced.
    await eventually(async () => {
      expect(slack.messages.some((m) => m.text.includes(`Silence ${first.id} was edited by admin into ${second.id}`) && m.text.includes('stay muted'))).toBe(true);
      expect(slack.messages.some((m) => m.text.includes(`Silence ${second.id} by admin mutes 1 firing alert(s)`))).toBe(true);
    }, 15_000);
    const listed = (await api.app.inject({ url: SILENCES, headers: bearer('admin') })).json().silences;
    expect(listed.find((x: { id: string }) => x.id === first.id)?.status).toBe('expired');
    expect(listed.find((x: { id: string }) => x.id === second.id)).toMatchObject({ status: 'active', endsAt: expect.any(String) });
    // Editing an ended silence is refused.
    expect((await api.app.inject({ method: 'PUT', url: `${SILENCES}/${first.id}`, headers: bearer('admin'), payload: { matchers: [{ name: 'instance', value: instance }], duration: '1h', comment: 'x' } })).statusCode).toBe(404);
    await driver.expireSilence(second.id);
    await driver.push(instance, 10);
    await driver.evaluate();
  }, 60_000);

  it('expires a silence by hand (DELETE) at once', async () => {
    const created = (await silence({ matchers: [{ name: 'service', value: service }], duration: '1h', comment: 'x' })).json();
    expect((await api.app.inject({ method: 'DELETE', url: `${SILENCES}/${created.id}`, headers: bearer('admin') })).statusCode).toBe(204);
    expect(await temporal.workflow.getHandle(created.workflow_id).result()).toEqual({ ended: 'expired-by-hand', reminded: false });
    expect((await api.app.inject({ method: 'DELETE', url: `${SILENCES}/${created.id}`, headers: bearer('admin') })).statusCode).toBe(404);
  });

  it('inhibits the warning of an instance while its critical fires (config/inhibit.yaml)', async () => {
    const instance = `${service}-hot`;
    await driver.breach(instance, 95);
    const criticalView = await driver.firing(critical, instance, { category: 'resource' });
    const warningView = await driver.firing(warning, instance, { category: 'resource' });
    await eventually(async () => expect(messagesOf(criticalView.alertId)).toHaveLength(1));
    const mutedBy = await eventually(async () => {
      const state = await driver.handleOf(warning, instance, { category: 'resource' }).query<AlertView>('state');
      expect(state.escalation?.mutedBy).toBeDefined();
      return state.escalation!.mutedBy!;
    });
    expect(mutedBy).toContain(`inhibited by a firing ${critical}`);
    expect(messagesOf(warningView.alertId)).toHaveLength(0);
    await driver.push(instance, 10);
    await driver.evaluate();
  });

  it('lists and edits escalation policies through the admin API (versioned); the next alert uses the edit', async () => {
    const url = '/api/v1/admin/monitoring/escalation-policies';
    const put = (body: object, headers: Record<string, string> = {}, role: 'admin' | 'viewer' = 'admin') =>
      api.app.inject({ method: 'PUT', url: `${url}/p`, headers: { ...bearer(role), ...headers }, payload: body });
    expect((await api.app.inject({ url, headers: bearer('admin') })).json().policies).toEqual([expect.objectContaining({ name: 'p', source: 'file', version: 0, default: true })]);
    expect((await put({ steps: [{ wait: '1h', targets: [{ slack: '#trading-desk' }] }] }, {}, 'viewer')).statusCode).toBe(403);
    const invalid = await put({ steps: [{ wait: 'later', targets: [{ slack: '#trading-desk' }] }] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().field).toBe('body.steps[0].wait');
    const edited = await put({ description: 'desk first', steps: [{ wait: '1h', targets: [{ slack: '#trading-desk' }] }] }, { 'if-match': '0' });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ name: 'p', source: 'api', version: 1, updatedBy: 'admin', steps: [{ waitMs: 3_600_000, targets: [{ channel: 'slack', to: '#trading-desk' }] }] });
    expect((await put({ steps: [{ wait: '1h', targets: [{ slack: '#ml-alerts' }] }] }, { 'if-match': '0' })).statusCode).toBe(409);

    const instance = `${service}-desk`;
    await driver.breach(instance, 85);
    const view = await driver.firing(warning, instance, { category: 'resource' });
    await eventually(async () => expect(messagesOf(view.alertId).map((m) => m.channel)).toEqual([FakeSlack.channelId('#trading-desk')]));
    expect((await driver.handleOf(warning, instance, { category: 'resource' }).query<AlertView>('state')).escalation?.policy).toBe('p');

    expect((await api.app.inject({ method: 'DELETE', url: `${url}/p`, headers: bearer('admin') })).statusCode).toBe(204);
    expect((await api.app.inject({ method: 'DELETE', url: `${url}/p`, headers: bearer('admin') })).statusCode).toBe(404);
    expect((await api.app.inject({ url, headers: bearer('admin') })).json().policies[0]).toMatchObject({ source: 'file', version: 0 });
    await driver.push(instance, 10);
    await driver.evaluate();
  });

  it('creates, versions and deletes alert rules through the admin API; the next evaluation applies them', async () => {
    const url = '/api/v1/admin/monitoring/alerts/rules';
    const name = uniqueName('api_rule').replaceAll('-', '_');
    const put = (body: object, headers: Record<string, string> = {}) => api.app.inject({ method: 'PUT', url: `${url}/${name}`, headers: { ...bearer('admin'), ...headers }, payload: body });
    const bad = await put({ group: 'api', expression: `cpu_usage_percent{service="${service}"} >> 70`, duration: '3s', severity: 'critical' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'body.expression', message: expect.stringContaining('column') });
    expect((await put({ group: 'api', expression: 'cpu_usage_percent > 70', severity: ' ' })).json()).toMatchObject({ field: 'body.severity' });
    const created = await put({ group: 'api', expression: `cpu_usage_percent{service="${service}", instance="${service}-api"} > 70`, duration: '3s', severity: 'critical' });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ name, group: 'api', source: 'api', version: 1, durationMs: 3000, condition: { op: '>', threshold: 70 } });
    expect((await put({ group: 'api', expression: 'cpu_usage_percent > 71' }, { 'if-match': '0' })).statusCode).toBe(409);
    const listed = (await api.app.inject({ url, headers: bearer('admin') })).json().groups;
    expect(listed.find((g: { name: string }) => g.name === 'api').rules).toEqual([expect.objectContaining({ name, source: 'api', version: 1 })]);
    expect((await api.app.inject({ url, headers: bearer('viewer') })).statusCode).toBe(403);

    // The next evaluation runs the new rule: a breach of its series fires it.
    const instance = `${service}-api`;
    await driver.breach(instance, 75);
    await driver.firing(name, instance);
    expect((await api.app.inject({ method: 'DELETE', url: `${url}/${name}`, headers: bearer('admin') })).statusCode).toBe(204);
    expect((await api.app.inject({ method: 'DELETE', url: `${url}/${name}`, headers: bearer('admin') })).statusCode).toBe(404);
    // Without a group, a rule joins the group `api`.
    const grouped = await put({ expression: `cpu_usage_percent{service="${service}", instance="${service}-none"} > 99`, severity: 'warning' });
    expect(grouped.statusCode).toBe(200);
    expect(grouped.json()).toMatchObject({ name, group: 'api', version: 1 });
    expect((await api.app.inject({ method: 'DELETE', url: `${url}/${name}`, headers: bearer('admin') })).statusCode).toBe(204);
    await driver.push(instance, 10);
    await driver.evaluate();
  });
});
