import { Client, Connection } from '@temporalio/client';
import { sql } from '../../core/escape';
import { seedSystemMetrics } from '../fixtures/seed';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { uniqueName } from '../helpers/stack';

const METRICS = '/api/v1/internal/monitoring/metrics';

function systemMetrics(service: string, cpu: number, at = new Date()) {
  return { system_metrics: { ...seedSystemMetrics.system_metrics, service_name: service, timestamp: at.toISOString(), metrics: { ...seedSystemMetrics.system_metrics.metrics, cpu_usage_percent: cpu } } };
}

describe('metrics ingestion, health and auth over the real ClickHouse and Redis', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  const rowsOf = async (service: string) => {
    const result = await api.clickhouse.query({
      ...sql`SELECT metric_name, metric_value, instance_id, toUnixTimestamp(timestamp) AS ts FROM performance_events WHERE service_name = ${service} ORDER BY metric_name`,
      format: 'JSONEachRow',
    });
    return result.json<{ metric_name: string; metric_value: number; instance_id: string; ts: number }>();
  };

  describe('POST /api/v1/internal/monitoring/metrics', () => {
    it('stores the seed system_metrics example as one row per metric and caches it in Redis with a 60 s TTL', async () => {
      // The seed's example under a service of this test only (other tests report ml-inference at the same time).
      const service = uniqueName('seed');
      const payload = { system_metrics: { ...seedSystemMetrics.system_metrics, service_name: service } };
      const response = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload });
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual({ accepted: 14, rejected: [] });
      const rows = await rowsOf(service);
      const names = new Set(rows.map((r) => r.metric_name));
      expect(names).toEqual(
        new Set([
          ...Object.keys(seedSystemMetrics.system_metrics.metrics),
          ...Object.keys(seedSystemMetrics.system_metrics.jvm_metrics).map((k) => `jvm_${k}`),
        ]),
      );
      const cpu = rows.find((r) => r.metric_name === 'cpu_usage_percent');
      expect(cpu).toMatchObject({ metric_value: 67.5, instance_id: seedSystemMetrics.system_metrics.instance_id, ts: Date.parse('2025-07-26T10:30:00Z') / 1000 });
      const ttl = await api.redis.ttl(`metrics:realtime:${service}`);
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
      const instanceKey = `metrics:realtime:${service}:instance:${seedSystemMetrics.system_metrics.instance_id}`;
      expect(await api.redis.hget(instanceKey, 'cpu_usage_percent')).toBe('67.5');
      expect(await api.redis.ttl(instanceKey)).toBeGreaterThan(50);
    });

    it('stores the valid items of a mixed batch and names each rejected one', async () => {
      const service = uniqueName('mixed');
      const bad = { system_metrics: { service_name: service, timestamp: '2026-01-01T00:00:00Z', metrics: { cpu_usage_percent: 'NaN' } } };
      const response = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: [systemMetrics(service, 10), bad] });
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual({
        accepted: 14,
        rejected: [{ index: 1, field: 'body[1].system_metrics.metrics.cpu_usage_percent', error: 'expected a finite number' }],
      });
      expect(await rowsOf(service)).toHaveLength(14);
    });

    it('answers 400 naming the field when nothing in the body is valid, and stores nothing', async () => {
      const service = uniqueName('invalid');
      const response = await api.app.inject({
        method: 'POST',
        url: METRICS,
        headers: bearer('service'),
        payload: { system_metrics: { service_name: service, metrics: { cpu_usage_percent: 1 } } },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'validation_failed', message: 'body.system_metrics.timestamp: required', field: 'body.system_metrics.timestamp' });
      expect(await rowsOf(service)).toEqual([]);
    });

    it('answers 400 invalid_json for truncated JSON', async () => {
      const response = await api.app.inject({
        method: 'POST',
        url: METRICS,
        headers: { ...bearer('service'), 'content-type': 'application/json' },
        payload: JSON.stringify(seedSystemMetrics).slice(0, 80),
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_json', field: 'body' });
    });

    it('answers 401 without a token or with a wrong one, and 403 for a viewer', async () => {
      const none = await api.app.inject({ method: 'POST', url: METRICS, payload: seedSystemMetrics });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toMatchObject({ error: 'unauthorized', field: 'Authorization' });
      const wrong = await api.app.inject({ method: 'POST', url: METRICS, headers: { authorization: 'Bearer not-a-key-at-all' }, payload: seedSystemMetrics });
      expect(wrong.statusCode).toBe(401);
      const viewer = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('viewer'), payload: seedSystemMetrics });
      expect(viewer.statusCode).toBe(403);
      expect(viewer.json()).toMatchObject({ error: 'forbidden' });
    });
  });

  describe('GET /api/v1/internal/monitoring/health/:service_name', () => {
    it('reports the realtime values and healthy for the seed example, critical above the critical threshold', async () => {
      const service = uniqueName('health');
      await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: systemMetrics(service, 67.5) });
      const healthy = await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('service') });
      expect(healthy.statusCode).toBe(200);
      expect(healthy.json()).toMatchObject({ service_name: service, status: 'healthy', realtime_cache: 'ok', realtime: { cpu_usage: 67.5, memory_usage: 72.1 } });
      await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: systemMetrics(service, 97) });
      const critical = await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('admin') });
      expect(critical.json()).toMatchObject({ status: 'critical', realtime: { cpu_usage: 97 } });
      expect(critical.json().reasons.map((r: { rule: string }) => r.rule)).toEqual(['high_cpu_usage', 'critical_cpu_usage']);
    });

    it('judges each instance: one at 97 % keeps the service critical when another reports 20 % after it; values combine the instances', async () => {
      const service = uniqueName('fleet');
      const report = (instance: string, cpu: number, connections: number, p95: number) => {
        const base = systemMetrics(service, cpu);
        const metrics = { ...base.system_metrics.metrics, active_connections: connections, response_time_p95_ms: p95 };
        return api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: { system_metrics: { ...base.system_metrics, instance_id: instance, metrics } } });
      };
      expect((await report(`${service}-1`, 97, 100, 250)).statusCode).toBe(202);
      expect((await report(`${service}-2`, 20, 50, 40)).statusCode).toBe(202);
      const health = (await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('admin') })).json();
      // The last writer (20 %) used to decide: healthy.
      expect(health.status).toBe('critical');
      expect(health.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'critical_cpu_usage', value: 97, instance: `${service}-1` })]));
      expect(health.reasons.every((r: { instance?: string }) => r.instance === `${service}-1`)).toBe(true);
      // CPU averaged, connections summed, p95 the worst instance's; each instance's own values listed.
      expect(health.realtime).toMatchObject({ cpu_usage: 58.5, response_time_p95: 250, metrics: { active_connections: 150 } });
      expect(health.realtime.instances.map((i: { instance: string; metrics: { cpu_usage_percent: number } }) => [i.instance, i.metrics.cpu_usage_percent])).toEqual([
        [`${service}-1`, 97],
        [`${service}-2`, 20],
      ]);
    });

    it('reports unknown for a service that never reported', async () => {
      const response = await api.app.inject({ url: `/api/v1/internal/monitoring/health/${uniqueName('never')}`, headers: bearer('service') });
      expect(response.json()).toMatchObject({ status: 'unknown', realtime: null });
    });

    it('refuses a viewer on the internal route with 403', async () => {
      const response = await api.app.inject({ url: '/api/v1/internal/monitoring/health/ml-inference', headers: bearer('viewer') });
      expect(response.statusCode).toBe(403);
    });
  });

  it('answers 404 in the error shape for an unknown route, and /healthz without a token', async () => {
    const missing = await api.app.inject({ url: '/nope', headers: bearer('admin') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
    const healthz = await api.app.inject({ url: '/healthz' });
    expect(healthz.json()).toEqual({ status: 'ok', checks: { clickhouse: 'ok', redis: 'ok' } });
  });
});

describe('ingestion when a dependency is down', () => {
  it('answers 503 with Retry-After when ClickHouse is unreachable, storing nothing', async () => {
    const api = await startTestApi({ CLICKHOUSE_URL: 'http://127.0.0.1:9', MONITORING_QUERY_TIMEOUT: '2s' });
    try {
      const service = uniqueName('ch-down');
      const response = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: systemMetrics(service, 50) });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toEqual({ error: 'storage_unavailable', message: expect.stringContaining('nothing was stored') });
      expect(await api.redis.exists(`metrics:realtime:${service}`)).toBe(0);
    } finally {
      await api.close();
    }
  });

  it('still stores samples when Redis is unreachable, and health says the realtime cache is unavailable', async () => {
    const api = await startTestApi({ REDIS_URL: 'redis://127.0.0.1:9' });
    try {
      const service = uniqueName('redis-down');
      const response = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: systemMetrics(service, 50) });
      expect(response.statusCode).toBe(202);
      const count = await api.clickhouse.query({
        ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`,
        format: 'JSONEachRow',
      });
      expect(Number((await count.json<{ n: string }>())[0]?.n)).toBe(14);
      const health = await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('service') });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ status: 'unknown', realtime_cache: 'unavailable' });
    } finally {
      await api.close();
    }
  });

  it('keeps ingesting while Temporal is unreachable, and answers alert actions 503 with Retry-After', async () => {
    const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:9' }) });
    const api = await startTestApi({}, undefined, temporal);
    try {
      const ingest = await api.app.inject({ method: 'POST', url: METRICS, headers: bearer('service'), payload: systemMetrics(uniqueName('no-temporal'), 50) });
      expect(ingest.statusCode).toBe(202);
      const ack = await api.app.inject({ method: 'POST', url: '/api/v1/alerts/alert_0123456789abcdef_1/ack', headers: bearer('admin') });
      expect(ack.statusCode).toBe(503);
      expect(ack.headers['retry-after']).toBe('5');
      expect(ack.json()).toEqual({ error: 'workflows_unavailable', message: 'alert workflows are unavailable; retry later' });
    } finally {
      await api.close();
      await temporal.connection.close().catch(() => undefined);
    }
  });
});
