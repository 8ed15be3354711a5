import { expiredByTtl, retentionPolicies, ttlClause, ttlMatches } from '../../core/retention';

describe('retention by TTL', () => {
  const policies = retentionPolicies(365, 1095);
  const events = policies.find((p) => p.table === 'performance_events')!;
  const hourly = policies.find((p) => p.table === 'performance_rollup_1h')!;

  it('writes each table\'s TTL from the configured days: detailed tables 365, aggregates 3 years', () => {
    expect(ttlClause(events)).toBe('toDateTime(timestamp) + INTERVAL 365 DAY');
    expect(ttlClause(hourly)).toBe('bucket + INTERVAL 1095 DAY');
    expect(() => ttlClause({ ...events, keepDays: 1.5 })).toThrow('whole number');
  });

  it('recognises a TTL already in place, as the server prints it, and a different one', () => {
    const engine = "MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (metric_name, service_name, instance_id, timestamp) TTL toDateTime(timestamp) + toIntervalDay(365) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";
    expect(ttlMatches(engine, events)).toBe(true);
    expect(ttlMatches(engine.replace('365', '400'), events)).toBe(false);
    expect(ttlMatches(engine.replace('(365)', '(3650)'), events)).toBe(false);
    expect(ttlMatches('MergeTree ORDER BY x', events)).toBe(false);
  });

  it('counts what TTL merges removed: the rows of the parts read less the rows written, per table and partition', () => {
    const parts = new Map([
      ['performance_events/202510_1_1_0', { rows: 100, bytes: 4000 }],
      ['performance_events/202510_2_2_0', { rows: 50, bytes: 2000 }],
      ['performance_events/202511_3_3_0', { rows: 80, bytes: 3000 }],
    ]);
    const expired = expiredByTtl(
      [
        // Whole parts dropped (ttl_only_drop_parts): an empty part written.
        { table: 'performance_events', partitionId: '202510', rows: 0, bytes: 120, mergedFrom: ['202510_1_1_0', '202510_2_2_0'] },
        // A row-level TTL delete that kept 30 of 80 rows.
        { table: 'performance_events', partitionId: '202511', rows: 30, bytes: 1100, mergedFrom: ['202511_3_3_0'] },
        // A merge of a table without a policy, and one whose sources the log no longer knows.
        { table: 'schema_migrations', partitionId: 'all', rows: 0, bytes: 0, mergedFrom: ['all_1_1_0'] },
        { table: 'performance_events', partitionId: '202509', rows: 0, bytes: 0, mergedFrom: ['202509_9_9_0'] },
      ],
      parts,
      policies,
    );
    expect(expired).toEqual([
      { table: 'performance_events', partitionId: '202510', rows: 150, bytes: 5880, reason: 'TTL: rows older than 365 days' },
      { table: 'performance_events', partitionId: '202511', rows: 50, bytes: 1900, reason: 'TTL: rows older than 365 days' },
    ]);
  });
});
