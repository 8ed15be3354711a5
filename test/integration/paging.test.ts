import type { AddressInfo } from 'node:net';
import { webhookSignature } from '../../activities/receivers/webhook';
import { pagerDutySignature } from '../../api/routes/pagerduty';
import { fingerprint } from '../../core/fingerprint';
import { bearer } from '../helpers/api';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { FakePaging } from '../helpers/fake-paging';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * Paging receivers (issue 20, part 2) against local servers speaking PagerDuty's Events API v2 and V3 webhooks,
 * Opsgenie's Alert API and a generic SMS/voice gateway: one page per (alert, step, destination) through a service hiccup,
 * an acknowledgement made in PagerDuty acknowledging the alert here (signed webhook), and the alert's ack and
 * resolution followed by both services' incidents.
 */
describe('paging receivers', () => {
  const service = uniqueName('pg');
  const rule = uniqueName('pg_errors').replaceAll('-', '_');
  const routingKey = 'R0UT1NGKEY0123456789ABCDEFGHIJKL';
  const opsgenieKey = 'eb243592-faa2-4ba2-a551q-1afdf565c889';
  const webhookSecret = 'pd-webhook-secret';
  const smsSecret = 'sms-signing-secret';
  const paging = new FakePaging(opsgenieKey);
  let stack: AlertingStack;
  let base = '';

  beforeAll(async () => {
    await paging.start();
    stack = await startAlertingStack({
      name: 'pg',
      service,
      metric: 'pg_error_rate',
      rulesYaml: `pg_rules:\n  pg:\n    - name: ${rule}\n      expression: 'pg_error_rate{service="${service}"} > 5'\n      severity: critical\n`,
      escalationYaml: `default_policy: pg\npolicies:\n  - name: pg\n    steps:\n      - wait: 1h\n        targets: [{pagerduty: trading}, {opsgenie: sre}, {sms: "+15551230001"}, {voice: "+15551230002"}]\n`,
      env: {
        PAGERDUTY_EVENTS_URL: `${paging.url}/v2/enqueue`,
        PAGERDUTY_ROUTING_KEYS: `trading=${routingKey}`,
        PAGERDUTY_WEBHOOK_SECRET: webhookSecret,
        OPSGENIE_API_URL: paging.url,
        OPSGENIE_API_KEY: opsgenieKey,
        SMS_WEBHOOK_URL: `${paging.url}/sms`,
        ALERT_WEBHOOK_SECRET: smsSecret,
      },
    });
    await stack.api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(stack.api.app.server.address() as AddressInfo).port}`;
    paging.webhook = { url: `${base}/api/v1/integrations/pagerduty/webhook`, secret: webhookSecret };
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    await paging.stop();
  });

  it('pages PagerDuty, Opsgenie and SMS once each through a hiccup; an ack in PagerDuty acknowledges here; the resolution closes both incidents', async () => {
    const fp = fingerprint(rule, { service, instance: 'pg-0' });
    // The services answer 503 to the first two requests: the receivers retry, and still page once.
    paging.failNext = 2;
    await stack.driver.push('pg-0', 40);
    await stack.driver.evaluate();
    await eventually(async () => {
      expect(paging.incidents.get(fp)?.events).toHaveLength(1);
      expect(paging.opsgenie.filter((r) => r.path === '/v2/alerts')).toHaveLength(1);
      expect(paging.sms).toHaveLength(2);
    }, 30_000, 200);
    const alertId = (await stack.driver.active()).find((a) => a.instance === 'pg-0')!.alert_id;

    const trigger = paging.incidents.get(fp)!.events[0]!;
    expect(trigger).toMatchObject({ routing_key: routingKey, event_action: 'trigger', dedup_key: fp, payload: { severity: 'critical', source: `${service}/pg-0`, component: service, class: 'pg_error_rate', custom_details: { alert_id: alertId, current_value: 40, threshold: 5 } } });
    expect(String((trigger.payload as { summary: string }).summary)).toMatch(/^\[CRITICAL\] /);
    expect(paging.opsgenie[0]).toMatchObject({ body: { alias: fp, priority: 'P1', responders: [{ name: 'sre', type: 'team' }], entity: service, details: { alert_id: alertId } } });
    // The SMS: one segment, signed like the webhook, with the delivery's idempotency key.
    const sms = paging.sms.find((m) => m.body.kind === 'sms')!;
    expect(paging.sms.find((m) => m.body.kind === 'voice')).toMatchObject({ body: { to: '+15551230002', alert_id: alertId } });
    expect(sms.body).toMatchObject({ to: '+15551230001', kind: 'sms', alert_id: alertId, severity: 'critical' });
    expect(String(sms.body.message).length).toBeLessThanOrEqual(160);
    expect(String(sms.body.message)).toContain(`${service}: pg_error_rate 40`);
    const [, t] = /^t=(\d+),/.exec(String(sms.headers['x-monitoring-signature']))!;
    expect(sms.headers['x-monitoring-signature']).toBe(webhookSignature(smsSecret, JSON.stringify(sms.body), Number(t)));
    expect(sms.headers['idempotency-key']).toBe(`${alertId}:0:sms:+15551230001`);

    // Someone acknowledges the incident in PagerDuty: its signed webhook acknowledges the alert here, by name.
    const answer = await paging.acknowledge(fp, 'Jane Doe');
    expect(answer).toEqual({ status: 200, body: { outcome: 'acknowledged', alert_id: alertId } });
    await eventually(async () => expect((await stack.driver.active()).find((a) => a.alert_id === alertId)).toMatchObject({ status: 'acknowledged', acknowledged_by: 'Jane Doe (PagerDuty)' }), 10_000, 200);
    // Opsgenie follows; PagerDuty hears the acknowledge it already has.
    await eventually(async () => {
      expect(paging.opsgenie.find((r) => r.path.endsWith('/acknowledge'))).toMatchObject({ path: `/v2/alerts/${fp}/acknowledge`, query: { identifierType: 'alias' }, body: { user: 'Jane Doe (PagerDuty)' } });
      expect(paging.incidents.get(fp)!.events.map((e) => e.event_action)).toEqual(['trigger', 'acknowledge']);
    }, 10_000, 200);
    // The same webhook again (PagerDuty delivers at least once) changes nothing.
    expect((await paging.acknowledge(fp, 'Jane Doe')).body).toEqual({ outcome: 'already', alert_id: alertId });

    // Resolved here: both incidents close.
    const resolved = await stack.api.app.inject({ method: 'POST', url: `/api/v1/alerts/${alertId}/resolve`, headers: bearer('admin'), payload: { note: 'rolled back' } });
    expect(resolved.statusCode).toBe(200);
    await eventually(async () => {
      expect(paging.incidents.get(fp)!.status).toBe('resolved');
      expect(paging.opsgenie.filter((r) => r.path.endsWith('/close'))).toHaveLength(1);
    }, 15_000, 200);
    // One page per destination in all.
    expect(paging.incidents.get(fp)!.events.filter((e) => e.event_action === 'trigger')).toHaveLength(1);
    expect(paging.sms).toHaveLength(2);
  }, 90_000);

  it('refuses a webhook whose signature does not match, and ignores events that ask nothing', async () => {
    const post = (body: string, signature: string) => fetch(`${base}/api/v1/integrations/pagerduty/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-pagerduty-signature': signature }, body });
    const ping = JSON.stringify({ event: { id: '01ABC', event_type: 'pagey.ping', resource_type: 'pagey', occurred_at: new Date().toISOString(), agent: null, client: null, data: { message: 'Hello from your friend Pagey!', type: 'ping' } } });
    expect((await post(ping, pagerDutySignature('another-secret', ping))).status).toBe(401);
    // Rotating secrets: several signatures, one of them ours.
    const ok = await post(ping, `${pagerDutySignature('old-secret', ping)},${pagerDutySignature(webhookSecret, ping)}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ outcome: 'ignored' });
  });

  it('names the field of a paging target that cannot work', async () => {
    const put = (targets: unknown[]) => stack.api.app.inject({ method: 'PUT', url: '/api/v1/admin/monitoring/escalation-policies/pg-bad', headers: bearer('admin'), payload: { steps: [{ wait: '5m', targets }] } });
    expect((await put([{ sms: '555-1234' }])).json()).toMatchObject({ error: 'validation_failed', field: 'body.steps[0].targets[0].sms' });
    expect((await put([{ pagerduty: 'Trading Desk' }])).json()).toMatchObject({ field: 'body.steps[0].targets[0].pagerduty' });
  });
});
