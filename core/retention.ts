/**
 * Retention: which monthly (or yearly) partitions have aged out. Detailed rows are kept MONITORING_RETENTION_DAYS
 * (365), aggregates and alert history MONITORING_AGGREGATE_RETENTION_DAYS (3 years); a partition goes only when
 * every row in it is older than its table's limit, i.e. when the period it covers ended before the cut-off.
 */

/** RetentionPolicy says how long a table keeps rows and how its partitions are cut. */
export interface RetentionPolicy {
  table: string;
  keepDays: number;
  /** How the table is partitioned: toYYYYMM (month) or toYear (year). */
  period: 'month' | 'year';
}

/** PartitionInfo is one active partition of a table, as system.parts reports it. */
export interface PartitionInfo {
  table: string;
  partitionId: string;
  rows: number;
  bytes: number;
}

/** ExpiredPartition is a partition to drop and why. */
export interface ExpiredPartition extends PartitionInfo {
  reason: string;
}

const DAY_MS = 86_400_000;

/** retentionPolicies lists every table with rows that age out, for the configured detailed and aggregate limits. */
export function retentionPolicies(detailedDays: number, aggregateDays: number): RetentionPolicy[] {
  return [
    { table: 'performance_events', keepDays: detailedDays, period: 'month' },
    { table: 'business_events', keepDays: detailedDays, period: 'month' },
    { table: 'performance_rollup_1m', keepDays: aggregateDays, period: 'month' },
    { table: 'performance_rollup_1h', keepDays: aggregateDays, period: 'year' },
    { table: 'alert_history', keepDays: aggregateDays, period: 'month' },
    { table: 'retention_log', keepDays: aggregateDays, period: 'month' },
    // The analytics jobs' results are aggregates too.
    { table: 'capacity_forecasts', keepDays: aggregateDays, period: 'month' },
    { table: 'trend_analyses', keepDays: aggregateDays, period: 'month' },
  ];
}

/** partitionEndMs is the first instant after the period a partition id (YYYYMM or YYYY) covers, or undefined if it is not one. */
export function partitionEndMs(partitionId: string, period: RetentionPolicy['period']): number | undefined {
  if (period === 'month') {
    const match = /^(\d{4})(\d{2})$/.exec(partitionId);
    if (!match) return undefined;
    const month = Number(match[2]);
    if (month < 1 || month > 12) return undefined;
    return Date.UTC(Number(match[1]), month, 1);
  }
  return /^\d{4}$/.test(partitionId) ? Date.UTC(Number(partitionId) + 1, 0, 1) : undefined;
}

/** expiredPartitions picks the partitions whose whole period ended before their table's cut-off at `nowMs`. */
export function expiredPartitions(partitions: readonly PartitionInfo[], policies: readonly RetentionPolicy[], nowMs: number): ExpiredPartition[] {
  const byTable = new Map(policies.map((p) => [p.table, p]));
  const out: ExpiredPartition[] = [];
  for (const partition of partitions) {
    const policy = byTable.get(partition.table);
    if (!policy) continue;
    const end = partitionEndMs(partition.partitionId, policy.period);
    const cutoff = nowMs - policy.keepDays * DAY_MS;
    if (end !== undefined && end <= cutoff) {
      out.push({ ...partition, reason: `all rows older than ${policy.keepDays} days (cut-off ${new Date(cutoff).toISOString().slice(0, 10)})` });
    }
  }
  return out;
}
