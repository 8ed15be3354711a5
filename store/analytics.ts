import type { ClickHouseClient } from '@clickhouse/client';
import { QueryParams, sqlIdentifier } from '../core/escape';

/**
 * The analytics jobs' reads and writes of ClickHouse — the trend job, the weekly report, the anomaly scan — used by
 * their activities and by the API's reads of the same data. Every value is a query parameter. Rollups are read with
 * their -Merge functions; non-finite aggregates (no samples) are dropped here, so callers see numbers only.
 */

/** Statistic is a five-minute statistic the anomaly rules judge. */
export type Statistic = 'avg' | 'max' | 'min' | 'p50' | 'p95' | 'p99';

const STATISTIC_SQL: Record<Statistic, string> = {
  avg: 'avgMerge(avg_value)',
  max: 'maxMerge(max_value)',
  min: 'minMerge(min_value)',
  // quantilesMerge over several minutes merges their states: the quantile of the five minutes, not a mean of minutes.
  p50: 'quantilesMerge(0.5, 0.95, 0.99)(quantiles)[1]',
  p95: 'quantilesMerge(0.5, 0.95, 0.99)(quantiles)[2]',
  p99: 'quantilesMerge(0.5, 0.95, 0.99)(quantiles)[3]',
};

/** HourlyPoint is one service's hourly average of one metric. */
export interface HourlyPoint {
  service: string;
  metric: string;
  tMs: number;
  value: number;
}

/** TrendAnalysisRow is one row of trend_analyses as the trend job writes it. */
export interface TrendAnalysisRow {
  analyzed_hour: number;
  generated_at: number;
  service_name: string;
  metric_name: string;
  direction: string;
  slope_per_hour: number;
  p_value: number;
  analysis: string;
  workflow_id: string;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const BUCKET_IN_RANGE = "bucket >= toDateTime({from:Int64}, 'UTC') AND bucket < toDateTime({to:Int64}, 'UTC')";

/** createAnalyticsQueries opens the analytics reads and writes on one database. */
export function createAnalyticsQueries({ clickhouse, database }: { clickhouse: ClickHouseClient; database: string }) {
  const db = sqlIdentifier(database);
  const rows = async <T>(query: string, query_params: Record<string, unknown>): Promise<T[]> => (await clickhouse.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  const finite = <R extends { v: number | string }>(found: R[]) => found.filter((r) => Number.isFinite(Number(r.v)));

  return {
    /** hourlyAverages reads every service's hourly averages of `metrics` over [fromMs, toMs) from the 1-hour rollup. */
    async hourlyAverages(metrics: readonly string[], fromMs: number, toMs: number): Promise<HourlyPoint[]> {
      const found = await rows<{ service: string; metric: string; t: number | string; v: number | string }>(
        `SELECT service_name AS service, metric_name AS metric, toUInt32(bucket) AS t, avgMerge(avg_value) AS v
         FROM ${db}.performance_rollup_1h
         WHERE metric_name IN {metrics:Array(String)} AND ${BUCKET_IN_RANGE}
         GROUP BY service_name, metric_name, bucket ORDER BY service_name, metric_name, bucket`,
        { metrics: [...metrics], from: seconds(fromMs), to: seconds(toMs) },
      );
      return finite(found).map((r) => ({ service: r.service, metric: r.metric, tMs: Number(r.t) * 1000, value: Number(r.v) }));
    },

    /** minutesWithData counts each service's minutes with samples of `metrics` in [fromMs, toMs), and its first one. */
    async minutesWithData(metrics: readonly string[], fromMs: number, toMs: number): Promise<Array<{ service: string; minutes: number; firstMs: number }>> {
      const found = await rows<{ service: string; minutes: number | string; first: number | string }>(
        `SELECT service, count() AS minutes, min(b) AS first FROM (
           SELECT service_name AS service, toUInt32(bucket) AS b FROM ${db}.performance_rollup_1m
           WHERE metric_name IN {metrics:Array(String)} AND ${BUCKET_IN_RANGE}
           GROUP BY service_name, bucket
         ) GROUP BY service`,
        { metrics: [...metrics], from: seconds(fromMs), to: seconds(toMs) },
      );
      return found.map((r) => ({ service: r.service, minutes: Number(r.minutes), firstMs: Number(r.first) * 1000 }));
    },

    /** overallAverages reads each of `metrics` averaged over every service in [fromMs, toMs). */
    async overallAverages(metrics: readonly string[], fromMs: number, toMs: number): Promise<Map<string, number>> {
      const found = await rows<{ metric: string; v: number | string }>(
        `SELECT metric_name AS metric, avgMerge(avg_value) AS v FROM ${db}.performance_rollup_1h
         WHERE metric_name IN {metrics:Array(String)} AND ${BUCKET_IN_RANGE}
         GROUP BY metric_name`,
        { metrics: [...metrics], from: seconds(fromMs), to: seconds(toMs) },
      );
      return new Map(finite(found).map((r) => [r.metric, Number(r.v)]));
    },

    /** latestCapacityPlan reads the newest daily capacity plan dated within [firstDay, lastDay] (YYYY-MM-DD), by service and resource. */
    async latestCapacityPlan(firstDay: string, lastDay: string): Promise<Array<{ service: string; resource: string; forecast: string }>> {
      return rows(
        `SELECT service_name AS service, resource, argMax(forecast, generated_at) AS forecast FROM ${db}.capacity_forecasts
         WHERE plan_date = (SELECT max(plan_date) FROM ${db}.capacity_forecasts WHERE plan_date <= {last:Date} AND plan_date >= {first:Date})
         GROUP BY service_name, resource ORDER BY service_name, resource`,
        { last: lastDay, first: firstDay },
      );
    },

    /** servicesReporting lists the services with `metric` in the 1-hour rollup since `sinceMs`, sorted. */
    async servicesReporting(metric: string, sinceMs: number): Promise<string[]> {
      const found = await rows<{ service: string }>(
        `SELECT DISTINCT service_name AS service FROM ${db}.performance_rollup_1h WHERE metric_name = {metric:String} AND bucket >= toDateTime({from:Int64}, 'UTC')`,
        { metric, from: seconds(sinceMs) },
      );
      return found.map((r) => r.service).sort();
    },

    /** insertCapacityPlan stores a day's capacity forecasts (rows of capacity_forecasts). */
    async insertCapacityPlan(forecasts: ReadonlyArray<{ plan_date: string; generated_at: number; service_name: string; resource: string; forecast: string; workflow_id: string }>): Promise<void> {
      if (forecasts.length > 0) await clickhouse.insert({ table: `${db}.capacity_forecasts`, values: [...forecasts], format: 'JSONEachRow' });
    },

    /** insertReport stores one weekly report (a second write of the same report_id replaces the first). */
    async insertReport(report: { report_id: string; generated_at: number; range_start: number; range_end: number; overall_performance: string; body: string; workflow_id: string }): Promise<void> {
      await clickhouse.insert({ table: `${db}.performance_reports`, values: [report], format: 'JSONEachRow' });
    },

    /** latestReports reads the latest version of the newest `limit` reports, newest first. */
    async latestReports(limit: number): Promise<Array<{ report_id: string; generatedAtMs: number; workflow_id: string; body: string }>> {
      // (Aliases differ from the columns, so no aggregate reads another's alias in place of its column.)
      const found = await rows<{ report_id: string; latest: number | string; made_by: string; latest_body: string }>(
        `SELECT report_id, toUInt32(max(generated_at)) AS latest, argMax(workflow_id, generated_at) AS made_by, argMax(body, generated_at) AS latest_body
         FROM ${db}.performance_reports GROUP BY report_id ORDER BY report_id DESC LIMIT {limit:UInt32}`,
        { limit: Math.max(1, Math.floor(limit)) },
      );
      return found.map((r) => ({ report_id: r.report_id, generatedAtMs: Number(r.latest) * 1000, workflow_id: r.made_by, body: r.latest_body }));
    },

    /**
     * sloWindowCounts reads, per service, over each window ending at `endMs` (minutes by name): the minutes with
     * data (`up_<w>`) and the first (`first_<w>`, epoch seconds), the minutes with a p95 (`lat_<w>`) and those within
     * the service's latency threshold (`fast_<w>`), the requests (`req_<w>`) and failed requests (`bad_<w>`) — from
     * the 1-minute rollup of requests_per_second, error_rate_percent and response_time_p95_ms, in one query.
     */
    async sloWindowCounts(req: {
      endMs: number;
      windowMinutes: Readonly<Record<string, number>>;
      latencyThresholds: ReadonlyArray<readonly [string, number]>;
      defaultLatencyThresholdMs: number;
      services?: readonly string[];
    }): Promise<Array<Record<string, string | number>>> {
      const p = new QueryParams();
      const names = Object.keys(req.windowMinutes);
      const from = (w: string) => p.int(Math.floor((req.endMs - req.windowMinutes[w]! * 60_000) / 1000));
      const fallback = p.float(req.defaultLatencyThresholdMs);
      const threshold = req.latencyThresholds.length
        ? `transform(service, ${p.strings(req.latencyThresholds.map(([s]) => s))}, ${p.add(req.latencyThresholds.map(([, ms]) => ms), 'Array(Float64)')}, ${fallback})`
        : fallback;
      const perWindow = names.map((w) =>
        [
          `countIf(t >= ${from(w)}) AS up_${w}`,
          `minIf(t, t >= ${from(w)}) AS first_${w}`,
          `countIf(t >= ${from(w)} AND has_p95 > 0) AS lat_${w}`,
          `countIf(t >= ${from(w)} AND has_p95 > 0 AND p95 <= ${threshold}) AS fast_${w}`,
          `sumIf(rps * 60, t >= ${from(w)} AND has_rps > 0) AS req_${w}`,
          `sumIf(rps * 60 * err / 100, t >= ${from(w)} AND has_rps > 0 AND has_err > 0) AS bad_${w}`,
        ].join(', '),
      );
      const longest = names.reduce((a, b) => (req.windowMinutes[b]! > req.windowMinutes[a]! ? b : a));
      const result = await clickhouse.query({
        query: `SELECT service, ${perWindow.join(', ')} FROM (
            SELECT service, t,
              sumIf(v, metric = 'requests_per_second') AS rps, countIf(metric = 'requests_per_second') AS has_rps,
              sumIf(v, metric = 'error_rate_percent') AS err, countIf(metric = 'error_rate_percent') AS has_err,
              sumIf(v, metric = 'response_time_p95_ms') AS p95, countIf(metric = 'response_time_p95_ms') AS has_p95
            FROM (
              SELECT service_name AS service, toUInt32(bucket) AS t, metric_name AS metric, avgMerge(avg_value) AS v
              FROM ${db}.performance_rollup_1m
              WHERE metric_name IN ('requests_per_second', 'error_rate_percent', 'response_time_p95_ms', 'cpu_usage_percent')
                AND bucket >= toDateTime(${from(longest)}, 'UTC') AND bucket < toDateTime(${p.int(req.endMs / 1000)}, 'UTC')${req.services ? ` AND service_name IN ${p.strings(req.services)}` : ''}
              GROUP BY service_name, bucket, metric_name
            ) GROUP BY service, t
          ) GROUP BY service ORDER BY service`,
        query_params: p.values,
        format: 'JSONEachRow',
      });
      return result.json<Record<string, string | number>>();
    },

    /** insertTrendAnalyses stores the trend job's analyses of one hour. */
    async insertTrendAnalyses(analyses: readonly TrendAnalysisRow[]): Promise<void> {
      if (analyses.length > 0) await clickhouse.insert({ table: `${db}.trend_analyses`, values: [...analyses], format: 'JSONEachRow' });
    },

    /** latestTrendAnalyses reads each (service, metric)'s newest analysis in (sinceMs, atMs], optionally for some services. */
    async latestTrendAnalyses(atMs: number, sinceMs: number, services?: readonly string[]): Promise<Array<{ service: string; metric: string; atMs: number; body: string }>> {
      const found = await rows<{ service: string; metric: string; at: number | string; body: string }>(
        `SELECT service_name AS service, metric_name AS metric, toUInt32(max(analyzed_hour)) AS at, argMax(analysis, analyzed_hour) AS body
         FROM ${db}.trend_analyses
         WHERE analyzed_hour <= toDateTime({at:Int64}, 'UTC') AND analyzed_hour > toDateTime({since:Int64}, 'UTC')${services ? ' AND service_name IN {services:Array(String)}' : ''}
         GROUP BY service_name, metric_name ORDER BY service_name, metric_name`,
        { at: seconds(atMs), since: seconds(sinceMs), services: [...(services ?? [])] },
      );
      return found.map((r) => ({ service: r.service, metric: r.metric, atMs: Number(r.at) * 1000, body: r.body }));
    },

    /** fiveMinuteSeries reads every service's (or one's) five-minute `statistic` of `metric` over [fromMs, toMs), oldest first. */
    async fiveMinuteSeries(metric: string, statistic: Statistic, fromMs: number, toMs: number, service?: string): Promise<Map<string, { t: number[]; v: number[] }>> {
      const found = await rows<{ service: string; t: number | string; v: number | string }>(
        `SELECT service_name AS service, toUInt32(toStartOfFiveMinute(bucket)) AS t, ${STATISTIC_SQL[statistic]} AS v
         FROM ${db}.performance_rollup_1m
         WHERE metric_name = {metric:String}${service !== undefined ? ' AND service_name = {service:String}' : ''} AND ${BUCKET_IN_RANGE}
         GROUP BY service_name, t ORDER BY service_name, t`,
        { metric, service: service ?? '', from: seconds(fromMs), to: seconds(toMs) },
      );
      const out = new Map<string, { t: number[]; v: number[] }>();
      for (const row of finite(found)) {
        if (!out.has(row.service)) out.set(row.service, { t: [], v: [] });
        const s = out.get(row.service)!;
        s.t.push(Number(row.t) * 1000);
        s.v.push(Number(row.v));
      }
      return out;
    },
  };
}

/** AnalyticsQueries are the analytics reads and writes of one database. */
export type AnalyticsQueries = ReturnType<typeof createAnalyticsQueries>;
