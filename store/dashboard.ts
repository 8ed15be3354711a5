import type { ClickHouseClient } from '@clickhouse/client';
import { serviceAvailability, type Availability, type Resolution, type WindowStat } from '../core/dashboard';
import { partsSql } from '../core/cluster-ddl';
import { QueryParams, sqlIdentifier } from '../core/escape';

/**
 * The ClickHouse reads of the dashboard and performance endpoints. Every query names its metrics and services, so
 * it reads only their key ranges (ORDER BY metric_name, service_name, …) of the partitions its window touches:
 * raw samples for short windows, the 1-minute and 1-hour rollups beyond. Values go as query parameters.
 */

/** DashboardQueryDeps are what the queries need; `settings` carry the query time limit. */
export interface DashboardQueryDeps {
  clickhouse: ClickHouseClient;
  database: string;
  /** MONITORING_QUERY_TIMEOUT: the server stops a query running longer (max_execution_time). */
  queryTimeoutMs: number;
  /** CLICKHOUSE_CLUSTER: table sizes are summed over its shards' local tables. */
  cluster?: string;
}

/**
 * Series is one (service, metric) series of a performance answer, in columns (as charts take them): each bucket's
 * start (s) and the average, min, max and 95th percentile of the values in it.
 */
export interface Series {
  service: string;
  metric: string;
  t: number[];
  avg: number[];
  min: number[];
  max: number[];
  p95: number[];
}


/** createDashboardQueries builds the dashboard's and performance endpoint's ClickHouse reads. */
export function createDashboardQueries({ clickhouse, database, queryTimeoutMs, cluster }: DashboardQueryDeps) {
  const db = sqlIdentifier(database);
  const settings = { max_execution_time: Math.max(1, Math.ceil(queryTimeoutMs / 1000)) };
  const rows = async <T>(query: string, params: QueryParams | Record<string, unknown>, signal?: AbortSignal): Promise<T[]> => {
    const query_params = params instanceof QueryParams ? params.values : params;
    const result = await clickhouse.query({ query, query_params, format: 'JSONEachRow', clickhouse_settings: settings, ...(signal ? { abort_signal: signal } : {}) });
    return result.json<T>();
  };

  return {
    /**
     * windowStats returns each series' average and latest value over [fromMs, toMs): per instance from the raw
     * samples when the window is at most an hour, per service from the 1-minute rollup beyond.
     */
    async windowStats(services: readonly string[], metrics: readonly string[], fromMs: number, toMs: number, signal?: AbortSignal): Promise<WindowStat[]> {
      if (services.length === 0 || metrics.length === 0) return [];
      const raw = toMs - fromMs <= 3_600_000;
      const p = new QueryParams();
      const query = raw
        ? `SELECT service_name AS service, metric_name AS metric, instance_id AS instance,
                  avg(metric_value) AS avg, argMax(metric_value, timestamp) AS last
           FROM ${db}.performance_events
           WHERE metric_name IN ${p.strings(metrics)} AND service_name IN ${p.strings(services)}
             AND timestamp >= ${p.timeMs(fromMs)} AND timestamp < ${p.timeMs(toMs)}
             AND event_type = 'metric'
           GROUP BY service_name, metric_name, instance_id`
        : `SELECT service_name AS service, metric_name AS metric, '' AS instance,
                  avgMerge(avg_value) AS avg, argMaxMerge(last_value) AS last
           FROM ${db}.performance_rollup_1m
           WHERE metric_name IN ${p.strings(metrics)} AND service_name IN ${p.strings(services)}
             AND bucket >= ${p.timeMs(fromMs)} AND bucket < ${p.timeMs(toMs)}
           GROUP BY service_name, metric_name`;
      const found = await rows<{ service: string; metric: string; instance: string; avg: number; last: number }>(query, p, signal);
      return found.map((r) => ({ service: r.service, metric: r.metric, instance: r.instance, avg: Number(r.avg), last: Number(r.last) }));
    },

    /**
     * availability reads, per service and minute of the last day (the 1-minute rollup), its request rate, error rate
     * and scrape `up` where reported — or that it reported at all (any of the metrics every service sends) — and
     * counts its good events (core/dashboard.ts serviceAvailability).
     */
    async availability(services: readonly string[], nowMs: number, signal?: AbortSignal): Promise<Availability[]> {
      if (services.length === 0) return [];
      const found = await rows<{ service: string; m: number | string; rps: number | string | null; err: number | string | null; up: number | string | null }>(
        `SELECT service, m,
           if(countIf(metric = 'requests_per_second') > 0, sumIf(v, metric = 'requests_per_second'), NULL) AS rps,
           if(countIf(metric = 'error_rate_percent') > 0, sumIf(v, metric = 'error_rate_percent'), NULL) AS err,
           if(countIf(metric = 'up') > 0, sumIf(v, metric = 'up'), NULL) AS up
         FROM (
           SELECT service_name AS service, toUInt32(bucket) AS m, metric_name AS metric, avgMerge(avg_value) AS v
           FROM ${db}.performance_rollup_1m
           WHERE metric_name IN ('requests_per_second', 'error_rate_percent', 'up', 'cpu_usage_percent', 'memory_usage_percent')
             AND service_name IN {services:Array(String)}
             AND bucket >= toDateTime({from:Int64}, 'UTC') AND bucket <= toDateTime({to:Int64}, 'UTC')
           GROUP BY service_name, bucket, metric_name
         ) GROUP BY service, m ORDER BY service, m`,
        { services, from: Math.floor((nowMs - 86_400_000) / 1000), to: Math.floor(nowMs / 1000) },
        signal,
      );
      const num = (v: number | string | null) => (v === null ? null : Number.isFinite(Number(v)) ? Number(v) : null);
      const byService = new Map<string, Array<{ minute: number; rps: number | null; errorRate: number | null; up: number | null }>>();
      for (const r of found) {
        if (!byService.has(r.service)) byService.set(r.service, []);
        byService.get(r.service)!.push({ minute: Number(r.m), rps: num(r.rps), errorRate: num(r.err), up: num(r.up) });
      }
      // Minutes in which any service reported: the platform was being monitored (a gap of all is the monitoring's).
      const platformMinutes = new Set([...byService.values()].flatMap((minutes) => minutes.map((m) => m.minute)));
      return [...byService].flatMap(([service, minutes]) => serviceAvailability(service, minutes, nowMs, platformMinutes) ?? []);
    },

    /** dailyPredictions sums predictions_generated per service since midnight UTC (services without samples absent). */
    async dailyPredictions(services: readonly string[], nowMs: number, signal?: AbortSignal): Promise<Map<string, number>> {
      if (services.length === 0) return new Map();
      const midnight = Math.floor(nowMs / 86_400_000) * 86_400_000;
      const found = await rows<{ service: string; total: number }>(
        `SELECT service, sum(s) AS total FROM (
           SELECT service_name AS service, avgMerge(avg_value) * countMerge(samples) AS s
           FROM ${db}.performance_rollup_1m
           WHERE metric_name = 'predictions_generated' AND service_name IN {services:Array(String)}
             AND bucket >= toDateTime({from:Int64}, 'UTC')
           GROUP BY service_name, bucket
         ) GROUP BY service`,
        { services, from: midnight / 1000 },
        signal,
      );
      return new Map(found.map((r) => [r.service, Number(r.total)]));
    },

    /**
     * series returns each (service, metric) series over [fromMs, toMs) at the resolution's step: bucket averages,
     * minimums, maximums and 95th percentiles, merged from the rollup's states or computed from raw samples.
     */
    async series(services: readonly string[], metrics: readonly string[], fromMs: number, toMs: number, resolution: Resolution, signal?: AbortSignal): Promise<Series[]> {
      if (services.length === 0 || metrics.length === 0) return [];
      const p = new QueryParams();
      const step = p.int(resolution.stepSeconds);
      const bucket = (column: string) => `intDiv(toUInt32(${column}), ${step}) * ${step}`;
      const query =
        resolution.source === 'raw'
          ? `SELECT service_name AS service, metric_name AS metric, ${bucket('timestamp')} AS t,
                    avg(metric_value) AS avg, min(metric_value) AS min, max(metric_value) AS max, quantile(0.95)(metric_value) AS p95
             FROM ${db}.performance_events
             WHERE metric_name IN ${p.strings(metrics)} AND service_name IN ${p.strings(services)}
               AND timestamp >= ${p.timeMs(fromMs)} AND timestamp < ${p.timeMs(toMs)}
               AND event_type = 'metric'
             GROUP BY service_name, metric_name, t ORDER BY service_name, metric_name, t`
          : `SELECT service_name AS service, metric_name AS metric, ${bucket('bucket')} AS t,
                    avgMerge(avg_value) AS avg, minMerge(min_value) AS min, maxMerge(max_value) AS max,
                    quantilesMerge(0.5, 0.95, 0.99)(quantiles)[2] AS p95
             FROM ${db}.${resolution.source === '1m' ? 'performance_rollup_1m' : 'performance_rollup_1h'}
             WHERE metric_name IN ${p.strings(metrics)} AND service_name IN ${p.strings(services)}
               AND bucket >= ${p.timeMs(fromMs)} AND bucket < ${p.timeMs(toMs)}
             GROUP BY service_name, metric_name, t ORDER BY service_name, metric_name, t`;
      const found = await rows<{ service: string; metric: string; t: string; avg: number; min: number; max: number; p95: number }>(query, p, signal);
      const out = new Map<string, Series>();
      for (const r of found) {
        const key = `${r.service}\u0000${r.metric}`;
        let series = out.get(key);
        if (!series) out.set(key, (series = { service: r.service, metric: r.metric, t: [], avg: [], min: [], max: [], p95: [] }));
        series.t.push(Number(r.t));
        series.avg.push(roundValue(Number(r.avg)));
        series.min.push(roundValue(Number(r.min)));
        series.max.push(roundValue(Number(r.max)));
        series.p95.push(roundValue(Number(r.p95)));
      }
      return [...out.values()];
    },

    /**
     * history returns hourly averages of each (service, metric) over the last `days` days from the 1-hour rollup,
     * or — for a series with less than a day of hours — minute averages of the last day from the 1-minute rollup
     * (a young deployment still gets a forecast). Keyed `service\u0000metric`, points [ms, value] in time order.
     */
    async history(services: readonly string[], metrics: readonly string[], nowMs: number, days: number, signal?: AbortSignal): Promise<Map<string, Array<[number, number]>>> {
      const out = new Map<string, Array<[number, number]>>();
      if (services.length === 0 || metrics.length === 0) return out;
      const read = async (table: string, fromMs: number) => {
        const found = await rows<{ service: string; metric: string; t: string; v: number }>(
          `SELECT service_name AS service, metric_name AS metric, toUInt32(bucket) AS t, avgMerge(avg_value) AS v
           FROM ${db}.${table}
           WHERE metric_name IN {metrics:Array(String)} AND service_name IN {services:Array(String)}
             AND bucket >= toDateTime({from:Int64}, 'UTC') AND bucket <= toDateTime({to:Int64}, 'UTC')
           GROUP BY service_name, metric_name, bucket ORDER BY service_name, metric_name, bucket`,
          { metrics, services, from: Math.floor(fromMs / 1000), to: Math.floor(nowMs / 1000) },
          signal,
        );
        const series = new Map<string, Array<[number, number]>>();
        for (const r of found) {
          const key = `${r.service}\u0000${r.metric}`;
          if (!series.has(key)) series.set(key, []);
          series.get(key)!.push([Number(r.t) * 1000, Number(r.v)]);
        }
        return series;
      };
      const hourly = await read('performance_rollup_1h', nowMs - days * 86_400_000);
      const young = services.flatMap((s) => metrics.map((m) => `${s}\u0000${m}`)).filter((key) => (hourly.get(key)?.length ?? 0) < 24);
      const minutely = young.length > 0 ? await read('performance_rollup_1m', nowMs - 86_400_000) : new Map<string, Array<[number, number]>>();
      for (const [key, points] of hourly) if (points.length >= 24) out.set(key, points);
      for (const key of young) {
        const points = minutely.get(key) ?? hourly.get(key);
        if (points) out.set(key, points);
      }
      return out;
    },

    /**
     * tableSizes returns the active parts' rows and bytes of this database's tables (the admin overview); on a
     * cluster, of every shard, each table's `_local` part counted under its name.
     */
    async tableSizes(signal?: AbortSignal): Promise<Array<{ table: string; rows: number; bytes: number }>> {
      const { query, query_params } = partsSql(database, cluster, false);
      const found = await rows<{ name: string; rows: string; bytes: string }>(query, query_params, signal);
      return found.map((r) => ({ table: r.name, rows: Number(r.rows), bytes: Number(r.bytes) }));
    },
  };
}

/** roundValue keeps 6 significant digits: charts need no more, and answers shrink by half. */
function roundValue(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(6)) : value;
}

