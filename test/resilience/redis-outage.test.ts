import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { privateRedis, type PrivateRedis } from '../helpers/servers';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * Redis stopped (issue 7, scenario 4), a real server stopped and started again: ingestion into ClickHouse goes on
 * with nothing lost, health and the dashboard say the realtime cache is unavailable instead of failing, and once
 * Redis is back the next samples refill the cache.
 */
describe('Redis stopped under ingestion', () => {
  let redis: PrivateRedis;
  let api: TestApi;
  const service = uniqueName('redis-outage');
  let sent = 0;

  const push = async (value: number) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/v1/internal/monitoring/metrics',
      headers: bearer('service'),
      payload: { system_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: `${service}-1`, metrics: { cpu_usage_percent: value } } },
    });
    sent++;
    return response;
  };

  beforeAll(async () => {
    redis = await privateRedis();
    api = await startTestApi({ REDIS_URL: redis.url });
    await api.redis.connect().catch(() => undefined);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    redis?.dispose();
  });

  it('keeps ingesting, says the cache is unavailable, and refills it on recovery', async () => {
    expect((await push(40)).statusCode).toBe(202);
    const health = () => api.app.inject({ url: `/api/v1/internal/monitoring/health/${service}`, headers: bearer('service') });
    expect((await health()).json()).toMatchObject({ status: 'healthy' });

    redis.stop();
    const started = Date.now();
    // During the outage: every push is stored (202), each answered within the client's command timeout.
    for (let i = 0; i < 5; i++) {
      const response = await push(41 + i);
      expect(response.statusCode).toBe(202);
    }
    const outageMs = Date.now() - started;
    const during = await health();
    expect(during.statusCode).toBe(200);
    expect(during.json()).toMatchObject({ realtime_cache: 'unavailable' });
    const dashboard = await api.app.inject({ url: '/api/v1/public/monitoring/dashboard', headers: bearer('admin') });
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.json().dashboard_data.degraded).toContain('realtime_cache');

    redis.start();
    // Back: the client reconnects, the next sample refills the cache, health reads it again.
    await eventually(async () => {
      expect((await push(50)).statusCode).toBe(202);
      expect((await health()).json()).toMatchObject({ status: 'healthy', realtime_cache: expect.not.stringMatching('unavailable') });
    }, 30_000, 500);
    const stored = await (await api.clickhouse.query({ ...sql`SELECT count() AS n FROM performance_events WHERE service_name = ${service}`, format: 'JSONEachRow' })).json<{ n: string }>();
    // Nothing lost: every push's sample is in ClickHouse, including those of the outage.
    expect(Number(stored[0]!.n)).toBe(sent);
    console.log(`[redis-outage] ${sent} pushes, 5 during the outage (answered in ${outageMs} ms), ${stored[0]!.n} stored; cache refilled after restart`);
  }, 120_000);
});
