/**
 * Retention: every table deletes its own aged rows by a ClickHouse TTL (db/ migrations), detailed rows after
 * MONITORING_RETENTION_DAYS (365), aggregates and alert history after MONITORING_AGGREGATE_RETENTION_DAYS (3 years).
 * The daily retention job keeps each TTL in line with the configuration and audits what the TTLs removed, from the
 * server's own record of its TTL merges (system.part_log), into retention_log. This file holds the pure parts: the
 * policies, the TTL clause of each, and the arithmetic of an audit.
 */

/** RetentionPolicy says how long a table keeps rows and which of its columns (as DateTime or Date) ages them. */
export interface RetentionPolicy {
  table: string;
  keepDays: number;
  ttlColumn: string;
}

/** ExpiredPartition is what a table's TTL removed from one partition since the last audit, and why. */
export interface ExpiredPartition {
  table: string;
  partitionId: string;
  rows: number;
  bytes: number;
  reason: string;
}

/** retentionPolicies lists every table with rows that age out, for the configured detailed and aggregate limits. */
export function retentionPolicies(detailedDays: number, aggregateDays: number): RetentionPolicy[] {
  return [
    { table: 'performance_events', keepDays: detailedDays, ttlColumn: 'toDateTime(timestamp)' },
    { table: 'business_events', keepDays: detailedDays, ttlColumn: 'toDateTime(timestamp)' },
    { table: 'spans', keepDays: detailedDays, ttlColumn: 'toDateTime(start_time)' },
    { table: 'performance_rollup_1m', keepDays: aggregateDays, ttlColumn: 'bucket' },
    { table: 'performance_rollup_1h', keepDays: aggregateDays, ttlColumn: 'bucket' },
    { table: 'alert_history', keepDays: aggregateDays, ttlColumn: 'toDateTime(timestamp)' },
    { table: 'retention_log', keepDays: aggregateDays, ttlColumn: 'toDateTime(timestamp)' },
    // The analytics jobs' results are aggregates too.
    { table: 'capacity_forecasts', keepDays: aggregateDays, ttlColumn: 'plan_date' },
    { table: 'trend_analyses', keepDays: aggregateDays, ttlColumn: 'analyzed_hour' },
    { table: 'performance_reports', keepDays: aggregateDays, ttlColumn: 'range_end' },
  ];
}

/** ttlClause is a policy's TTL expression, as MODIFY TTL takes it (the days a whole number, checked here). */
export function ttlClause(policy: RetentionPolicy): string {
  if (!Number.isSafeInteger(policy.keepDays) || policy.keepDays < 1) throw new Error(`${policy.table}: retention days must be a whole number >= 1`);
  return `${policy.ttlColumn} + INTERVAL ${policy.keepDays} DAY`;
}

/** ttlMatches says whether a table's engine description (system.tables.engine_full) already has the policy's TTL. */
export function ttlMatches(engineFull: string, policy: RetentionPolicy): boolean {
  const ttl = /\bTTL\s+(.+?)(?:\s+SETTINGS\s|$)/is.exec(engineFull)?.[1];
  return ttl !== undefined && new RegExp(`\\+\\s*(?:toIntervalDay\\(${policy.keepDays}\\)|INTERVAL\\s+${policy.keepDays}\\s+DAY)\\s*$`, 'i').test(ttl.trim());
}

/** TtlMerge is one merge the server made to apply a TTL (system.part_log), with the parts it read. */
export interface TtlMerge {
  table: string;
  partitionId: string;
  /** Rows and bytes of the part it wrote (0 when it dropped whole parts). */
  rows: number;
  bytes: number;
  mergedFrom: string[];
}

/** PartSize is the rows and bytes of a part when it was written (a NewPart or an earlier merge in part_log). */
export type PartSize = { rows: number; bytes: number };

/**
 * expiredByTtl sums, per table and partition, what the TTL merges removed: the rows and bytes of the parts each merge
 * read, less what it wrote. A merge whose source parts the log no longer knows counts what it knows (never below 0).
 */
export function expiredByTtl(merges: readonly TtlMerge[], parts: ReadonlyMap<string, PartSize>, policies: readonly RetentionPolicy[]): ExpiredPartition[] {
  const keep = new Map(policies.map((p) => [p.table, p.keepDays]));
  const out = new Map<string, ExpiredPartition>();
  for (const merge of merges) {
    const days = keep.get(merge.table);
    if (days === undefined) continue;
    let rows = 0;
    let bytes = 0;
    for (const name of merge.mergedFrom) {
      const part = parts.get(`${merge.table}/${name}`);
      rows += part?.rows ?? 0;
      bytes += part?.bytes ?? 0;
    }
    const key = `${merge.table}/${merge.partitionId}`;
    const entry = out.get(key) ?? { table: merge.table, partitionId: merge.partitionId, rows: 0, bytes: 0, reason: `TTL: rows older than ${days} days` };
    entry.rows += Math.max(0, rows - merge.rows);
    entry.bytes += Math.max(0, bytes - merge.bytes);
    out.set(key, entry);
  }
  return [...out.values()].filter((e) => e.rows > 0).sort((a, b) => `${a.table}/${a.partitionId}`.localeCompare(`${b.table}/${b.partitionId}`));
}
