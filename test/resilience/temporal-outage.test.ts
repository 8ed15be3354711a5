import { Client, Connection } from '@temporalio/client';
import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { freePort } from '../helpers/servers';
import { uniqueName } from '../helpers/stack';

/**
 * Temporal unreachable (issue 7, scenario 5, the API's part): ingestion, the dashboard and the reads go on; what needs
 * workflows (acknowledge, resolve, a report) answers 503 with Retry-After within seconds instead of hanging. (The
 * worker's recovery after a restart — schedules catching up, no duplicate alert — is not covered yet: RELIABILITY.md.)
 */
describe('Temporal unreachable', () => {
  let api: TestApi;
  let connection: Connection;
  const service = uniqueName('temporal-outage');

  beforeAll(async () => {
    // A lazy client on a port nobody listens on, as the API builds its own (it starts while Temporal is down).
    connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    // Its own task queue: the rule it stores belongs to no other test's deployment.
    api = await startTestApi({ TEMPORAL_TASK_QUEUE: uniqueName('outage-queue') }, undefined, new Client({ connection }));
  });
  afterAll(async () => {
    await api?.close();
    await connection?.close().catch(() => undefined);
  });

  it('keeps ingesting and serving reads; workflow actions answer 503 with Retry-After', async () => {
    const pushed = await api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: { system_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: `${service}-1`, metrics: { cpu_usage_percent: 99 } } },
    });
    expect(pushed.statusCode).toBe(202);
    const stored = await (await api.clickhouse.query({ ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`, format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(stored[0]!.n)).toBe(1);
    expect((await api.app.inject({ url: '/api/v1/public/monitoring/dashboard', headers: bearer('admin') })).statusCode).toBe(200);
    expect((await api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('service') })).json()).toMatchObject({ status: 'critical' });

    for (const request of [
      { method: 'POST' as const, url: '/api/v1/alerts/alert_00000000deadbeef_1/ack', payload: {} },
      { method: 'POST' as const, url: '/api/v1/admin/monitoring/reports', payload: {} },
      { method: 'POST' as const, url: '/api/v1/admin/monitoring/silences', payload: { matchers: [{ name: 'service', value: service }], duration: '1h', comment: 'maintenance', created_by: 'ops' } },
    ]) {
      const started = Date.now();
      const response = await api.app.inject({ ...request, headers: bearer('admin') });
      expect({ url: request.url, status: response.statusCode }).toEqual({ url: request.url, status: 503 });
      expect(response.headers['retry-after']).toBeDefined();
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    // A rule edit is stored and answered in seconds; its schedule waits for the worker ('pending').
    const started = Date.now();
    const rule = await api.app.inject({ method: 'PUT', url: '/api/v1/admin/monitoring/alerts/rules/outage_rule', headers: bearer('admin'), payload: { group: uniqueName('outage').replaceAll('-', '_'), expression: 'cpu_usage_percent > 95', severity: 'critical' } });
    expect(rule.statusCode).toBe(200);
    expect(rule.json()).toMatchObject({ schedules: 'pending' });
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);
});
