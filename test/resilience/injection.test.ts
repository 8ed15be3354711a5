import { sql } from '../../core/escape';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * SQL-injection strings (issue 7, scenario 7) in every string field and path parameter: stored and answered
 * verbatim, and the tables are still there afterwards.
 */
const NASTY = ["x'; DROP TABLE performance_events; --", "a\\'b", 'back\\slash', "' OR 1=1 --", 'quote"double', 'tab\tnew\nline', '`tick`', 'ünïcødé ✓'];

describe('injection strings in fields and path parameters', () => {
  let api: TestApi;
  const tag = uniqueName('inj');
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  it('stores them verbatim as service, instance, label and event fields, and answers them verbatim by path and query', async () => {
    const services = NASTY.map((n) => `${tag} ${n}`);
    const samples = services.map((service, i) => ({ name: 'cpu_usage_percent', value: i, labels: { service, instance: `${service}#1`, note: NASTY[i]! } }));
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: bearer('service'), payload: { samples } })).statusCode).toBe(202);
    const events = services.map((service, i) => ({ event_type: 'trade', timestamp: new Date().toISOString(), service_name: service, user_id: NASTY[i], attributes: { strategy: NASTY[i], symbol: NASTY[i] } }));
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/events', headers: bearer('service'), payload: { events } })).statusCode).toBe(202);

    const stored = await (
      await api.clickhouse.query({
        ...sql`SELECT service_name, instance_id, labels['note'] AS note FROM performance_events WHERE startsWith(service_name, ${tag}) ORDER BY metric_value`,
        format: 'JSONEachRow',
      })
    ).json<{ service_name: string; instance_id: string; note: string }>();
    expect(stored).toEqual(services.map((service, i) => ({ service_name: service, instance_id: `${service}#1`, note: NASTY[i] })));
    const storedEvents = await (
      await api.clickhouse.query({ ...sql`SELECT user_id, attributes['strategy'] AS strategy FROM business_events WHERE startsWith(service_name, ${tag}) ORDER BY user_id`, format: 'JSONEachRow' })
    ).json<{ user_id: string; strategy: string }>();
    expect(storedEvents.map((e) => e.user_id).sort()).toEqual([...NASTY].sort());
    expect(storedEvents.every((e) => e.user_id === e.strategy)).toBe(true);

    for (const service of services) {
      // Path parameter: health answers the service by its name, verbatim.
      const health = await api.app.inject({ url: `/api/v1/internal/monitoring/health/${encodeURIComponent(service)}`, headers: bearer('admin') });
      expect(health.statusCode).toBe(200);
      expect(health.json().service_name).toBe(service);
      // Query parameter: the performance series of that service is read back.
      const series = await eventually(async () => {
        const response = await api.app.inject({ url: `/api/v1/public/monitoring/performance?service=${encodeURIComponent(service)}&metric=cpu_usage_percent&from=now-1h`, headers: bearer('admin') });
        expect(response.statusCode).toBe(200);
        expect(JSON.stringify(response.json())).toContain(JSON.stringify(service).slice(1, -1));
        return response.json();
      });
      expect(series).toBeDefined();
      // Alerts of a service by path, and a rule name that is not a name: answered, refused by validation, never a 500.
      expect((await api.app.inject({ url: `/api/v1/internal/monitoring/alerts/${encodeURIComponent(service)}`, headers: bearer('admin') })).statusCode).toBe(200);
    }
    expect((await api.app.inject({ method: 'DELETE', url: `/api/v1/admin/monitoring/alerts/rules/${encodeURIComponent(NASTY[0]!)}`, headers: bearer('admin') })).statusCode).toBe(400);
    // The tables are all still there.
    const tables = await (await api.clickhouse.query({ query: "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name IN ('performance_events', 'business_events', 'alert_history')", format: 'JSONEachRow' })).json<{ n: string }>();
    expect(Number(tables[0]!.n)).toBe(3);
  });
});
