import net from 'node:net';
import { createRedisStore } from '../../store/redis';
import type { ApiKey } from '../../core/auth';
import type { ActiveAlert } from '../../core/types';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { uniqueName } from '../helpers/stack';

const DASHBOARD = '/api/v1/public/monitoring/dashboard';
const PERFORMANCE = '/api/v1/public/monitoring/performance';
const METRICS = '/api/v1/internal/monitoring/metrics';

/** Two services of this test only; the viewer key sees the first. */
const A = uniqueName('dash-a');
const B = uniqueName('dash-b');
const KEYS: ApiKey[] = [...Object.values(TEST_KEYS), { name: 'viewer-a', token: 'viewer-a-token-0123456789', role: 'viewer', services: [A] }];
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const viewerA = as('viewer-a-token-0123456789');
const admin = as(TEST_KEYS.admin.token);
const service = as(TEST_KEYS.service.token);

function alertOf(svc: string, instance: string, severity: 'critical' | 'warning', status: 'firing' | 'pending'): ActiveAlert {
  const now = new Date().toISOString();
  return {
    alert_id: `${svc}-${instance}-${severity}`,
    fingerprint: `fp-${svc}-${instance}`,
    rule: 'high_cpu_usage',
    severity,
    status,
    service: svc,
    instance,
    metric: 'cpu_usage_percent',
    threshold: 80,
    current_value: 93,
    duration: 60,
    started_at: now,
    last_evaluation: now,
    summary: `CPU high on ${instance}`,
    workflow_id: `alert/fp-${svc}-${instance}`,
    labels: { service: svc, instance },
  };
}

describe('dashboard, performance and overview over the real ClickHouse and Redis', () => {
  let api: TestApi;
  const now = Date.now();
  beforeAll(async () => {
    api = await startTestApi({}, undefined, undefined, KEYS);
    // Two minutes of samples every 15 s: A on two instances, B on one, with A's business figures.
    const body: unknown[] = [];
    for (let i = 8; i >= 0; i--) {
      const timestamp = new Date(now - i * 15_000).toISOString();
      for (const [svc, instance, cpu] of [
        [A, 'a-1', 40],
        [A, 'a-2', 60],
        [B, 'b-1', 95],
      ] as const) {
        body.push({ system_metrics: { timestamp, service_name: svc, instance_id: instance, metrics: { cpu_usage_percent: cpu, memory_usage_percent: 50 } } });
        body.push({
          application_metrics: {
            timestamp,
            service_name: svc,
            instance_id: instance,
            metrics: { requests_per_second: svc === A ? 10 : 1000, response_time_p50_ms: svc === A ? 20 : 500, response_time_p95_ms: 45, error_rate_percent: svc === A ? 0.5 : 9 },
          },
        });
      }
      body.push({ business_metrics: { timestamp, service_name: A, metrics: { active_users: 200, prediction_accuracy: 0.75, predictions_generated: 100, profitable_trades_percent: 60 } } });
      body.push({ samples: [{ name: 'strategy_predictions', value: 5, timestamp, labels: { service: A, strategy: 'momentum' } }, { name: 'strategy_predictions', value: 7, timestamp, labels: { service: A, strategy: 'mean-reversion' } }] });
    }
    const response = await api.app.inject({ method: 'POST', url: METRICS, headers: service, payload: body });
    expect(response.statusCode).toBe(202);
    const alerts = createRedisStore({ redis: api.redis, realtimeTtlSeconds: 60 });
    await alerts.setActiveAlert(alertOf(A, 'a-2', 'critical', 'firing'));
    await alerts.setActiveAlert(alertOf(B, 'b-1', 'warning', 'firing'));
  });
  afterAll(() => api.close());

  it("gives a viewer the seed's dashboard_data for its services only", async () => {
    const response = await api.app.inject({ method: 'GET', url: DASHBOARD, headers: viewerA });
    expect(response.statusCode).toBe(200);
    const d = response.json().dashboard_data;
    expect(response.body).not.toContain(B);
    expect(d.degraded).toEqual([]);
    expect(d.overall_system_health).toBe('critical');
    expect(d.service_health).toEqual([
      expect.objectContaining({ service_name: A, status: 'critical', instances: 2, healthy_instances: 1, memory_usage: 50, response_time_p95: 45, error_rate: 0.5 }),
    ]);
    // Two instances at 10 req/s each, for 60 s.
    expect(d.system_overview).toMatchObject({ total_requests_per_minute: 1200, average_response_time_ms: 20, error_rate_percent: 0.5, active_users: 200 });
    expect(d.system_overview.system_uptime_percent).toBeGreaterThan(0);
    expect(d.business_metrics).toEqual({ prediction_accuracy: 0.75, daily_predictions: expect.any(Number), active_strategies: 2, profitable_trades_percent: 60 });
    expect(d.business_metrics.daily_predictions).toBeGreaterThanOrEqual(900);
    expect(d.alerts).toEqual([expect.objectContaining({ id: `${A}-a-2-critical`, severity: 'critical', service: A, status: 'firing', workflow_url: expect.stringContaining(encodeURIComponent(`alert/fp-${A}-a-2`)) })]);
  });

  it('gives an admin every reporting service, weighting latency and errors by requests', async () => {
    const response = await api.app.inject({ method: 'GET', url: `${DASHBOARD}?type=services`, headers: admin });
    expect(response.statusCode).toBe(200);
    const d = response.json().dashboard_data;
    const names = d.service_health.map((s: { service_name: string }) => s.service_name);
    expect(names).toEqual(expect.arrayContaining([A, B]));
    expect(d.service_health.find((s: { service_name: string }) => s.service_name === B)).toMatchObject({ status: 'critical', instances: 1, healthy_instances: 0 });
    // type=services leaves the other sections out.
    expect(d.system_overview).toBeUndefined();
    expect(d.alerts).toBeUndefined();
  });

  it('refuses a bad range or section naming the field', async () => {
    const cases: Array<[string, string]> = [
      [`${DASHBOARD}?from=yesterday`, 'querystring.from'],
      [`${DASHBOARD}?from=now&to=now-1h`, 'querystring.from'],
      [`${DASHBOARD}?type=everything`, 'querystring.type'],
      [`${PERFORMANCE}?metric=cpu;drop`, 'querystring.metric'],
      [`${PERFORMANCE}?step=0`, 'querystring.step'],
      [`${PERFORMANCE}?stats=avg,median`, 'querystring.stats'],
    ];
    for (const [url, field] of cases) {
      const response = await api.app.inject({ method: 'GET', url, headers: admin });
      expect([url, response.statusCode, response.json().field]).toEqual([url, 400, field]);
    }
  });

  it('serves performance series of the caller\'s services at the resolution the range calls for', async () => {
    const response = await api.app.inject({ method: 'GET', url: `${PERFORMANCE}?metric=cpu_usage_percent&from=now-10m&stats=avg,min,max,p95`, headers: viewerA });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ resolution: 'raw', step_seconds: 15 });
    expect(body.series.map((s: { service: string }) => s.service)).toEqual([A]);
    const [series] = body.series;
    expect(series.t.length).toBeGreaterThanOrEqual(8);
    expect([series.avg.length, series.min.length, series.max.length, series.p95.length]).toEqual([series.t.length, series.t.length, series.t.length, series.t.length]);
    // Each bucket holds one sample of each instance: 40 and 60.
    expect([series.avg[1], series.min[1], series.max[1]]).toEqual([50, 40, 60]);
    const day = await api.app.inject({ method: 'GET', url: `${PERFORMANCE}?metric=cpu_usage_percent&from=now-1d&stats=min,max`, headers: viewerA });
    expect(day.json()).toMatchObject({ resolution: '1m', step_seconds: 120 });
    expect([day.json().series[0].min.at(-1), day.json().series[0].max.at(-1)]).toEqual([40, 60]);
    const month = await api.app.inject({ method: 'GET', url: `${PERFORMANCE}?metric=cpu_usage_percent&from=now-30d&stats=min,max`, headers: viewerA });
    expect(month.json()).toMatchObject({ resolution: '1h', step_seconds: 3600 });
    expect([month.json().series[0].min.at(-1), month.json().series[0].max.at(-1)]).toEqual([40, 60]);
    // Another service by name: refused, naming the parameter.
    const other = await api.app.inject({ method: 'GET', url: `${PERFORMANCE}?service=${B}`, headers: viewerA });
    expect(other.statusCode).toBe(403);
    expect(other.body).not.toContain('"series"');
  });

  it("times its ClickHouse and Redis calls and shows the read queries on /metrics", async () => {
    await api.app.inject({ method: 'GET', url: `${DASHBOARD}?from=now-7m`, headers: admin });
    const metrics = (await api.app.inject({ method: 'GET', url: '/metrics', headers: service })).body;
    expect(metrics).toMatch(/^monitoring_dependency_call_seconds_count\{dependency="clickhouse",operation="dashboard",outcome="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^monitoring_dependency_call_seconds_count\{dependency="redis",operation="service_state",outcome="ok"\} [1-9]/m);
    expect(metrics).toMatch(/^monitoring_read_queries\{state="running"\} 0$/m);
    expect(metrics).toMatch(/^monitoring_ingest_last_batch_rows [1-9]/m);
    expect(metrics).toMatch(/^monitoring_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/public\/monitoring\/dashboard",status="200"\} [1-9]/m);
  });

  it("forecasts a service's capacity from its hourly history, and says why a resource without history has none", async () => {
    // Ten days of hourly CPU growing a point a day from 50 %: 60 % now, 90 % in 30 days.
    const grower = uniqueName('capacity');
    const hours = 240;
    const body = Array.from({ length: hours }, (_, i) => ({
      system_metrics: { timestamp: new Date(now - (hours - i) * 3_600_000).toISOString(), service_name: grower, instance_id: `${grower}-1`, metrics: { cpu_usage_percent: 50 + (i / 24) * 1 + ((i * 7) % 5) / 10 } },
    }));
    expect((await api.app.inject({ method: 'POST', url: METRICS, headers: service, payload: body })).statusCode).toBe(202);
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/admin/monitoring/capacity?service=${grower}&days=30`, headers: admin });
    expect(response.statusCode).toBe(200);
    const [svc] = response.json().services;
    const cpu = svc.resources.find((r: { resource: string }) => r.resource === 'cpu');
    expect(cpu.forecast.points).toBeGreaterThanOrEqual(239);
    expect(cpu.forecast.predicted_usage).toBeGreaterThan(86);
    expect(cpu.forecast.predicted_usage).toBeLessThan(94);
    expect(cpu.forecast.confidence_interval[0]).toBeLessThan(cpu.forecast.predicted_usage);
    expect(cpu.forecast.recommended_capacity).toBeCloseTo(cpu.forecast.predicted_usage * 1.2, 1);
    expect(cpu.forecast.scaling_recommendation).toMatchObject({ type: 'ScaleUp', urgency: 'medium' });
    expect(cpu.forecast.days_until_threshold).toBeGreaterThan(17);
    expect(cpu.forecast.days_until_threshold).toBeLessThan(23);
    expect(svc.resources.find((r: { resource: string }) => r.resource === 'disk')).toMatchObject({ forecast: null, note: expect.stringContaining('at least 3') });
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/admin/monitoring/capacity', headers: viewerA })).statusCode).toBe(403);
  });

  it('gives an admin the overview and refuses it to a viewer', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/api/v1/admin/monitoring/overview', headers: admin });
    expect(response.statusCode).toBe(200);
    const o = response.json();
    expect(o.services.total).toBeGreaterThanOrEqual(2);
    expect(o.alerts.by_severity.critical).toBeGreaterThanOrEqual(1);
    expect(o.storage.map((t: { table: string }) => t.table)).toEqual(expect.arrayContaining(['performance_events', 'performance_rollup_1m']));
    expect((await api.app.inject({ method: 'GET', url: '/api/v1/admin/monitoring/overview', headers: viewerA })).statusCode).toBe(403);
  });

  it('serves the page and its assets without a token, and the OpenAPI description at /docs', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/static/dashboard.js');
    for (const asset of ['/static/dashboard.js', '/static/uPlot.iife.min.js', '/static/uPlot.min.css']) expect((await api.app.inject({ method: 'GET', url: asset })).statusCode).toBe(200);
    const spec = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.statusCode).toBe(200);
    const paths = Object.keys(spec.json().paths);
    expect(paths).toEqual(expect.arrayContaining([DASHBOARD, PERFORMANCE, METRICS, '/api/v1/admin/monitoring/overview', '/api/v1/internal/monitoring/health/{service_name}']));
    expect((await api.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });
});

describe('the API request log', () => {
  /** logged collects the API's log lines as objects. */
  const logged = () => {
    const lines: Array<Record<string, unknown>> = [];
    return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
  };

  it('logs a failed request (5xx) once, at error level, without its credentials — and not a request that went well', async () => {
    const log = logged();
    const api = await startTestApi({ CLICKHOUSE_URL: 'http://127.0.0.1:1' }, undefined, undefined, KEYS, false, log.stream);
    try {
      expect((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await api.app.inject({ method: 'GET', url: DASHBOARD, headers: viewerA })).statusCode).toBe(200);
      expect(log.lines.filter((l) => l.msg !== undefined && String(l.msg).includes('request'))).toEqual([]);
      expect((await api.app.inject({ method: 'GET', url: PERFORMANCE, headers: viewerA })).statusCode).toBe(503);
      const failed = log.lines.filter((l) => l.msg === 'request failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: 50, res: { statusCode: 503 }, req: { method: 'GET', url: PERFORMANCE }, responseTime: expect.any(Number) });
      expect(JSON.stringify(log.lines)).not.toContain('viewer-a-token');
    } finally {
      await api.close();
    }
  });

  it('logs slow requests (MONITORING_SLOW_REQUEST) at warn, and every request with MONITORING_REQUEST_LOG=all', async () => {
    const slow = logged();
    const api = await startTestApi({ MONITORING_SLOW_REQUEST: '0s' }, undefined, undefined, KEYS, false, slow.stream);
    try {
      await api.app.inject({ method: 'GET', url: '/healthz' });
      expect(slow.lines.filter((l) => l.msg === 'slow request')).toMatchObject([{ level: 40, res: { statusCode: 200 } }]);
    } finally {
      await api.close();
    }
    const all = logged();
    const verbose = await startTestApi({ MONITORING_REQUEST_LOG: 'all' }, undefined, undefined, KEYS, false, all.stream);
    try {
      await verbose.app.inject({ method: 'GET', url: '/healthz' });
      expect(all.lines.filter((l) => l.msg === 'request completed')).toMatchObject([{ level: 30, res: { statusCode: 200 } }]);
    } finally {
      await verbose.close();
    }
  });
});

describe('dashboard when a dependency fails', () => {
  it('answers with the realtime part and `degraded: [storage]` while ClickHouse is down', async () => {
    const api = await startTestApi({ CLICKHOUSE_URL: 'http://127.0.0.1:1' }, undefined, undefined, KEYS);
    try {
      const response = await api.app.inject({ method: 'GET', url: DASHBOARD, headers: viewerA });
      expect(response.statusCode).toBe(200);
      const d = response.json().dashboard_data;
      expect(d.degraded).toEqual(['storage']);
      expect(d.system_overview.total_requests_per_minute).toBeNull();
      expect(d.service_health.map((s: { service_name: string }) => s.service_name)).toEqual([A]);
      const series = await api.app.inject({ method: 'GET', url: PERFORMANCE, headers: viewerA });
      expect(series.statusCode).toBe(503);
      expect(series.headers['retry-after']).toBeDefined();
      expect(series.json().error).toBe('storage_unavailable');
    } finally {
      await api.close();
    }
  });

  it('answers with the stored part and `degraded: [realtime_cache]` while Redis is down', async () => {
    const api = await startTestApi({ REDIS_URL: 'redis://127.0.0.1:1' }, undefined, undefined, KEYS);
    try {
      const response = await api.app.inject({ method: 'GET', url: DASHBOARD, headers: viewerA });
      expect(response.statusCode).toBe(200);
      const d = response.json().dashboard_data;
      expect(d.degraded).toEqual(['realtime_cache']);
      expect(d.service_health).toEqual([expect.objectContaining({ service_name: A, status: 'unknown' })]);
    } finally {
      await api.close();
    }
  });

  it('answers 503 query_timeout when ClickHouse takes longer than MONITORING_QUERY_TIMEOUT', async () => {
    // A server that accepts connections and never answers: the query runs into the time limit.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const api = await startTestApi({ CLICKHOUSE_URL: `http://127.0.0.1:${port}`, MONITORING_QUERY_TIMEOUT: '1s' }, undefined, undefined, KEYS);
    try {
      const started = Date.now();
      const response = await api.app.inject({ method: 'GET', url: `${PERFORMANCE}?metric=cpu_usage_percent`, headers: viewerA });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ error: 'query_timeout' });
      expect(response.headers['retry-after']).toBe('5');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await api.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
