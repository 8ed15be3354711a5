import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { localTable, partsSql } from '../core/cluster-ddl';
import type { HistoryRow } from '../core/alert';
import { sqlIdentifier, sqlNumber, sqlString, sqlStringArray } from '../core/escape';
import type { ExpiredPartition, PartitionInfo } from '../core/retention';
import type { BusinessEvent } from '../core/events';
import { ruleGroupSql, type EvaluationWindow, type SeriesValue } from '../core/rule-sql';
import type { Rule } from '../core/rules';
import type { Labels } from '../core/types';

/** ClickHouseDeps are what the ClickHouse activities need. */
export interface ClickHouseDeps {
  clickhouse: ClickHouseClient;
  database: string;
  /** CLICKHOUSE_CLUSTER and every shard's URL: retention reads and drops partitions on each shard. */
  cluster?: { name: string; shardUrls: string[] };
}

function nested(labels: Labels): { keys: string[]; values: string[] } {
  const keys = Object.keys(labels).sort();
  return { keys, values: keys.map((k) => labels[k]!) };
}

/**
 * queryRuleGroup evaluates a group's rules in one query and returns each rule's series, in the order of `rules`:
 * all of them for the rules flagged in `allSeries` (default: every rule), only the breaching ones for the others.
 * A big group is a long UNION ALL, so the query allows for its size; the server still reads each metric's key
 * range once per rule that selects it.
 */
export async function queryRuleGroup(
  clickhouse: ClickHouseClient,
  rules: readonly Rule[],
  window: EvaluationWindow,
  allSeries: readonly boolean[] = rules.map(() => true),
): Promise<SeriesValue[][]> {
  const out: SeriesValue[][] = rules.map(() => []);
  if (rules.length === 0) return out;
  const query = ruleGroupSql(rules, window, allSeries);
  const result = await clickhouse.query({
    query,
    format: 'JSONEachRow',
    clickhouse_settings: { max_query_size: String(Math.max(262_144, query.length + 1024)), max_ast_elements: '5000000', max_expanded_ast_elements: '5000000' },
  });
  const rows = await result.json<{ rule: number; service: string; instance: string; label_keys: string[]; label_values: string[]; value: number }>();
  for (const row of rows) {
    out[Number(row.rule)]?.push({
      service: row.service,
      instance: row.instance,
      labels: Object.fromEntries(row.label_keys.map((k, i) => [k, row.label_values[i] ?? ''])),
      value: Number(row.value),
    });
  }
  return out;
}

/** createClickHouseActivities builds the activities that read and write ClickHouse. */
export function createClickHouseActivities({ clickhouse, database, cluster }: ClickHouseDeps) {
  const db = sqlIdentifier(database);
  return {
    /** insertEvents stores business events; each carries its event_id, so a replayed insert is recognisable. */
    async insertEvents(events: BusinessEvent[]): Promise<number> {
      if (events.length === 0) return 0;
      await clickhouse.insert({
        table: `${db}.business_events`,
        format: 'JSONEachRow',
        values: events.map((e) => {
          const { keys, values } = nested(e.attributes);
          return {
            event_id: e.eventId,
            timestamp: Math.floor(e.timestampMs / 1000),
            timestamp_ms: e.timestampMs % 1000,
            event_type: e.eventType,
            service_name: e.service,
            user_id: e.userId,
            correlation_id: e.correlationId,
            'attributes.key': keys,
            'attributes.value': values,
            value: e.value,
          };
        }),
      });
      return events.length;
    },

    /**
     * storedIngestSeqs lists the positions of the samples already stored under a keyed request's ingest id, read
     * between the request's earliest and latest sample second (the partition and key range a retry looks in).
     */
    async storedIngestSeqs(ingestId: string, fromSecond: number, toSecond: number): Promise<Set<number>> {
      const result = await clickhouse.query({
        query: `SELECT DISTINCT ingest_seq AS seq FROM ${db}.performance_events
          WHERE timestamp >= toDateTime(${sqlNumber(fromSecond)}) AND timestamp <= toDateTime(${sqlNumber(toSecond)}) AND ingest_id = ${sqlString(ingestId)}`,
        format: 'JSONEachRow',
      });
      return new Set((await result.json<{ seq: number }>()).map((r) => Number(r.seq)));
    },

    /** storedEventIds says which of the given event ids are already stored between two seconds. */
    async storedEventIds(eventIds: readonly string[], fromSecond: number, toSecond: number): Promise<Set<string>> {
      if (eventIds.length === 0) return new Set();
      const result = await clickhouse.query({
        query: `SELECT DISTINCT event_id FROM ${db}.business_events
          WHERE timestamp >= toDateTime(${sqlNumber(fromSecond)}) AND timestamp <= toDateTime(${sqlNumber(toSecond)}) AND has(${sqlStringArray(eventIds)}, event_id)`,
        format: 'JSONEachRow',
        clickhouse_settings: { max_query_size: String(262_144 + eventIds.length * 80) },
      });
      return new Set((await result.json<{ event_id: string }>()).map((r) => r.event_id));
    },

    /** listPartitions reports every active partition of the module's tables with its rows and bytes (on a cluster, all shards'). */
    async listPartitions(): Promise<PartitionInfo[]> {
      const result = await clickhouse.query({ query: partsSql(database, cluster?.name, true), format: 'JSONEachRow' });
      const rows = await result.json<{ name: string; partition_id: string; rows: string; bytes: string }>();
      return rows.map((r) => ({ table: r.name, partitionId: r.partition_id, rows: Number(r.rows), bytes: Number(r.bytes) }));
    },

    /**
     * dropPartition drops one partition (on a cluster, the `_local` table's on every shard) and logs it in
     * retention_log; dropping a partition already gone is a no-op.
     */
    async dropPartition(partition: ExpiredPartition, workflowId: string): Promise<void> {
      const drop = (table: string) => `ALTER TABLE ${db}.${sqlIdentifier(table)} DROP PARTITION ID ${sqlString(partition.partitionId)}`;
      if (cluster) {
        for (const url of cluster.shardUrls) {
          const shard = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
          try {
            await shard.command({ query: drop(localTable(partition.table)) });
          } finally {
            await shard.close();
          }
        }
      } else {
        await clickhouse.command({ query: drop(partition.table) });
      }
      await clickhouse.insert({
        table: `${db}.retention_log`,
        format: 'JSONEachRow',
        values: [
          {
            timestamp: Math.floor(Date.now() / 1000),
            table_name: partition.table,
            partition_id: partition.partitionId,
            rows: partition.rows,
            bytes: partition.bytes,
            reason: partition.reason,
            workflow_id: workflowId,
          },
        ],
      });
    },

    /** recordAlertTransition writes one alert_history row; a retried call writes an identical row that the table collapses. */
    async recordAlertTransition(row: HistoryRow): Promise<void> {
      const { keys, values } = nested(row.labels);
      const { timestampMs, labels: _labels, ...columns } = row;
      await clickhouse.insert({
        table: `${db}.alert_history`,
        values: [
          {
            ...columns,
            timestamp: Math.floor(timestampMs / 1000),
            timestamp_ms: timestampMs % 1000,
            'labels.key': keys,
            'labels.value': values,
          },
        ],
        format: 'JSONEachRow',
      });
    },
  };
}
