import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../activities/clients';
import { applyMigrations } from '../../activities/migrations';
import { sqlString } from '../../core/escape';
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

  const rows = async <T>(query: string) => (await clickhouse.query({ query, format: 'JSONEachRow' })).json<T>();

  it('creates the seed tables and rollups on a fresh database, and a second run applies nothing', async () => {
    expect(await applyMigrations(server, database)).toEqual(['001_performance_events.sql', '002_alert_history.sql', '003_business_events.sql', '004_rollups.sql', '005_retention_log.sql', '006_performance_reports.sql', '007_capacity_forecasts.sql', '008_trend_analyses.sql', '009_ingest_id.sql']);
    expect(await applyMigrations(server, database)).toEqual([]);
    const tables = await rows<{ name: string; engine: string }>(`SELECT name, engine FROM system.tables WHERE database = ${sqlString(database)} ORDER BY name`);
    expect(tables).toEqual([
      { name: 'alert_history', engine: 'ReplacingMergeTree' },
      { name: 'business_events', engine: 'MergeTree' },
      { name: 'capacity_forecasts', engine: 'ReplacingMergeTree' },
      { name: 'performance_events', engine: 'MergeTree' },
      { name: 'performance_reports', engine: 'ReplacingMergeTree' },
      { name: 'performance_rollup_1h', engine: 'AggregatingMergeTree' },
      { name: 'performance_rollup_1h_mv', engine: 'MaterializedView' },
      { name: 'performance_rollup_1m', engine: 'AggregatingMergeTree' },
      { name: 'performance_rollup_1m_mv', engine: 'MaterializedView' },
      { name: 'retention_log', engine: 'MergeTree' },
      { name: 'schema_migrations', engine: 'MergeTree' },
      { name: 'trend_analyses', engine: 'ReplacingMergeTree' },
    ]);
    const columns = await rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = ${sqlString(database)} AND table = 'performance_events'`);
    expect(columns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['timestamp', 'timestamp_ms', 'service_name', 'instance_id', 'event_type', 'metric_name', 'metric_value', 'labels.key', 'labels.value', 'duration_ms', 'user_id', 'correlation_id', 'ingest_id', 'ingest_seq']),
    );
    const history = await rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = ${sqlString(database)} AND table = 'alert_history'`);
    expect(history.map((c) => c.name)).toEqual(
      expect.arrayContaining(['alert_id', 'timestamp', 'service_name', 'severity', 'metric_name', 'threshold_value', 'actual_value', 'status', 'duration_minutes', 'acknowledged_by', 'resolution_notes']),
    );
  });

  it('ends in the same schema when two processes migrate a fresh database at once (ADD COLUMN has no IF NOT EXISTS on 18.16)', async () => {
    const other = `${database}_twice`;
    try {
      const [a, b, c] = await Promise.all([applyMigrations(server, other), applyMigrations(server, other), applyMigrations(server, other)]);
      expect(a).toContain('009_ingest_id.sql');
      expect(b).toContain('009_ingest_id.sql');
      expect(c).toContain('009_ingest_id.sql');
      const columns = await rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = ${sqlString(other)} AND table = 'performance_events'`);
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
      values: values.map((v, i) => ({ timestamp: base + i * 20, timestamp_ms: 0, service_name: 'svc', instance_id: 'i', event_type: 'metric', metric_name: 'cpu_usage_percent', metric_value: v })),
    });
    const minute = await rows<{ bucket: string; avg: number; min: number; max: number; n: string; last: number }>(
      `SELECT bucket, avgMerge(avg_value) AS avg, minMerge(min_value) AS min, maxMerge(max_value) AS max, countMerge(samples) AS n, argMaxMerge(last_value) AS last
       FROM performance_rollup_1m WHERE metric_name = 'cpu_usage_percent' AND service_name = 'svc' GROUP BY bucket ORDER BY bucket`,
    );
    expect(minute).toEqual([
      { bucket: '2026-03-02 10:00:00', avg: 20, min: 10, max: 30, n: '3', last: 30 },
      { bucket: '2026-03-02 10:01:00', avg: 40, min: 40, max: 40, n: '1', last: 40 },
    ]);
    const hour = await rows<{ avg: number; q: number[] }>(
      `SELECT avgMerge(avg_value) AS avg, quantilesMerge(0.5, 0.95, 0.99)(quantiles) AS q FROM performance_rollup_1h WHERE metric_name = 'cpu_usage_percent' AND service_name = 'svc'`,
    );
    expect(hour[0]?.avg).toBe(25);
    expect(hour[0]?.q).toHaveLength(3);
  });
});
