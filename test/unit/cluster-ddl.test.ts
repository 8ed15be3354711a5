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
      "CREATE TABLE IF NOT EXISTS ${db}.alert_history AS ${db}.alert_history_local ENGINE = Distributed(pm, 'monitoring', 'alert_history_local', cityHash64(service_name, alert_id))",
    );
    expect(clusterStatements('CREATE TABLE IF NOT EXISTS ${db}.r (id String) ENGINE = MergeTree() ORDER BY report_id', 'pm', 'm')[1]).toContain('cityHash64(report_id)');
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
    expect(partsSql('m', undefined, true)).toContain('FROM system.parts WHERE database = ');
    const sql = partsSql('m', 'pm', false);
    expect(sql).toContain('FROM cluster(');
    expect(sql).toContain("endsWith(table, '_local')");
    expect(sql).toContain('GROUP BY name ORDER BY name');
  });
});
