import { bearer } from '../helpers/api';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

interface Timeline {
  alert_id: string;
  runs: string[];
  service: string;
  entries: Array<{ at: string; kind: string; text: string; details?: Record<string, unknown> }>;
  notifications: Array<{ channel: string; to: string; status: string; level: number; error?: string }>;
  why: string;
}

/**
 * An alert's timeline and "why was I (not) paged?" (issue 20, parts 3 and 4), from real alert workflows' histories:
 * a paged alert (two channels delivered, one failing for good), a re-fire within the dedup window (flap damping),
 * and an alert under a silence — each answer naming its cause.
 */
describe('alert timeline', () => {
  const service = uniqueName('tl');
  const rule = uniqueName('tl_queue').replaceAll('-', '_');
  let stack: AlertingStack;
  /** The first (paged) occurrence of t-0. */
  let pagedId = '';

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'tl',
      service,
      metric: 'tl_queue_depth',
      rulesYaml: `tl_rules:\n  tl:\n    - name: ${rule}\n      expression: 'tl_queue_depth{service="${service}"} > 100'\n      severity: critical\n`,
      // A webhook without ALERT_WEBHOOK_SECRET fails for good: the failed delivery the timeline must name.
      escalationYaml:
        'default_policy: tl\npolicies:\n  - name: tl\n    steps:\n      - wait: 1h\n' +
        '        targets: [{slack: "#ml-alerts"}, {email: oncall@example.com}, {webhook: "http://127.0.0.1:9/hook"}]\n',
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const timelineOf = async (alertId: string, role: 'admin' | 'viewer' = 'admin') => stack.api.app.inject({ url: `/api/v1/alerts/${alertId}/timeline`, headers: bearer(role) });
  const firingId = (instance: string) =>
    eventually(async () => {
      const found = (await stack.driver.active()).find((a) => a.instance === instance && a.status === 'firing');
      expect(found).toBeDefined();
      return found!.alert_id;
    }, 60_000, 300);
  /** breachAndEnd fires `instance`, waits for `whileFiring`, clears it and waits for its workflow to end. */
  const breachAndEnd = async (instance: string, whileFiring: (alertId: string) => Promise<void>) => {
    await stack.driver.push(instance, 500);
    await stack.driver.evaluate();
    const alertId = await firingId(instance);
    await whileFiring(alertId);
    await stack.driver.push(instance, 1);
    await stack.driver.evaluate();
    const outcome = (await stack.driver.handleOf(rule, instance).result()) as { alertId: string };
    expect(outcome.alertId).toBe(alertId);
    return alertId;
  };

  it('tells a paged alert step by step: breach, firing, the decision, each delivery (one failing and why), the acknowledgement, the resolution', async () => {
    const alertId = await breachAndEnd('t-0', async (id) => {
      // Its three deliveries are done (two sent, the webhook failed for good).
      await eventually(async () => expect(stack.messagesOf(id)).toHaveLength(1), 30_000, 200);
      await eventually(async () => expect(stack.mailsOf(id)).toHaveLength(1), 30_000, 200);
      await eventually(async () => expect((await timelineOf(id)).json().notifications.filter((n: { status: string }) => n.status !== 'in flight')).toHaveLength(3), 30_000, 300);
      expect((await stack.api.app.inject({ method: 'POST', url: `/api/v1/alerts/${id}/ack`, headers: bearer('admin'), payload: { note: 'on it' } })).statusCode).toBe(200);
    });
    pagedId = alertId;
    const response = await timelineOf(alertId);
    expect(response.statusCode).toBe(200);
    const timeline = response.json<Timeline>();
    expect(timeline).toMatchObject({ alert_id: alertId, service, runs: [expect.any(String)] });
    const kinds = timeline.entries.map((e) => e.kind);
    const at = (kind: string) => kinds.indexOf(kind);
    for (const kind of ['breach', 'firing', 'decision', 'notification', 'acknowledged', 'redrawn', 'cleared', 'resolved', 'ended']) expect([kind, at(kind)]).not.toEqual([kind, -1]);
    expect(at('breach')).toBeLessThan(at('firing'));
    expect(at('firing')).toBeLessThan(at('notification'));
    expect(at('notification')).toBeLessThan(at('acknowledged'));
    expect(at('acknowledged')).toBeLessThan(at('cleared'));
    expect(at('cleared')).toBeLessThanOrEqual(at('resolved'));
    expect(timeline.entries.find((e) => e.kind === 'decision')!.text).toContain('notifies (policy tl): first firing in the last hour');
    expect(timeline.entries.find((e) => e.kind === 'acknowledged')!.text).toBe('acknowledged by admin: on it');
    expect(timeline.entries.find((e) => e.kind === 'breach')!.details).toEqual({ value: 500 });
    const byChannel = Object.fromEntries(timeline.notifications.map((n) => [n.channel, n]));
    expect(byChannel.slack).toMatchObject({ to: '#ml-alerts', status: 'delivered', level: 1 });
    expect(byChannel.email).toMatchObject({ to: 'oncall@example.com', status: 'delivered', level: 1 });
    expect(byChannel.webhook).toMatchObject({ to: 'http://127.0.0.1:9/hook', status: 'failed' });
    expect(byChannel.webhook!.error).toContain('ALERT_WEBHOOK_SECRET');
    expect(timeline.why).toContain('notified slack #ml-alerts, email oncall@example.com (policy tl: first firing in the last hour)');
    expect(timeline.why).toContain('delivery failed to webhook http://127.0.0.1:9/hook');
  }, 120_000);

  it('says a re-fire within the dedup window notified nobody, and why (flap damping)', async () => {
    // t-0 resolved just now: breaching again within the five-minute window is the same incident.
    const alertId = await breachAndEnd('t-0', async () => new Promise((resolve) => setTimeout(resolve, 1_000)));
    const timeline = (await timelineOf(alertId)).json<Timeline>();
    expect(timeline.notifications).toEqual([]);
    expect(timeline.entries.find((e) => e.kind === 'decision')!.text).toMatch(/^does not notify \(policy tl\): breached again \d+s after the last resolution, within the 300s dedup window$/);
    expect(timeline.why).toMatch(/^nobody was notified: breached again \d+s after the last resolution, within the 300s dedup window\.$/);
    // The earlier occurrence is no longer its workflow's latest run: found among the runs Temporal lists.
    const earlier = await eventually(async () => {
      const r = await timelineOf(pagedId);
      expect(r.statusCode).toBe(200);
      return r.json<Timeline>();
    }, 15_000, 500);
    expect(earlier.alert_id).toBe(pagedId);
    expect(earlier.why).toContain('notified slack #ml-alerts, email oncall@example.com');
  }, 120_000);

  it('names the silence that held an alert back', async () => {
    const silenceId = await stack.driver.silence([`service="${service}"`, 'instance="t-1"'], 'deploying t-1');
    const alertId = await breachAndEnd('t-1', async (id) => {
      await eventually(async () => expect((await timelineOf(id)).json().entries.map((e: { kind: string }) => e.kind)).toContain('suppressed'), 30_000, 300);
    });
    const timeline = (await timelineOf(alertId)).json<Timeline>();
    expect(timeline.notifications).toEqual([]);
    expect(timeline.entries.find((e) => e.kind === 'suppressed')!.text).toContain(`notifications held back: silenced by ${silenceId} (`);
    expect(timeline.why).toContain(`nobody was notified: held back while silenced by ${silenceId}`);
    await stack.driver.expireSilence(silenceId);
  }, 120_000);

  it('answers 404 for an unknown alert, 400 for a malformed id, 403 outside a viewer key’s services', async () => {
    expect((await timelineOf('alert_0123456789abcdef_1700000000')).statusCode).toBe(404);
    const malformed = await timelineOf('alert_xyz');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.body).toContain('alert_id');
    const anyAlert = (await stack.api.app.inject({ url: `/api/v1/admin/monitoring/alerts/history?service=${service}`, headers: bearer('admin') })).json().alerts[0].alert_id as string;
    expect((await timelineOf(anyAlert, 'viewer')).statusCode).toBe(403);
    expect((await stack.api.app.inject({ url: `/api/v1/alerts/${anyAlert}/timeline` })).statusCode).toBe(401);
  });
});
