/**
 * The hourly trend job: each service's (and the platform's) hourly averages of the report's four metrics over the
 * last four weeks, analysed by the seed's window compare (last 24 h against the 24 h before, ±10 %) and the
 * seasonal-trend analysis of core/trend.ts, stored in trend_analyses; the weekly report and the API read them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { sqlIdentifier } from '../core/escape';
import { TREND_SENSITIVITY, TREND_WINDOW_HOURS } from '../core/report';
import { analyzeSeasonalTrend, detectTrend, type SeasonalTrend, type TrendDirection } from '../core/trend';

const HOUR_MS = 3_600_000;

/** TREND_METRICS are the metrics analysed and the report's trend each feeds; `sum` adds services up (a rate). */
export const TREND_METRICS = [
  { metric: 'response_time_p50_ms', trend: 'response_time_trend', platform: 'mean' },
  { metric: 'error_rate_percent', trend: 'error_rate_trend', platform: 'mean' },
  { metric: 'requests_per_second', trend: 'throughput_trend', platform: 'sum' },
  { metric: 'cpu_usage_percent', trend: 'resource_utilization_trend', platform: 'mean' },
] as const;

/** PLATFORM names the analysis of all services together. */
export const PLATFORM = 'platform';

/** TrendAnalysis is one stored analysis. */
export interface TrendAnalysis {
  service: string;
  metric: string;
  analyzedAt: string;
  /** The seed's window compare over the last two days. */
  direction: TrendDirection;
  seasonal: SeasonalTrend | null;
}

/** hourOfWeek is an instant's hour counted from Monday 00:00 UTC (the phase of the weekly profile). */
export const hourOfWeek = (ms: number): number => ((new Date(ms).getUTCDay() + 6) % 7) * 24 + new Date(ms).getUTCHours();

/**
 * evenHours lays hourly values on an even grid from the first to the last hour present, filling a gap by linear
 * interpolation; null when more than a fifth of the hours are missing (the analysis would be of invented data).
 */
export function evenHours(points: ReadonlyMap<number, number>): { firstMs: number; values: number[] } | null {
  const hours = [...points.keys()].sort((a, b) => a - b);
  if (hours.length === 0) return null;
  const firstMs = hours[0]!;
  const length = Math.round((hours[hours.length - 1]! - firstMs) / HOUR_MS) + 1;
  if (hours.length < 0.8 * length) return null;
  const values = new Array<number>(length);
  let previous = 0;
  for (let k = 0; k < length; k++) {
    const v = points.get(firstMs + k * HOUR_MS);
    if (v !== undefined) {
      values[k] = v;
      // Fill the gap behind this point.
      for (let g = previous + 1; g < k; g++) values[g] = values[previous]! + ((v - values[previous]!) * (g - previous)) / (k - previous);
      previous = k;
    }
  }
  return { firstMs, values };
}

/** analyzeHours runs both analyses on an hourly series. */
export function analyzeHours(series: { firstMs: number; values: number[] }): Pick<TrendAnalysis, 'direction' | 'seasonal'> {
  return {
    direction: detectTrend(series.values, TREND_WINDOW_HOURS, TREND_SENSITIVITY),
    seasonal: analyzeSeasonalTrend(series.values, {}, hourOfWeek(series.firstMs)),
  };
}

export function createTrendActivities({ clickhouse, database }: { clickhouse: ClickHouseClient; database: string }) {
  const db = sqlIdentifier(database);
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    /** analyzeTrends analyses the four weeks before `nowMs`'s hour and stores the results; returns how many. */
    async analyzeTrends(req: { nowMs: number; workflowId: string }): Promise<number> {
      const hourMs = Math.floor(req.nowMs / HOUR_MS) * HOUR_MS;
      const result = await clickhouse.query({
        query: `SELECT service_name AS service, metric_name AS metric, toUInt32(bucket) AS t, avgMerge(avg_value) AS v
          FROM ${db}.performance_rollup_1h
          WHERE metric_name IN {metrics:Array(String)}
            AND bucket >= toDateTime({from:Int64}, 'UTC') AND bucket < toDateTime({to:Int64}, 'UTC')
          GROUP BY service_name, metric_name, bucket`,
        query_params: { metrics: TREND_METRICS.map((m) => m.metric), from: seconds(hourMs - 28 * 24 * HOUR_MS), to: seconds(hourMs) },
        format: 'JSONEachRow',
      });
      const series = new Map<string, Map<number, number>>();
      const platform = new Map<string, Map<number, number[]>>();
      for (const row of await result.json<{ service: string; metric: string; t: number | string; v: number | string }>()) {
        const v = Number(row.v);
        if (!Number.isFinite(v)) continue;
        const t = Number(row.t) * 1000;
        const key = `${row.service}\u0000${row.metric}`;
        if (!series.has(key)) series.set(key, new Map());
        series.get(key)!.set(t, v);
        if (!platform.has(row.metric)) platform.set(row.metric, new Map());
        const at = platform.get(row.metric)!;
        at.set(t, [...(at.get(t) ?? []), v]);
      }
      for (const { metric, platform: reduce } of TREND_METRICS) {
        const hours = platform.get(metric);
        if (!hours) continue;
        const combined = new Map([...hours].map(([t, vs]) => [t, reduce === 'sum' ? vs.reduce((a, b) => a + b, 0) : vs.reduce((a, b) => a + b, 0) / vs.length]));
        series.set(`${PLATFORM}\u0000${metric}`, combined);
      }
      const generatedAt = Math.floor(Date.now() / 1000);
      const rows = [...series].flatMap(([key, points]) => {
        const [service, metric] = key.split('\u0000') as [string, string];
        const even = evenHours(points);
        if (!even) return [];
        const { direction, seasonal } = analyzeHours(even);
        return [{
          analyzed_hour: Math.floor(hourMs / 1000),
          generated_at: generatedAt,
          service_name: service,
          metric_name: metric,
          direction,
          slope_per_hour: seasonal?.trend.slopePerPoint ?? 0,
          p_value: seasonal?.trend.pValue ?? 1,
          analysis: JSON.stringify({ direction, seasonal }),
          workflow_id: req.workflowId,
        }];
      });
      if (rows.length > 0) await clickhouse.insert({ table: `${db}.trend_analyses`, values: rows, format: 'JSONEachRow' });
      return rows.length;
    },

    /** latestTrends reads each (service, metric)'s newest analysis at or before `atMs` (within `maxAgeMs`). */
    async latestTrends(req: { atMs: number; maxAgeMs: number; services?: readonly string[] }): Promise<TrendAnalysis[]> {
      const filter = req.services ? ' AND service_name IN {services:Array(String)}' : '';
      const result = await clickhouse.query({
        query: `SELECT service_name AS service, metric_name AS metric, toUInt32(max(analyzed_hour)) AS at, argMax(analysis, analyzed_hour) AS body
          FROM ${db}.trend_analyses
          WHERE analyzed_hour <= toDateTime({at:Int64}, 'UTC') AND analyzed_hour > toDateTime({since:Int64}, 'UTC')${filter}
          GROUP BY service_name, metric_name ORDER BY service_name, metric_name`,
        query_params: { at: seconds(req.atMs), since: seconds(req.atMs - req.maxAgeMs), services: [...(req.services ?? [])] },
        format: 'JSONEachRow',
      });
      return (await result.json<{ service: string; metric: string; at: number | string; body: string }>()).map((r) => {
        const body = JSON.parse(r.body) as Pick<TrendAnalysis, 'direction' | 'seasonal'>;
        return { service: r.service, metric: r.metric, analyzedAt: new Date(Number(r.at) * 1000).toISOString(), ...body };
      });
    },
  };
}
