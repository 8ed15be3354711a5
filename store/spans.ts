/**
 * The spans table (db/010): spans written as OTLP delivers them, traces read for the API, and the RED metrics of
 * entry spans computed per window into performance_events (core/otlp-traces.ts) — once per window: each window's
 * rows carry `ingest_id = red/<window start>`, and a window whose rows are there is never written again.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier } from '../core/escape';
import { RED_INGEST_PREFIX, RED_WINDOW_MS, redSamples, type RedAggregate, type SpanRow } from '../core/otlp-traces';
import { PERFORMANCE_EVENT_COLUMNS, sampleTsv } from '../core/sample-row';
import type { Sample } from '../core/types';

/** TraceSummary is one trace found by a search: what the searched service did in it. */
export interface TraceSummary {
  trace_id: string;
  start: string;
  /** The longest of the service's spans in the trace, in milliseconds. */
  duration_ms: number;
  root_name: string;
  spans: number;
  errors: number;
  services: string[];
}

/** StoredSpan is a span as the trace endpoint answers it. */
export interface StoredSpan {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service: string;
  name: string;
  kind: string;
  status_code: string;
  status_message: string;
  start: string;
  duration_ms: number;
  attributes: Record<string, string>;
  resource: Record<string, string>;
  scope: string;
  events: number;
  links: number;
}

const iso = (clickhouseTime: string) => `${clickhouseTime.replace(' ', 'T')}Z`;

export function createSpanStore({ clickhouse, database }: { clickhouse: ClickHouseClient; database: string }) {
  const db = sqlIdentifier(database);
  const rows = async <T>(query: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<T[]> =>
    (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow', ...(signal ? { abort_signal: signal } : {}) })).json<T>();

  return {
    /**
     * insertSpans stores rows and returns once they are written. Exporters send a batch every few seconds each:
     * ClickHouse gathers concurrent batches into one part (async_insert) and answers each once written.
     */
    async insertSpans(spans: readonly SpanRow[]): Promise<void> {
      if (spans.length === 0) return;
      await clickhouse.insert({ table: `${db}.spans`, values: spans as SpanRow[], format: 'JSONEachRow', clickhouse_settings: { async_insert: 1, wait_for_async_insert: 1 } });
    },

    /** findTraces lists the newest traces with a span of the services in range and at least `minDurationNs` long. */
    async findTraces(q: { services?: readonly string[]; fromMs: number; toMs: number; minDurationNs: number; limit: number }, signal?: AbortSignal): Promise<TraceSummary[]> {
      const found = await rows<{ trace_id: string; first: string; longest_ns: string; root_name: string; n: string; failed: string }>(
        `SELECT trace_id, toString(min(start_time)) AS first, max(duration_ns) AS longest_ns, argMin(name, start_time) AS root_name, count() AS n, sum(is_error) AS failed
         FROM ${db}.spans
         WHERE start_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND start_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
           AND duration_ns >= {min:UInt64} ${q.services ? 'AND service_name IN {services:Array(String)}' : ''}
         GROUP BY trace_id ORDER BY min(start_time) DESC LIMIT {limit:UInt32}`,
        { from: q.fromMs, to: q.toMs, min: q.minDurationNs, limit: q.limit, services: [...(q.services ?? [])] },
        signal,
      );
      if (found.length === 0) return [];
      // The other services each trace crossed (within the same range, give or take a minute).
      const services = await rows<{ trace_id: string; services: string[] }>(
        `SELECT trace_id, groupUniqArray(service_name) AS services FROM ${db}.spans
         WHERE trace_id IN {ids:Array(String)} AND start_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') - INTERVAL 1 MINUTE
           AND start_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC') + INTERVAL 1 MINUTE
         GROUP BY trace_id`,
        { ids: found.map((f) => f.trace_id), from: q.fromMs, to: q.toMs },
        signal,
      );
      const byTrace = new Map(services.map((s) => [s.trace_id, s.services.sort()]));
      return found.map((f) => ({
        trace_id: f.trace_id,
        start: iso(f.first),
        duration_ms: Number(f.longest_ns) / 1e6,
        root_name: f.root_name,
        spans: Number(f.n),
        errors: Number(f.failed),
        services: (byTrace.get(f.trace_id) ?? []).filter((s) => !q.services || q.services.includes(s)),
      }));
    },

    /** traceSpans reads a trace's spans (of the given services only, when scoped), in start order. */
    async traceSpans(traceId: string, services?: readonly string[], signal?: AbortSignal): Promise<StoredSpan[]> {
      const found = await rows<Omit<StoredSpan, 'duration_ms'> & { duration_ns: string }>(
        `SELECT trace_id, span_id, parent_span_id, service_name AS service, name, kind, status_code, status_message, toString(start_time) AS start,
                duration_ns, attributes, resource, scope_name AS scope, events, links
         FROM ${db}.spans WHERE trace_id = {id:FixedString(32)} ${services ? 'AND service_name IN {services:Array(String)}' : ''}
         ORDER BY start_time, span_id`,
        { id: traceId, services: [...(services ?? [])] },
        signal,
      );
      return found.map(({ duration_ns, ...s }) => ({ ...s, start: iso(s.start), duration_ms: Number(duration_ns) / 1e6, events: Number(s.events), links: Number(s.links) }));
    },

    /** lastRedWindow is the start of the newest window whose RED metrics are stored (undefined: none since `sinceMs`). */
    async lastRedWindow(sinceMs: number): Promise<number | undefined> {
      const [row] = await rows<{ last: string }>(
        `SELECT toUnixTimestamp64Milli(max(timestamp)) AS last, count() AS n FROM ${db}.performance_events
         WHERE metric_name = 'requests_per_second' AND timestamp >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND startsWith(ingest_id, {prefix:String})
         HAVING n > 0`,
        { since: sinceMs, prefix: RED_INGEST_PREFIX },
      );
      return row ? Number(row.last) - RED_WINDOW_MS : undefined;
    },

    /** redAggregates reads every window's entry-span counts and latency quantiles in [fromMs, toMs), per service and per route. */
    async redAggregates(fromMs: number, toMs: number, windowMs = RED_WINDOW_MS): Promise<RedAggregate[]> {
      const found = await rows<{ w: string; service_name: string; route: string; per_route: number; requests: string; errors: string; q: number[] }>(
        `SELECT intDiv(toUnixTimestamp64Milli(start_time), {window:UInt32}) * {window:UInt32} AS w, service_name, route, grouping(route) = 0 AS per_route,
                count() AS requests, sum(is_error) AS errors, quantiles(0.5, 0.95, 0.99)(duration_ns) AS q
         FROM ${db}.spans
         WHERE start_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND start_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC') AND kind IN ('server', 'consumer')
         GROUP BY GROUPING SETS ((w, service_name, route), (w, service_name))
         ORDER BY w, service_name, per_route, route`,
        { from: fromMs, to: toMs, window: windowMs },
      );
      return found.map((r) => ({
        windowStartMs: Number(r.w),
        service: r.service_name,
        ...(Number(r.per_route) === 1 ? { route: r.route } : {}),
        requests: Number(r.requests),
        errors: Number(r.errors),
        p50Ms: r.q[0]! / 1e6,
        p95Ms: r.q[1]! / 1e6,
        p99Ms: r.q[2]! / 1e6,
      }));
    },

    /**
     * writeRedWindows stores each window's RED samples, skipping windows already stored (a retried activity), and
     * returns the samples written.
     */
    async writeRedWindows(aggregates: readonly RedAggregate[], fromMs: number, windowMs = RED_WINDOW_MS): Promise<Sample[]> {
      const byWindow = new Map<number, RedAggregate[]>();
      for (const a of aggregates) byWindow.set(a.windowStartMs, [...(byWindow.get(a.windowStartMs) ?? []), a]);
      if (byWindow.size === 0) return [];
      const stored = new Set(
        (
          await rows<{ id: string }>(
            `SELECT DISTINCT ingest_id AS id FROM ${db}.performance_events
             WHERE metric_name = 'requests_per_second' AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND startsWith(ingest_id, {prefix:String})`,
            { from: fromMs, prefix: RED_INGEST_PREFIX },
          )
        ).map((r) => r.id),
      );
      const written: Sample[] = [];
      let tsv = '';
      for (const [start, windowAggregates] of byWindow) {
        const id = `${RED_INGEST_PREFIX}${start}`;
        if (stored.has(id)) continue;
        redSamples(windowAggregates, windowMs).forEach((s, i) => {
          tsv += sampleTsv(s, id, i);
          written.push(s);
        });
      }
      if (tsv === '') return [];
      await clickhouse.insert({ table: `${db}.performance_events`, values: Readable.from([tsv], { objectMode: false }), format: 'TabSeparated', columns: [...PERFORMANCE_EVENT_COLUMNS] });
      return written;
    },
  };
}

/** SpanStore is the spans table's reads and writes. */
export type SpanStore = ReturnType<typeof createSpanStore>;
