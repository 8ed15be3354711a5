import { ClusterStatementError, clusterStatements, partsSql } from '../../core/cluster-ddl';

describe('clusterStatements: a migration statement as a shard of a cluster runs it', () => {
  it('makes a table <name>_local plus a Distributed <name> sharded by its sorting key', () => {
    const [local, distributed] = clusterStatements(
      'CREATE TABLE IF NOT EXISTS ${db}.alert_history (\n  alert_id String,\n  status String\n) ENGINE = ReplacingMergeTree()\nPARTITION BY toYYYYMM(timestamp)\nORDER BY (service_name, alert_id)',
      'pm',
      'monitoring',
    );
    expect(local).toMatch(/^CREATE TABLE IF NOT EXISTS \$\{db\}\.alert_history_local \(/);
    expect(local).toContain('ENGINE = ReplacingMergeTree()');
    expect(distributed).toBe(
      "CREATE TABLE IF NOT EXISTS ${db}.alert_history AS ${db}.alert_history_local ENGINE = Distributed(`pm`, `monitoring`, `alert_history_local`, cityHash64(service_name, alert_id))",
    );
    expect(clusterStatements('CREATE TABLE IF NOT EXISTS ${db}.r (id String) ENGINE = MergeTree() ORDER BY report_id', 'pm', 'm')[1]).toContain('cityHash64(report_id)');
    // A sorting key with a call in it (the rollups key their label set by its hash).
    expect(clusterStatements('CREATE TABLE IF NOT EXISTS ${db}.r (m String) ENGINE = AggregatingMergeTree() ORDER BY (m, bucket, cityHash64(labels))\nTTL bucket + INTERVAL 3 DAY', 'pm', 'm')[1]).toContain(
      'cityHash64(m, bucket, cityHash64(labels)))',
    );
  });

  it('points a materialized view at the local tables and applies ALTER to both tables', () => {
    const [view] = clusterStatements(
      'CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.rollup_mv TO ${db}.rollup AS\nSELECT metric_name, countState() AS samples\nFROM ${db}.performance_events\nGROUP BY metric_name',
      'pm',
      'm',
    );
    expect(view).toContain('TO ${db}.rollup_local AS');
    expect(view).toContain('FROM ${db}.performance_events_local\n');
    expect(clusterStatements('ALTER TABLE ${db}.performance_events ADD COLUMN ingest_id String', 'pm', 'm')).toEqual([
      'ALTER TABLE ${db}.performance_events_local ADD COLUMN ingest_id String',
      'ALTER TABLE ${db}.performance_events ADD COLUMN ingest_id String',
    ]);
  });

  it('refuses a statement it has no cluster form for, naming it', () => {
    expect(() => clusterStatements('DROP TABLE ${db}.x', 'pm', 'm')).toThrow(ClusterStatementError);
    expect(() => clusterStatements('CREATE TABLE IF NOT EXISTS ${db}.x (a UInt8) ENGINE = Log', 'pm', 'm')).toThrow('no ORDER BY');
  });

  it('reads parts from system.parts, or from every shard under the plain names', () => {
    const local = partsSql('m', undefined, true);
    expect(local.query).toContain('FROM system.parts WHERE database = {p0:String}');
    expect(local.query_params).toEqual({ p0: 'm' });
    const sql = partsSql('m', 'pm', false).query;
    expect(sql).toContain('FROM cluster(');
    expect(sql).toContain("endsWith(table, '_local')");
    expect(sql).toContain('GROUP BY name ORDER BY name');
  });
});
