import { expiredPartitions, partitionEndMs, retentionPolicies } from '../../core/retention';

describe('expiredPartitions', () => {
  const now = Date.parse('2026-11-28T12:00:00Z');
  const policies = retentionPolicies(365, 1095);
  const part = (table: string, partitionId: string) => ({ table, partitionId, rows: 10, bytes: 100 });

  it('drops a detailed month only once all of it is older than 365 days, aggregates after 3 years', () => {
    const expired = expiredPartitions(
      [
        part('performance_events', '202510'), // ended 2025-11-01, before the 2025-11-28 cut-off
        part('performance_events', '202511'), // ends 2025-12-01: some rows still within a year
        part('performance_rollup_1m', '202510'),
        part('performance_rollup_1m', '202310'),
        part('performance_rollup_1h', '2023'), // ends 2024-01-01, after the 2023-11-29 cut-off
        part('performance_rollup_1h', '2022'),
        part('unknown_table', '200001'),
        part('performance_events', 'tuple()'),
      ],
      policies,
      now,
    );
    expect(expired.map((p) => `${p.table}/${p.partitionId}`)).toEqual(['performance_events/202510', 'performance_rollup_1m/202310', 'performance_rollup_1h/2022']);
    expect(expired[0]?.reason).toBe('all rows older than 365 days (cut-off 2025-11-28)');
  });

  it('reads YYYYMM and YYYY partition ids as the end of their period', () => {
    expect(partitionEndMs('202412', 'month')).toBe(Date.UTC(2025, 0, 1));
    expect(partitionEndMs('2024', 'year')).toBe(Date.UTC(2025, 0, 1));
    expect(partitionEndMs('202413', 'month')).toBeUndefined();
  });
});
