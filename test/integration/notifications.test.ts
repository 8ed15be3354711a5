import type { AlertView } from '../../core/alert';
import { signLink } from '../../store/ack-links';
import { slackSignature } from '../../api/routes/integrations';
import { sql } from '../../core/escape';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { bearer } from '../helpers/api';
import { FakeSlack, type SlackStoredMessage } from '../../scripts/local-slack';
import { eventually, quietTemporalLogs, recordHistory, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const SIGNING_SECRET = 'test-signing-secret-0123456789';
const LINK_SECRET = 'test-link-secret-0123456789';
const CHANNEL = FakeSlack.channelId('#ml-alerts');

describe('notifications: Slack and e-mail per escalation step, one-click acknowledge, on the real Temporal, ClickHouse, Redis and an SMTP server', () => {
  const service = uniqueName('svc');
  const rule = uniqueName('error_rule').replaceAll('-', '_');
  let stack: AlertingStack;
  // Shorthands for the stack's parts, set once it runs.
  let api: AlertingStack['api'];
  let slack: AlertingStack['slack'];

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'notify',
      service,
      metric: 'error_rate_percent',
      rulesYaml:
        `test_rules:\n  errors:\n    - name: ${rule}\n      expression: 'error_rate_percent{service="${service}"} > 3'\n      duration: 3s\n      severity: critical\n` +
        `      annotations:\n        summary: Error rate exceeded critical threshold\n        description: Error rate has been above 3% for 3 seconds\n` +
        `        suggested_actions: "Check model serving health; Review recent deployments"\n        runbook_url: https://docs.example.com/runbooks/errors\n`,
      // Level 2 follows 4 s after level 1 unless someone acknowledges.
      escalationYaml: twoStepPolicy('test-oncall'),
      env: { SLACK_SIGNING_SECRET: SIGNING_SECRET, ALERT_LINK_SECRET: LINK_SECRET, PUBLIC_BASE_URL: 'http://monitoring.test', TEMPORAL_UI_URL: 'https://temporal.monitoring.test' },
    });
    ({ api, slack } = stack);
  });
  afterAll(() => stack?.close());

  // Each test watches its own instance: its own alert (fingerprint), so one test's resolution is not another's
  // re-fire inside the dedup window.
  let instance = `${service}-0`;
  const handle = () => stack.driver.handleOf(rule, instance);
  const state = () => handle().query<AlertView>('state');
  /** fire breaches a fresh instance past the rule's 3 s and waits for its alert to fire. */
  const fire = async (value: number): Promise<AlertView> => {
    instance = `${service}-${value}`;
    await stack.driver.breach(instance, value);
    return stack.driver.firing(rule, instance);
  };
  const clear = async () => {
    await stack.driver.push(instance, 1);
    await stack.driver.evaluate();
    return handle().result();
  };
  const messagesOf = (alertId: string): SlackStoredMessage[] => stack.messagesOf(alertId);
  const mailsOf = (alertId: string) => stack.mailsOf(alertId);
  const blockText = (m: SlackStoredMessage) => JSON.stringify(m.blocks);

  /** clickSlack sends what Slack sends when someone clicks a button: a signed, form-encoded block_actions payload. */
  const clickSlack = (actionId: string, alertId: string, options: { secret?: string; ageSeconds?: number } = {}) => {
    const payload = {
      type: 'block_actions',
      user: { id: 'U0ALICE', username: 'alice', name: 'alice' },
      container: { type: 'message', channel_id: CHANNEL, message_ts: messagesOf(alertId)[0]?.ts },
      response_url: slack.responseUrl,
      actions: [{ type: 'button', action_id: actionId, block_id: 'alert_actions', value: alertId, action_ts: '1' }],
    };
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageSeconds ?? 0));
    return api.app.inject({
      method: 'POST',
      url: '/api/v1/integrations/slack/actions',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': slackSignature(options.secret ?? SIGNING_SECRET, timestamp, body),
      },
      payload: body,
    });
  };

  it('sends one Slack message and one e-mail for the first step; Acknowledge in Slack stops escalation and edits the message; clearing resolves it', async () => {
    const { alertId } = await fire(5.2);
    await eventually(async () => {
      expect(messagesOf(alertId)).toHaveLength(1);
      expect(mailsOf(alertId)).toHaveLength(1);
    });
    const [message] = messagesOf(alertId);
    expect(message!.channel).toBe(CHANNEL);
    for (const text of ['Error rate exceeded critical threshold', service, 'error_rate_percent', '*Current value*\\n5.2', '*Threshold*\\n3', 'test-oncall', alertId, 'Check model serving health', 'https://docs.example.com/runbooks/errors', encodeURIComponent(handle().workflowId)]) {
      expect(blockText(message!)).toContain(text);
    }
    expect(blockText(message!)).toContain('"action_id":"alert_acknowledge"');
    // The API's /metrics counts the workers' deliveries (kept in Redis for the deployment; counted once sent).
    await eventually(async () => {
      const metrics = (await api.app.inject({ url: '/metrics', headers: bearer('service') })).body;
      for (const channel of ['slack', 'email']) {
        const sent = new RegExp(`^monitoring_notifications_total\\{channel="${channel}",outcome="sent"\\} (\\d+)$`, 'm').exec(metrics);
        expect([channel, Number(sent?.[1] ?? 0) >= 1]).toEqual([channel, true]);
      }
    });
    const [mail] = mailsOf(alertId);
    expect(mail!.subject).toBe(`[CRITICAL] Error rate exceeded critical threshold — ${service}`);
    expect(mail!.to).toMatchObject({ text: 'oncall@example.com' });
    expect(mail!.text).toContain('Current value: 5.2');
    expect(mail!.html).toContain('Acknowledge</a>');
    // Every link is built from the configured public URLs (PUBLIC_BASE_URL, TEMPORAL_UI_URL), none from 127.0.0.1.
    expect(blockText(message!)).toContain(`https://temporal.monitoring.test/namespaces/default/workflows/${encodeURIComponent(handle().workflowId)}`);
    expect(mail!.html).toContain('href="http://monitoring.test/api/v1/alerts/ack?token=');
    expect(`${blockText(message!)}${mail!.html}${mail!.text}`).not.toContain('127.0.0.1');

    const clicked = Date.now();
    const response = await clickSlack('alert_acknowledge', alertId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ok: true, results: [{ alertId, action: 'acknowledge', phase: 'acknowledged' }] });
    const update = await eventually(async () => {
      const [edit] = slack.updatesOf(message!.ts);
      expect(JSON.stringify(edit?.args.blocks)).toContain('*Acknowledged* by slack:alice');
      return edit!;
    }, 10_000, 50);
    const editedWithin = Date.now() - clicked;
    expect(editedWithin).toBeLessThan(2_000);
    expect(JSON.stringify(update.args.blocks)).not.toContain('alert_acknowledge');
    expect(update.args.channel).toBe(CHANNEL);

    // Past level 1's 4 s wait: no level 2, because the alert was acknowledged.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(messagesOf(alertId)).toHaveLength(1);
    expect(mailsOf(alertId)).toHaveLength(1);
    expect(await state()).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'slack:alice', escalation: { policy: 'test-oncall', stepsRun: 1, notified: 2 } });

    expect(await clear()).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
    await recordHistory('alert-escalation-slack-ack', handle());
    expect(JSON.stringify(slack.updatesOf(message!.ts).at(-1)?.args.blocks)).toContain('*Resolved*');
    expect(slack.messages.filter((m) => m.metadata?.event_payload.alert_id === alertId)).toHaveLength(1);
    const history = await api.clickhouse.query({
      ...sql`SELECT status, acknowledged_by FROM alert_history FINAL WHERE alert_id = ${alertId} ORDER BY timestamp, indexOf(['firing', 'acknowledged', 'resolved'], status)`,
      format: 'JSONEachRow',
    });
    expect(await history.json()).toEqual([
      { status: 'firing', acknowledged_by: '' },
      { status: 'acknowledged', acknowledged_by: 'slack:alice' },
      { status: 'resolved', acknowledged_by: 'slack:alice' },
    ]);
    console.log(`[notify] Slack acknowledge → message edited in ${editedWithin} ms`);
  });

  it('still ends an alert whose Slack message was deleted meanwhile (the redraw is skipped, not retried for ever)', async () => {
    const { alertId } = await fire(5.7);
    await eventually(async () => expect(messagesOf(alertId)).toHaveLength(1));
    const [message] = messagesOf(alertId);
    slack.messages.splice(slack.messages.indexOf(message!), 1);
    expect(await clear()).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
    // One attempt to redraw it as resolved, answered message_not_found, and no retry.
    expect(slack.updatesOf(message!.ts)).toHaveLength(1);
  });

  it('refuses forged and stale Slack requests with 401 and changes nothing; tells the clicker when the action no longer applies', async () => {
    const { alertId } = await fire(6);
    await eventually(async () => expect(messagesOf(alertId)).toHaveLength(1));
    const forged = await clickSlack('alert_acknowledge', alertId, { secret: 'not-the-secret' });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ error: 'unauthorized', field: 'X-Slack-Signature' });
    const stale = await clickSlack('alert_acknowledge', alertId, { ageSeconds: 301 });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().message).toContain('5-minute window');
    const unsigned = await api.app.inject({ method: 'POST', url: '/api/v1/integrations/slack/actions', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'payload=%7B%7D' });
    expect(unsigned.statusCode).toBe(401);
    expect((await state()).phase).toBe('firing');

    // Resolve from Slack, then a late Acknowledge click: refused, and the clicker is told so through response_url.
    expect((await clickSlack('alert_resolve', alertId)).json()).toMatchObject({ results: [{ action: 'resolve', phase: 'resolved' }] });
    expect(await handle().result()).toMatchObject({ reason: 'resolved-by-hand' });
    const late = await clickSlack('alert_acknowledge', alertId);
    expect(late.statusCode).toBe(200);
    expect(late.json().results[0].refused).toBeDefined();
    await eventually(async () => expect(slack.responses.at(-1)).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('Could not acknowledge') }));
  });

  it('acknowledges from the e-mail link (shown, then confirmed) and rejects tampered and expired links', async () => {
    const { alertId } = await fire(7);
    const mail = await eventually(async () => {
      const [m] = mailsOf(alertId);
      expect(m).toBeDefined();
      return m!;
    });
    const link = /Acknowledge: (\S+)/.exec(mail.text ?? '')![1]!;
    expect(link.startsWith('http://monitoring.test/api/v1/alerts/ack?token=')).toBe(true);
    const pathAndQuery = link.replace('http://monitoring.test', '');
    // Following the link shows a confirmation (a mail scanner opening it acknowledges nothing).
    const shown = await api.app.inject({ url: pathAndQuery });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('<form method="post" action="/api/v1/alerts/ack">');
    expect((await state()).phase).toBe('firing');
    const token = new URL(link).searchParams.get('token')!;

    const tampered = `${token.slice(0, -2)}${token.endsWith('A') ? 'BB' : 'AA'}`;
    expect((await api.app.inject({ url: `/api/v1/alerts/ack?token=${tampered}` })).statusCode).toBe(401);
    const forgedClaims = signLink('another-secret', { alertId, action: 'acknowledge', recipient: 'mallory@example.com', expiresAtMs: Date.now() + 60_000 });
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/alerts/ack', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${forgedClaims}` })).statusCode).toBe(401);
    const expired = signLink(LINK_SECRET, { alertId, action: 'acknowledge', recipient: 'oncall@example.com', expiresAtMs: Date.now() - 1 });
    const expiredAnswer = await api.app.inject({ url: `/api/v1/alerts/ack?token=${expired}` });
    expect(expiredAnswer.statusCode).toBe(410);
    expect(expiredAnswer.body).toContain('expired');
    expect((await state()).phase).toBe('firing');

    const confirmed = await api.app.inject({ method: 'POST', url: '/api/v1/alerts/ack', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(token)}` });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('Acknowledged by email:oncall@example.com');
    expect(await state()).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'email:oncall@example.com' });
    // The same link again: nothing left to do, said plainly.
    const again = await api.app.inject({ method: 'POST', url: '/api/v1/alerts/ack', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(token)}` });
    expect(again.statusCode).toBe(409);
    const [message] = messagesOf(alertId);
    await eventually(async () => expect(JSON.stringify(slack.updatesOf(message!.ts).at(-1)?.args.blocks)).toContain('*Acknowledged* by email:oncall@example.com'));
    await clear();
  });

  it('escalates to level 2 when nobody acknowledges, delivering each (step, channel) exactly once even when Slack’s answer is lost', async () => {
    slack.loseNextAnswer('chat.postMessage');
    const { alertId } = await fire(8);
    await eventually(async () => {
      expect(messagesOf(alertId)).toHaveLength(2);
      expect(mailsOf(alertId)).toHaveLength(2);
    }, 30_000);
    expect(mailsOf(alertId).map((m) => (m.to as { text: string }).text).sort()).toEqual(['lead@example.com', 'oncall@example.com']);
    // The lost answer was retried: the retry found the message by its metadata instead of posting it again.
    const keys = messagesOf(alertId).map((m) => m.metadata?.event_payload.notification_key);
    expect(new Set(keys).size).toBe(2);
    expect(slack.calls.filter((c) => c.method === 'conversations.history').length).toBeGreaterThanOrEqual(1);
    // The workflow records a step once its deliveries return (a moment after the messages arrive).
    await eventually(async () => expect(await state()).toMatchObject({ phase: 'firing', escalation: { stepsRun: 2, notified: 4, failed: 0 } }));
    await clear();
  });
});
