import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../store/clients';
import { applyMigrations } from '../../store/migrations';
import { sql, type BoundQuery } from '../../core/escape';
import { testConfig, uniqueName } from '../helpers/stack';

describe('ClickHouse migrations (db/)', () => {
  const database = uniqueName('mig').replaceAll('-', '_');
  const config = testConfig({ CLICKHOUSE_DATABASE: database });
  let server: ClickHouseClient;
  let clickhouse: ClickHouseClient;
  beforeAll(() => {
    server = createClickHouse(config, { withDatabase: false });
    clickhouse = createClickHouse(config);
  });
  afterAll(async () => {
    await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await Promise.all([server.close(), clickhouse.close()]);
  });

  const rows = async <T>(query: string | BoundQuery) => (await clickhouse.query({ ...(typeof query === 'string' ? { query } : query), format: 'JSONEachRow' })).json<T>();

  it('creates the seed tables and rollups on a fresh database, and a second run applies nothing', async () => {
    expect(await applyMigrations(server, database)).toEqual(['001_performance_events.sql', '002_alert_history.sql', '003_business_events.sql', '004_rollups.sql', '005_retention_log.sql', '006_performance_reports.sql', '007_capacity_forecasts.sql', '008_trend_analyses.sql', '009_config_objects.sql', '010_spans.sql', '011_collector_watermarks.sql']);
    expect(await applyMigrations(server, database)).toEqual([]);
    const tables = await rows<{ name: string; engine: string }>(sql`SELECT name, engine FROM system.tables WHERE database = ${database} ORDER BY name`);
    expect(tables).toEqual([
      { name: 'alert_history', engine: 'ReplacingMergeTree' },
      { name: 'business_events', engine: 'MergeTree' },
      { name: 'capacity_forecasts', engine: 'ReplacingMergeTree' },
      { name: 'collector_watermarks', engine: 'ReplacingMergeTree' },
      { name: 'config_objects', engine: 'ReplacingMergeTree' },
      { name: 'performance_events', engine: 'MergeTree' },
      { name: 'performance_reports', engine: 'ReplacingMergeTree' },
      { name: 'performance_rollup_1h', engine: 'AggregatingMergeTree' },
      { name: 'performance_rollup_1h_mv', engine: 'MaterializedView' },
      { name: 'performance_rollup_1m', engine: 'AggregatingMergeTree' },
      { name: 'performance_rollup_1m_mv', engine: 'MaterializedView' },
      { name: 'retention_log', engine: 'MergeTree' },
      { name: 'schema_migrations', engine: 'MergeTree' },
      { name: 'spans', engine: 'MergeTree' },
      { name: 'trend_analyses', engine: 'ReplacingMergeTree' },
    ]);
    const columns = await rows<{ name: string; type: string; compression_codec: string }>(
      sql`SELECT name, type, compression_codec FROM system.columns WHERE database = ${database} AND table = 'performance_events'`,
    );
    expect(columns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['timestamp', 'service_name', 'instance_id', 'event_type', 'metric_name', 'metric_value', 'labels', 'duration_ms', 'user_id', 'correlation_id', 'ingest_id', 'ingest_seq']),
    );
    const typeOf = (name: string) => columns.find((c) => c.name === name);
    expect(typeOf('timestamp')).toMatchObject({ type: "DateTime64(3, 'UTC')", compression_codec: 'CODEC(DoubleDelta, ZSTD(1))' });
    expect(typeOf('metric_value')).toMatchObject({ type: 'Float64', compression_codec: 'CODEC(Gorilla(8), ZSTD(1))' });
    expect(typeOf('service_name')?.type).toBe('LowCardinality(String)');
    expect(typeOf('labels')?.type).toBe('Map(LowCardinality(String), String)');
    const [created] = await rows<{ statement: string }>(`SHOW CREATE TABLE ${database}.performance_events`);
    expect(created?.statement).toMatch(/TTL toDateTime\(timestamp\) \+ toIntervalDay\(365\)/);
    expect(created?.statement).not.toMatch(/Nested/);
    const history = await rows<{ name: string }>(sql`SELECT name FROM system.columns WHERE database = ${database} AND table = 'alert_history'`);
    expect(history.map((c) => c.name)).toEqual(
      expect.arrayContaining(['alert_id', 'timestamp', 'service_name', 'severity', 'metric_name', 'threshold_value', 'actual_value', 'status', 'duration_minutes', 'acknowledged_by', 'resolution_notes']),
    );
  });

  it('ends in the same schema when two processes migrate a fresh database at once', async () => {
    const other = `${database}_twice`;
    try {
      const [a, b, c] = await Promise.all([applyMigrations(server, other), applyMigrations(server, other), applyMigrations(server, other)]);
      expect(a).toContain('008_trend_analyses.sql');
      expect(b).toContain('008_trend_analyses.sql');
      expect(c).toContain('008_trend_analyses.sql');
      const columns = await rows<{ name: string }>(sql`SELECT name FROM system.columns WHERE database = ${other} AND table = 'performance_events'`);
      expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['ingest_id', 'ingest_seq']));
    } finally {
      await server.command({ query: `DROP DATABASE IF EXISTS ${other}` });
    }
  });

  it('fills the 1-minute and 1-hour rollups as samples arrive', async () => {
    const base = Math.floor(Date.parse('2026-03-02T10:00:00Z') / 1000);
    const values = [10, 20, 30, 40];
    await clickhouse.insert({
      table: 'performance_events',
      format: 'JSONEachRow',
      values: values.map((v, i) => ({ timestamp: base + i * 20, service_name: 'svc', instance_id: 'i', event_type: 'metric', metric_name: 'cpu_usage_percent', metric_value: v })),
    });
    const minute = await rows<{ bucket: string; avg: number; min: number; max: number; n: number; last: number }>(
      `SELECT bucket, avgMerge(avg_value) AS avg, minMerge(min_value) AS min, maxMerge(max_value) AS max, countMerge(samples) AS n, argMaxMerge(last_value) AS last
       FROM performance_rollup_1m WHERE metric_name = 'cpu_usage_percent' AND service_name = 'svc' GROUP BY bucket ORDER BY bucket`,
    );
    expect(minute).toEqual([
      { bucket: '2026-03-02 10:00:00', avg: 20, min: 10, max: 30, n: 3, last: 30 },
      { bucket: '2026-03-02 10:01:00', avg: 40, min: 40, max: 40, n: 1, last: 40 },
    ]);
    const hour = await rows<{ avg: number; q: number[] }>(
      `SELECT avgMerge(avg_value) AS avg, quantilesMerge(0.5, 0.95, 0.99)(quantiles) AS q FROM performance_rollup_1h WHERE metric_name = 'cpu_usage_percent' AND service_name = 'svc'`,
    );
    expect(hour[0]?.avg).toBe(25);
    expect(hour[0]?.q).toHaveLength(3);
  });
});
