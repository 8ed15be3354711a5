import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { localTable } from '../core/cluster-ddl';
import type { HistoryRow } from '../core/alert';
import { QueryParams, dateTime64Text, sqlIdentifier } from '../core/escape';
import { expiredByTtl, ttlClause, ttlMatches, type ExpiredPartition, type PartSize, type RetentionPolicy, type TtlMerge } from '../core/retention';
import type { BusinessEvent } from '../core/events';
import { groupUnits, scanSeries, scanSql, unitSql, type EvaluationWindow, type GroupUnit, type SeriesValue } from '../core/rule-sql';
import type { Rule } from '../core/rules';
import type { Labels } from '../core/types';
import { evaluatePromqlRules } from './prom-query';

/** ClickHouseDeps are what the ClickHouse activities need. */
export interface ClickHouseDeps {
  clickhouse: ClickHouseClient;
  database: string;
  /** CLICKHOUSE_CLUSTER and every shard's URL: retention reads and drops partitions on each shard. */
  cluster?: { name: string; shardUrls: string[] };
}

/** sortedMap is a label map with its keys in order, as every writer stores labels (a series' identity). */
function sortedMap(labels: Labels): Labels {
  return Object.fromEntries(Object.keys(labels).sort().map((k) => [k, labels[k]!]));
}

/**
 * EXPRESSIONS_PER_QUERY bounds one evaluation query: a group's units (core/rule-sql.ts groupUnits: an expression
 * and its rules, or a scan several expressions share) go to ClickHouse in queries of at most this many. A group of a thousand distinct rules as one UNION
 * ALL was refused by ClickHouse 26 ("Too many optimizations applied to query plan", its limit 10,000) and, over the
 * production profile's Distributed tables, ran out of query memory; in chunks it is neither, and the chunks run
 * side by side.
 */
export const EXPRESSIONS_PER_QUERY = 50;
const QUERIES_IN_FLIGHT = 4;

/** inFlight runs `run` over `items`, at most `limit` at a time (a query pool), and settles when all have. */
export async function inFlight<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * queryRuleGroup evaluates a group's rules and returns each rule's series, in the order of `rules`: all of them for
 * the rules flagged in `allSeries` (default: every rule), only the breaching ones for the others. One query per
 * EXPRESSIONS_PER_QUERY units, QUERIES_IN_FLIGHT at a time; the server reads a metric's key range once per unit that
 * selects it.
 */
export async function queryRuleGroup(
  clickhouse: ClickHouseClient,
  rules: readonly Rule[],
  window: EvaluationWindow,
  allSeries: readonly boolean[] = rules.map(() => true),
): Promise<SeriesValue[][]> {
  const out: SeriesValue[][] = rules.map(() => []);
  if (rules.length === 0) return out;
  // Rules in full PromQL are evaluated in memory on their selectors' points; the rest compile to SQL together.
  if (rules.some((r) => r.promql)) {
    const promqlIndices = rules.flatMap((r, i) => (r.promql ? [i] : []));
    const sqlIndices = rules.flatMap((r, i) => (r.promql ? [] : [i]));
    const [promql, sql] = await Promise.all([
      evaluatePromqlRules(clickhouse, promqlIndices.map((i) => rules[i]!), window, (err) => console.error(`[rules] ${err.message}`)),
      queryRuleGroup(clickhouse, sqlIndices.map((i) => rules[i]!), window, sqlIndices.map((i) => allSeries[i]!)),
    ]);
    promqlIndices.forEach((ruleIndex, k) => (out[ruleIndex] = promql[k]!));
    sqlIndices.forEach((ruleIndex, k) => (out[ruleIndex] = sql[k]!));
    return out;
  }
  const units = groupUnits(rules);
  type Job = { kind: 'expressions'; units: Array<Extract<GroupUnit, { kind: 'expression' }>> } | { kind: 'scan'; unit: Extract<GroupUnit, { kind: 'scan' }> };
  const expressions = units.filter((u): u is Extract<GroupUnit, { kind: 'expression' }> => u.kind === 'expression');
  const chunks: Job[] = units.filter((u): u is Extract<GroupUnit, { kind: 'scan' }> => u.kind === 'scan').map((unit) => ({ kind: 'scan', unit }));
  for (let k = 0; k < expressions.length; k += EXPRESSIONS_PER_QUERY) chunks.push({ kind: 'expressions', units: expressions.slice(k, k + EXPRESSIONS_PER_QUERY) });
  const push = (index: number, row: { service: string; instance: string; label_keys: string[]; label_values: string[] }, value: number) =>
    out[index]?.push({ service: row.service, instance: row.instance, labels: Object.fromEntries(row.label_keys.map((k, i) => [k, row.label_values[i] ?? ''])), value });
  await inFlight(chunks, QUERIES_IN_FLIGHT, async (job) => {
    const params = new QueryParams();
    const query = job.kind === 'scan' ? scanSql(job.unit, rules, window, params, allSeries) : job.units.map((unit) => unitSql(unit, rules, window, params, allSeries)).join('\nUNION ALL\n');
    const result = await clickhouse.query({
      query,
      query_params: params.values,
      format: 'JSONEachRow',
      clickhouse_settings: { max_query_size: String(Math.max(262_144, query.length + 1024)), max_ast_elements: '5000000', max_expanded_ast_elements: '5000000' },
    });
    type Row = { rule: number; service: string; instance: string; label_keys: string[]; label_values: string[]; value: number } & Record<string, unknown>;
    const rows = await result.json<Row>();
    if (job.kind === 'scan') for (const [index, series] of scanSeries(job.unit, rules, window, rows, allSeries)) out[index]?.push({ ...series });
    else for (const row of rows) push(Number(row.rule), row, Number(row.value));
  });
  return out;
}

/**
 * ttlMergesOf reads one server's TTL merges of `database` logged in (sinceMs, untilMs] and the sizes of the parts
 * they read, or undefined when the server keeps no part log. Tables of a shard (`_local`) are named as the plain ones.
 */
async function ttlMergesOf(server: ClickHouseClient, database: string, sinceMs: number, untilMs: number, sharded: boolean): Promise<{ merges: TtlMerge[]; parts: Map<string, PartSize> } | undefined> {
  try {
    await server.command({ query: 'SYSTEM FLUSH LOGS' });
    const name = sharded ? "replaceRegexpOne(table, '_local$', '')" : 'table';
    const merges = await (
      await server.query({
        query: `SELECT ${name} AS t, partition_id, rows, size_in_bytes AS bytes, merged_from FROM system.part_log
          WHERE database = {db:String} AND event_type = 'MergeParts' AND merge_reason IN ('TTLDeleteMerge', 'TTLDropMerge')
            AND event_time_microseconds > fromUnixTimestamp64Milli({since:Int64}) AND event_time_microseconds <= fromUnixTimestamp64Milli({until:Int64})`,
        query_params: { db: database, since: sinceMs, until: untilMs },
        format: 'JSONEachRow',
      })
    ).json<{ t: string; partition_id: string; rows: number | string; bytes: number | string; merged_from: string[] }>();
    const sources = [...new Set(merges.flatMap((m) => m.merged_from))];
    const parts = new Map<string, PartSize>();
    if (sources.length > 0) {
      const found = await (
        await server.query({
          query: `SELECT ${name} AS t, part_name, argMax(rows, event_time_microseconds) AS rows, argMax(size_in_bytes, event_time_microseconds) AS bytes
            FROM system.part_log WHERE database = {db:String} AND part_name IN {names:Array(String)} AND event_type IN ('NewPart', 'MergeParts', 'MutatePart', 'DownloadPart')
            GROUP BY t, part_name`,
          query_params: { db: database, names: sources },
          format: 'JSONEachRow',
        })
      ).json<{ t: string; part_name: string; rows: number | string; bytes: number | string }>();
      for (const p of found) parts.set(`${p.t}/${p.part_name}`, { rows: Number(p.rows), bytes: Number(p.bytes) });
    }
    return {
      merges: merges.map((m) => ({ table: m.t, partitionId: m.partition_id, rows: Number(m.rows), bytes: Number(m.bytes), mergedFrom: m.merged_from })),
      parts,
    };
  } catch (err) {
    if (/UNKNOWN_TABLE|part_log/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** createClickHouseStore builds the activities that read and write ClickHouse. */
export function createClickHouseStore({ clickhouse, database, cluster }: ClickHouseDeps) {
  const db = sqlIdentifier(database);
  /** eachServer runs `fn` on the server, or on a cluster on every shard in turn (each with a client of its own). */
  const eachServer = async (fn: (server: ClickHouseClient) => Promise<void>) => {
    if (!cluster) return fn(clickhouse);
    for (const url of cluster.shardUrls) {
      const shard = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
      try {
        await fn(shard);
      } finally {
        await shard.close();
      }
    }
  };
  return {
    /** insertEvents stores business events; each carries its event_id, so a replayed insert is recognisable. */
    async insertEvents(events: BusinessEvent[]): Promise<number> {
      if (events.length === 0) return 0;
      await clickhouse.insert({
        table: `${db}.business_events`,
        format: 'JSONEachRow',
        values: events.map((e) => {
          return {
            event_id: e.eventId,
            timestamp: dateTime64Text(e.timestampMs),
            event_type: e.eventType,
            service_name: e.service,
            user_id: e.userId,
            correlation_id: e.correlationId,
            attributes: sortedMap(e.attributes),
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
          WHERE timestamp >= toDateTime64({from:Int64}, 3, 'UTC') AND timestamp < toDateTime64({to:Int64} + 1, 3, 'UTC') AND ingest_id = {id:String}`,
        query_params: { from: fromSecond, to: toSecond, id: ingestId },
        format: 'JSONEachRow',
      });
      return new Set((await result.json<{ seq: number }>()).map((r) => Number(r.seq)));
    },

    /** storedEventIds says which of the given event ids are already stored between two seconds. */
    async storedEventIds(eventIds: readonly string[], fromSecond: number, toSecond: number): Promise<Set<string>> {
      if (eventIds.length === 0) return new Set();
      const result = await clickhouse.query({
        query: `SELECT DISTINCT event_id FROM ${db}.business_events
          WHERE timestamp >= toDateTime64({from:Int64}, 3, 'UTC') AND timestamp < toDateTime64({to:Int64} + 1, 3, 'UTC') AND has({ids:Array(String)}, event_id)`,
        query_params: { from: fromSecond, to: toSecond, ids: [...eventIds] },
        format: 'JSONEachRow',
      });
      return new Set((await result.json<{ event_id: string }>()).map((r) => r.event_id));
    },

    /**
     * alignRetentionTtls sets each table's TTL to its policy where it differs (the retention days changed since the
     * table was made; on a cluster, the `_local` table on every shard) and returns the tables it changed.
     */
    async alignRetentionTtls(policies: readonly RetentionPolicy[]): Promise<string[]> {
      const changed = new Set<string>();
      await eachServer(async (server) => {
        const tables = await (
          await server.query({ query: 'SELECT name, engine_full FROM system.tables WHERE database = {db:String}', query_params: { db: database }, format: 'JSONEachRow' })
        ).json<{ name: string; engine_full: string }>();
        for (const policy of policies) {
          const name = cluster ? localTable(policy.table) : policy.table;
          const table = tables.find((t) => t.name === name);
          if (!table || ttlMatches(table.engine_full, policy)) continue;
          await server.command({ query: `ALTER TABLE ${db}.${sqlIdentifier(name)} MODIFY TTL ${ttlClause(policy)}` });
          changed.add(policy.table);
        }
      });
      return [...changed].sort();
    },

    /**
     * auditExpiredRows records in retention_log what the tables' TTLs removed since the previous audit, read from
     * the server's part log (every shard's on a cluster), and returns it. Each audit also writes a marker row
     * (table '*'), the point the next one starts from. Without system.part_log (a server that keeps none) the TTLs
     * still apply and the audit returns undefined.
     */
    async auditExpiredRows(policies: readonly RetentionPolicy[], workflowId: string): Promise<ExpiredPartition[] | undefined> {
      const since = await (
        await clickhouse.query({ query: `SELECT toUnixTimestamp64Milli(max(timestamp)) AS at FROM ${db}.retention_log WHERE table_name = '*'`, format: 'JSONEachRow' })
      ).json<{ at: number | string }>();
      const sinceMs = Number(since[0]?.at ?? 0);
      const untilMs = Date.now();
      const found: ExpiredPartition[] = [];
      let logged = true;
      await eachServer(async (server) => {
        const audit = await ttlMergesOf(server, database, sinceMs, untilMs, cluster !== undefined);
        if (!audit) logged = false;
        else found.push(...expiredByTtl(audit.merges, audit.parts, policies));
      });
      if (!logged) return undefined;
      // One entry per table and partition, the shards' added up.
      const byPartition = new Map<string, ExpiredPartition>();
      for (const e of found) {
        const key = `${e.table}/${e.partitionId}`;
        const seen = byPartition.get(key);
        byPartition.set(key, seen ? { ...seen, rows: seen.rows + e.rows, bytes: seen.bytes + e.bytes } : e);
      }
      const expired = [...byPartition.values()];
      const row = (e: ExpiredPartition) => ({
        timestamp: dateTime64Text(untilMs),
        table_name: e.table,
        partition_id: e.partitionId,
        rows: e.rows,
        bytes: e.bytes,
        reason: e.reason,
        workflow_id: workflowId,
      });
      const marker = { table: '*', partitionId: '', rows: expired.reduce((n, e) => n + e.rows, 0), bytes: expired.reduce((n, e) => n + e.bytes, 0), reason: 'audit: TTL expirations recorded up to here' };
      await clickhouse.insert({ table: `${db}.retention_log`, format: 'JSONEachRow', values: [...expired, marker].map(row) });
      return expired;
    },

    /** alertStatuses lists the transitions alert_history holds for one alert occurrence. */
    async alertStatuses(service: string, alertId: string): Promise<Set<string>> {
      const result = await clickhouse.query({
        query: `SELECT DISTINCT status FROM ${db}.alert_history WHERE service_name = {service:String} AND alert_id = {id:String}`,
        query_params: { service, id: alertId },
        format: 'JSONEachRow',
      });
      return new Set((await result.json<{ status: string }>()).map((r) => r.status));
    },

    /**
     * insertAlertHistory writes one alert_history row; a retried call writes an identical row that the table
     * collapses. A storm's thousands of transitions arrive at once, one row each: ClickHouse gathers them into a few
     * parts (async_insert) and answers each once its row is written (wait_for_async_insert), instead of a part per row.
     */
    async insertAlertHistory(row: HistoryRow): Promise<void> {
      const { timestampMs, labels, ...columns } = row;
      await clickhouse.insert({
        table: `${db}.alert_history`,
        values: [{ ...columns, timestamp: dateTime64Text(timestampMs), labels: sortedMap(labels) }],
        format: 'JSONEachRow',
        clickhouse_settings: { async_insert: 1, wait_for_async_insert: 1 },
      });
    },
  };
}
