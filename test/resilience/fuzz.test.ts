import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Client } from '@temporalio/client';
import { migrate } from '../../store/migrations';
import { connectTemporal } from '../../store/clients';
import { slackSignature } from '../../api/routes/integrations';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * Bad input (issue 7, scenario 7): for every POST and PUT route, FUZZ_RUNS (10,000) generated bodies — random JSON,
 * valid bodies with one field given a wrong type, huge numbers, NaN/Infinity, deep nesting, 10 MB strings, invalid
 * UTF-8 and, for the metrics route, Prometheus text edge cases — get only 2xx or 4xx, never a 5xx or a crash, and
 * nothing from a rejected item is stored: the run writes to a database of its own, whose rows are exactly the sum
 * of what the answers accepted.
 */
// `npm run test:resilience` runs 10,000 a route; `npm test` (CI) a 1,000 subset.
const ROOT = path.resolve(__dirname, '..', '..');
const SLACK_SECRET = 'fuzz-signing-secret';
mkdirSync(path.join(ROOT, '.local'), { recursive: true });
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);

/** A valid body per route: the fuzzer mutates these, so many bodies reach the deep validation, not just the first check. */
const TEMPLATES: Record<string, unknown> = {
  metrics: { application_metrics: { timestamp: '2026-11-20T10:00:00Z', service_name: 'fuzz-svc', instance_id: 'fuzz-1', metrics: { response_time_p95_ms: 12, error_rate_percent: 0.1 } } },
  events: { event_type: 'trade', timestamp: '2026-11-20T10:00:00Z', service_name: 'fuzz-svc', user_id: 'u1', attributes: { strategy: 'momentum', profit: 12.5 } },
  ack: { note: 'looked at it' },
  reports: { end: '2026-11-23T08:00:00Z' },
  rules: { name: 'fuzz_rule', group: 'fuzz', expression: 'cpu_usage_percent > 90', duration: '1m', severity: 'warning', labels: { team: 'x' } },
  silences: { matchers: [{ name: 'service', value: 'fuzz-svc' }], duration: '1h', comment: 'fuzz', created_by: 'fuzz' },
  policy: { description: 'fuzz', repeat: 1, steps: [{ wait: '5m', targets: [{ slack: '#fuzz' }, { email: 'fuzz@example.com' }] }] },
};

/** mutate replaces the value at a random path of a template with an arbitrary one (a wrong type, a huge number…). */
const mutated = (template: unknown) =>
  fc.tuple(fc.nat(), fc.oneof(fc.jsonValue(), fc.constantFrom(1e308, -1e308, 2 ** 64, -0, '', ' ', '\u0000', "'; DROP TABLE x; --", [], {}, null, true))).map(([pick, value]) => {
    const copy = JSON.parse(JSON.stringify(template)) as unknown;
    const paths: Array<Array<string | number>> = [];
    const walk = (node: unknown, at: Array<string | number>) => {
      paths.push(at);
      if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, [...at, Array.isArray(node) ? Number(k) : k]);
    };
    walk(copy, []);
    const path = paths[pick % paths.length]!;
    if (path.length === 0) return value;
    let parent = copy as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[path[path.length - 1]!] = value;
    return copy;
  });

/** Raw bodies JSON cannot express: NaN, Infinity, invalid UTF-8, deep nesting, truncation, a 10 MB string. */
const RAW: Array<string | Buffer> = [
  '{"value": NaN}',
  '{"value": Infinity}',
  '{"a": -Infinity}',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from([0xc3, 0x28]),
  `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
  '{"truncated": ',
  '',
  'null',
  `{"s": "${'x'.repeat(10 * 1024 * 1024)}"}`,
];

/** Prometheus text edge cases for the metrics route. */
const PROM: string[] = [
  'up 1\n',
  'metric{a="b" 1\n',
  'metric{a="\\"quoted\\" \\\\ back"} 1\n',
  'metric NaN\nmetric2 +Inf\nmetric3 -Inf\n',
  '# TYPE x counter\nx_total 1 1700000000000\n',
  'metric 1 not-a-timestamp\n',
  `metric{${Array.from({ length: 500 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`,
  'm{a="\u0000"} 1\n',
  '   \n\n# only comments\n',
  'metric 1e400\n',
  '{} 1\n',
  'm{service="x\'; DROP TABLE performance_events; --"} 1\n',
];

interface Tally {
  sent: number;
  byStatus: Map<number, number>;
  accepted: number;
}

describe('bad input: every POST and PUT route under generated bodies', () => {
  let api: TestApi;
  let temporal: Client;
  let closeTemporal: () => Promise<void>;
  const database = uniqueName('fuzz').replaceAll('-', '_');
  const taskQueue = uniqueName('fuzz-queue');
  const tallies = new Map<string, Tally>();

  beforeAll(async () => {
    const config = testConfig({ CLICKHOUSE_DATABASE: database, TEMPORAL_TASK_QUEUE: taskQueue });
    // The tables' TTLs follow the configured retention, as at the API's own start.
    await migrate(config);
    const connected = await connectTemporal(config);
    temporal = connected.client;
    closeTemporal = () => connected.connection.close();
    api = await startTestApi({ CLICKHOUSE_DATABASE: database, TEMPORAL_TASK_QUEUE: taskQueue, SLACK_SIGNING_SECRET: SLACK_SECRET, MONITORING_ANONYMOUS_RATE_LIMIT_PER_MINUTE: '100000000', MONITORING_RATE_LIMIT_PER_MINUTE: '100000000' }, undefined, temporal);
  }, 120_000);
  afterAll(async () => {
    writeFileSync(path.join(ROOT, '.local', 'fuzz-results.json'), JSON.stringify({ runs: RUNS, routes: Object.fromEntries([...tallies].map(([r, t]) => [r, { sent: t.sent, byStatus: Object.fromEntries(t.byStatus), accepted: t.accepted }])) }, null, 2));
    const lines = [...tallies].map(([route, t]) => `${route}: ${t.sent} bodies → ${[...t.byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    console.log(`[fuzz]\n${lines.join('\n')}`);
    // The rules a valid body stored made their group's evaluation schedule: remove it with the run's task queue.
    for await (const schedule of temporal.schedule.list()) {
      if (schedule.scheduleId.includes(taskQueue)) await temporal.schedule.getHandle(schedule.scheduleId).delete().catch(() => undefined);
    }
    await api?.close();
    await closeTemporal?.();
  });

  /** send posts one body and records its answer; a 5xx fails the run at once with the body that caused it. */
  const send = async (route: string, method: 'POST' | 'PUT', url: string, payload: string | Buffer, headers: Record<string, string>) => {
    const response = await api.app.inject({ method, url, payload, headers });
    const tally = tallies.get(route) ?? { sent: 0, byStatus: new Map(), accepted: 0 };
    tallies.set(route, tally);
    tally.sent++;
    tally.byStatus.set(response.statusCode, (tally.byStatus.get(response.statusCode) ?? 0) + 1);
    if (response.statusCode >= 500) throw new Error(`${route}: ${response.statusCode} ${response.body.slice(0, 300)} for ${String(payload).slice(0, 300)}`);
    if (response.statusCode === 202 && (route.startsWith('metrics') || route === 'events')) tally.accepted += Number(response.json().accepted ?? 0);
    // A refusal says what was wrong: JSON {error, message}, or a page for the e-mail links a browser opens.
    if (response.statusCode >= 400 && response.statusCode !== 413) {
      if (String(response.headers['content-type']).startsWith('text/html')) expect(response.body).toMatch(/<p>.+<\/p>/s);
      else expect(response.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
    return response;
  };

  const bodies = (template: unknown) => fc.oneof({ weight: 3, arbitrary: mutated(template) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) });

  /** slackSigned signs a body as Slack would (so the fuzz reaches the payload's parsing, past the signature). */
  const slackSigned = (body: string): Record<string, string> => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': slackSignature(SLACK_SECRET, timestamp, body) };
  };

  const ROUTES: Array<{ route: string; method: 'POST' | 'PUT'; url: string; template: unknown; headers: Record<string, string>; sign?: (body: string) => Record<string, string> }> = [
    { route: 'metrics', method: 'POST', url: '/api/v1/internal/monitoring/metrics', template: TEMPLATES.metrics, headers: bearer('service') },
    { route: 'events', method: 'POST', url: '/api/v1/internal/monitoring/events', template: TEMPLATES.events, headers: bearer('service') },
    { route: 'ack', method: 'POST', url: '/api/v1/alerts/alert_0000000000000000_1/ack', template: TEMPLATES.ack, headers: bearer('admin') },
    { route: 'resolve', method: 'POST', url: '/api/v1/alerts/alert_0000000000000000_1/resolve', template: TEMPLATES.ack, headers: bearer('admin') },
    {
      route: 'slack-actions',
      method: 'POST',
      url: '/api/v1/integrations/slack/actions',
      template: { type: 'block_actions', user: { id: 'U1', name: 'fuzz' }, actions: [{ action_id: 'alert_acknowledge', value: 'alert_0000000000000000_1' }], response_url: 'http://127.0.0.1:1/response' },
      headers: {},
      sign: slackSigned,
    },
    { route: 'ack-link', method: 'POST', url: '/api/v1/alerts/ack', template: { token: 'x' }, headers: {} },
    { route: 'reports', method: 'POST', url: '/api/v1/admin/monitoring/reports', template: TEMPLATES.reports, headers: bearer('admin') },
    { route: 'rules-post', method: 'POST', url: '/api/v1/admin/monitoring/alerts/rules', template: TEMPLATES.rules, headers: bearer('admin') },
    { route: 'rules-put', method: 'PUT', url: '/api/v1/admin/monitoring/alerts/rules/fuzz_rule', template: TEMPLATES.rules, headers: bearer('admin') },
    { route: 'silences', method: 'POST', url: '/api/v1/admin/monitoring/silences', template: TEMPLATES.silences, headers: bearer('admin') },
    { route: 'policies', method: 'PUT', url: '/api/v1/admin/monitoring/escalation-policies/fuzz', template: TEMPLATES.policy, headers: bearer('admin') },
  ];

  for (const { route, method, url, template, headers, sign } of ROUTES) {
    it(`${method} ${url}: ${RUNS} generated bodies, raw edge cases → 2xx/4xx only`, async () => {
      // The template itself is valid where a valid body can exist (so the mutations start from accepted input).
      if (['metrics', 'events', 'reports', 'rules-post', 'rules-put', 'silences', 'policies'].includes(route)) {
        const valid = await send(route, method, url, JSON.stringify(template), { ...headers, 'content-type': 'application/json' });
        expect(valid.statusCode).toBeLessThan(300);
      }
      for (const raw of RAW) await send(route, method, url, raw, { ...headers, ...sign?.(String(raw)), 'content-type': 'application/json' });
      const samples = fc.sample(bodies(template), { numRuns: RUNS, seed: 20261129 });
      // In parallel lanes, as clients would send them.
      let next = 0;
      await Promise.all(
        Array.from({ length: process.env.FUZZ_LANES ? Number(process.env.FUZZ_LANES) : 16 }, async () => {
          while (next < samples.length) {
            const body = samples[next++];
            if (sign) {
              // Slack posts a form with the JSON in `payload`, signed over the raw body.
              const form = `payload=${encodeURIComponent(JSON.stringify(body) ?? 'null')}`;
              await send(route, method, url, form, { ...headers, ...sign(form), 'content-type': 'application/x-www-form-urlencoded' });
            } else {
              await send(route, method, url, JSON.stringify(body) ?? 'null', { ...headers, 'content-type': 'application/json' });
            }
          }
        }),
      );
      expect(tallies.get(route)!.sent).toBeGreaterThanOrEqual(RUNS + RAW.length);
      // Every body reached the route's validation (none was turned away by the rate limiter instead).
      expect(tallies.get(route)!.byStatus.get(429) ?? 0).toBe(0);
    }, 600_000);
  }

  it('POST metrics as Prometheus text: edge cases and generated lines → 2xx/4xx only', async () => {
    const lines = fc.sample(fc.array(fc.oneof(fc.constantFrom(...PROM), fc.string({ unit: 'binary', maxLength: 80 }).map((s) => `${s}\n`)), { maxLength: 8 }), { numRuns: Math.min(RUNS, 2_000), seed: 7 });
    const texts = [...PROM, ...lines.map((l) => l.join(''))];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < texts.length) await send('metrics-text', 'POST', '/api/v1/internal/monitoring/metrics?service=fuzz-text', texts[next++]!, { ...bearer('service'), 'content-type': 'text/plain; version=0.0.4' });
      }),
    );
  }, 600_000);

  it('stored exactly what the answers accepted, nothing from a rejected item', async () => {
    const count = async (table: string) =>
      Number((await (await api.clickhouse.query({ query: `SELECT count() AS n FROM ${database}.${table}`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    const acceptedSamples = ['metrics', 'metrics-text'].reduce((n, r) => n + (tallies.get(r)?.accepted ?? 0), 0);
    const acceptedEvents = tallies.get('events')?.accepted ?? 0;
    expect(acceptedSamples + acceptedEvents).toBeGreaterThan(0);
    // Each accepted item is one row (a sample, or an event); 202 is only sent once the rows are in ClickHouse.
    if ((await count('business_events')) !== acceptedEvents) {
      const sample = await (await api.clickhouse.query({ query: `SELECT event_type, service_name, count() AS n FROM ${database}.business_events GROUP BY event_type, service_name ORDER BY n DESC LIMIT 5`, format: 'JSONEachRow' })).json();
      console.log(`[fuzz] business_events by type and service: ${JSON.stringify(sample)}`);
    }
    expect(await count('business_events')).toBe(acceptedEvents);
    expect(await count('performance_events')).toBe(acceptedSamples);
    console.log(`[fuzz] stored ${acceptedSamples} samples and ${acceptedEvents} events: exactly what the answers accepted`);
  });
});
