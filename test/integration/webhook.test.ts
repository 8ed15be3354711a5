import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import { createNotifyActivities, type GroupNotificationRequest, type NotificationRequest } from '../../activities/notify';
import type { AlertInput } from '../../core/alert';
import { parseRule } from '../../core/rules';
import type { WebhookPayload } from '../../core/webhook';
import { connectRedis, createClickHouse } from '../../store/clients';
import { startAlertingStack, type AlertingStack } from '../helpers/alerting';
import { eventually, quietTemporalLogs, testConfig, uniqueName } from '../helpers/stack';

quietTemporalLogs();

const SECRET = 'test-webhook-secret-0123456789';

/** A request the local endpoint received: its headers, its body parsed, and the status it answered. */
interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: WebhookPayload;
  answered: number;
}

/**
 * WebhookEndpoint is a local HTTP server standing for a team's Alertmanager-compatible endpoint: it records every
 * request and answers each path with the statuses queued for it (then 200).
 */
class WebhookEndpoint {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, number[]>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const status = this.answers.get(req.url ?? '')?.shift() ?? 200;
        this.received.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as WebhookPayload, answered: status });
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** answer queues statuses for the next requests to `path`. */
  answer(path: string, ...statuses: number[]): void {
    this.answers.set(path, [...(this.answers.get(path) ?? []), ...statuses]);
  }

  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** verified says whether a request carries a valid signature of its body under SECRET. */
function verified(r: Received): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-monitoring-signature']));
  if (!match) return false;
  return createHmac('sha256', SECRET).update(`${match[1]}.${r.raw}`).digest('hex') === match[2];
}

describe('the generic webhook receiver: Alertmanager’s payload, signed, retried, once per (alert, step, URL)', () => {
  const endpoint = new WebhookEndpoint();
  beforeAll(() => endpoint.start());
  afterAll(() => endpoint.stop());

  describe('through the real alert workflow (Temporal, ClickHouse, Redis)', () => {
    const service = uniqueName('hooked');
    const rule = uniqueName('hook_rule').replaceAll('-', '_');
    let stack: AlertingStack;

    beforeAll(async () => {
      stack = await startAlertingStack({
        name: 'webhook',
        service,
        metric: 'error_rate_percent',
        rulesYaml:
          `test_rules:\n  errors:\n    - name: ${rule}\n      expression: 'error_rate_percent{service="${service}"} > 3'\n      duration: 0s\n      severity: critical\n` +
          '      annotations:\n        summary: Error rate exceeded critical threshold\n',
        escalationYaml: `default_policy: hooks\npolicies:\n  - name: hooks\n    steps:\n      - wait: 1h\n        targets: [{webhook: "${endpoint.url}/alerts"}]\n`,
        env: { ALERT_WEBHOOK_SECRET: SECRET, PUBLIC_BASE_URL: 'http://monitoring.test' },
      });
    });
    afterAll(() => stack?.close());

    it('posts the firing alert once, signed, after retrying an endpoint that answered 503 first', async () => {
      endpoint.answer('/alerts', 503);
      const instance = `${service}-1`;
      await stack.driver.breach(instance, 9);
      const alert = await stack.driver.firing(rule, instance);
      const posts = await eventually(async () => {
        const seen = endpoint.to('/alerts').filter((r) => r.body.alerts.some((a) => a.labels.instance === instance));
        expect(seen.map((r) => r.answered)).toEqual([503, 200]);
        return seen;
      }, 20_000);
      // Another evaluation of the same breach pages no one again.
      await stack.driver.push(instance, 9);
      await stack.driver.evaluate();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(endpoint.to('/alerts').filter((r) => r.body.alerts.some((a) => a.labels.instance === instance)).map((r) => r.answered)).toEqual([503, 200]);

      const [first, second] = posts;
      expect(first!.headers['idempotency-key']).toBe(second!.headers['idempotency-key']);
      expect(String(second!.headers['idempotency-key'])).toContain(alert.alertId);
      expect(posts.every(verified)).toBe(true);
      expect(verified({ ...second!, raw: second!.raw.replace('firing', 'resolved') })).toBe(false);
      expect(second!.headers['content-type']).toBe('application/json');
      expect(second!.body).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'hooks',
        truncatedAlerts: 0,
        externalURL: 'http://monitoring.test',
        commonLabels: { alertname: rule, service, instance, severity: 'critical' },
        alerts: [
          {
            status: 'firing',
            labels: { alertname: rule, service, instance, severity: 'critical' },
            annotations: { summary: 'Error rate exceeded critical threshold', value: '9', threshold: '> 3' },
            endsAt: '0001-01-01T00:00:00Z',
            fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
          },
        ],
      });
      expect(Date.parse(second!.body.alerts[0]!.startsAt)).toBeGreaterThan(Date.now() - 60_000);
      expect(second!.body.alerts[0]!.generatorURL).toContain(encodeURIComponent(`alert/${second!.body.alerts[0]!.fingerprint}`));
    }, 60_000);
  });

  describe('the activities against the local endpoint and the real Redis', () => {
    let redis: Redis;
    let clickhouse: ClickHouseClient;
    beforeAll(async () => {
      redis = await connectRedis(testConfig(), 'webhook-test');
      clickhouse = createClickHouse(testConfig());
    });
    afterAll(async () => {
      await redis?.quit();
      await clickhouse?.close();
    });

    const rule = parseRule({ name: 'hook_cpu', expression: 'cpu_usage_percent > 90', severity: 'warning', annotations: { summary: 'CPU high' } }, 'g', 'rule');
    const alertOf = (instance: string): AlertInput => ({
      fingerprint: `fp${instance}`.padEnd(16, '0').slice(0, 16),
      rule,
      labels: {},
      service: 'svc',
      instance,
      firstBreach: { atMs: Date.now(), value: 95, breaching: true },
      staleAfterMs: 60_000,
    });
    const request = (path: string, instance: string): NotificationRequest => ({
      key: uniqueName(`hook-${instance}`),
      target: { channel: 'webhook', to: `${endpoint.url}${path}` },
      step: { index: 0, level: 1, round: 0 },
      alert: alertOf(instance),
      alertId: `alert_${instance}`,
      workflowId: `alert/${instance}`,
      value: 95,
      firedAtMs: Date.now() - 5_000,
      policy: 'p',
    });
    const activities = (env: Record<string, string> = { ALERT_WEBHOOK_SECRET: SECRET }) =>
      createNotifyActivities({ config: testConfig({ ALERT_LINK_SECRET: 'link-secret', ...env }), redis, clickhouse });

    it('sends a key once however often the delivery runs again', async () => {
      const req = request('/once', 'a');
      const first = await activities().deliverNotification(req);
      const again = await activities().deliverNotification(req);
      expect(first).toEqual({ key: req.key, channel: 'webhook', to: req.target.to, status: 200 });
      expect(again).toEqual(first);
      expect(endpoint.to('/once')).toHaveLength(1);
    });

    it('fails for good on a refusal (4xx) and without a signing secret, and retries a 429', async () => {
      endpoint.answer('/refuse', 400);
      await expect(activities().deliverNotification(request('/refuse', 'b'))).rejects.toMatchObject({ nonRetryable: true, type: 'ReceiverRefused', message: expect.stringContaining('answered 400') });
      await expect(activities({}).deliverNotification(request('/unsigned', 'c'))).rejects.toMatchObject({ nonRetryable: true, type: 'NotConfigured' });
      expect(endpoint.to('/unsigned')).toHaveLength(0);
      endpoint.answer('/busy', 429);
      const busy = request('/busy', 'd');
      const refused = await activities().deliverNotification(busy).catch((err: unknown) => err as Error & { nonRetryable?: boolean });
      expect(refused).toBeInstanceOf(Error);
      expect((refused as { nonRetryable?: boolean }).nonRetryable).not.toBe(true);
      expect(await activities().deliverNotification(busy)).toMatchObject({ channel: 'webhook', status: 200 });
    });

    it('sends a group batch as one payload: its alerts, group labels, what they share, resolved ones marked', async () => {
      const item = (instance: string, status: 'firing' | 'resolved') => {
        const { key: _key, target: _target, ...rest } = request('/group', instance);
        return { ...rest, state: { status, ...(status === 'resolved' ? { atMs: Date.now() } : {}) } };
      };
      const req: GroupNotificationRequest = {
        key: uniqueName('hook-group'),
        target: { channel: 'webhook', to: `${endpoint.url}/group` },
        group: { workflowId: 'alert-group/q/p/abc', labels: { alertname: 'hook_cpu' } },
        items: [item('g1', 'firing'), item('g2', 'resolved')],
        counts: { total: 3, firing: 2 },
      };
      expect(await activities().deliverGroupNotification(req)).toMatchObject({ channel: 'webhook', status: 200, group: 'alert-group/q/p/abc' });
      const [post] = endpoint.to('/group');
      expect(verified(post!)).toBe(true);
      expect(post!.body).toMatchObject({
        groupKey: 'alert-group/q/p/abc',
        groupLabels: { alertname: 'hook_cpu' },
        status: 'firing',
        truncatedAlerts: 1,
        commonLabels: { alertname: 'hook_cpu', service: 'svc', severity: 'warning' },
        alerts: [
          { status: 'firing', labels: { instance: 'g1' } },
          { status: 'resolved', labels: { instance: 'g2' } },
        ],
      });
      expect(post!.body.commonLabels.instance).toBeUndefined();
      expect(post!.body.alerts[1]!.endsAt).not.toBe('0001-01-01T00:00:00Z');
    });
  });
});
