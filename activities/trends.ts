/**
 * The hourly trend job: each service's (and the platform's) hourly averages of the report's four metrics over the
 * last four weeks, analysed by the seed's window compare (last 24 h against the 24 h before, ±10 %) and the
 * seasonal-trend analysis of core/trend.ts, stored in trend_analyses; the weekly report and the API read them.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { TREND_SENSITIVITY, TREND_WINDOW_HOURS } from '../core/report';
import { analyzeSeasonalTrend, detectTrend, type SeasonalTrend, type TrendDirection } from '../core/trend';
import { createAnalyticsQueries } from '../store/analytics';

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
  const analytics = createAnalyticsQueries({ clickhouse, database });
  return {
    /** analyzeTrends analyses the four weeks before `nowMs`'s hour and stores the results; returns how many. */
    async analyzeTrends(req: { nowMs: number; workflowId: string }): Promise<number> {
      const hourMs = Math.floor(req.nowMs / HOUR_MS) * HOUR_MS;
      const points = await analytics.hourlyAverages(TREND_METRICS.map((m) => m.metric), hourMs - 28 * 24 * HOUR_MS, hourMs);
      const series = new Map<string, Map<number, number>>();
      const platform = new Map<string, Map<number, number[]>>();
      for (const { service, metric, tMs: t, value: v } of points) {
        const key = `${service}\u0000${metric}`;
        if (!series.has(key)) series.set(key, new Map());
        series.get(key)!.set(t, v);
        if (!platform.has(metric)) platform.set(metric, new Map());
        const at = platform.get(metric)!;
        at.set(t, [...(at.get(t) ?? []), v]);
      }
      for (const { metric, platform: reduce } of TREND_METRICS) {
        const hours = platform.get(metric);
        if (!hours) continue;
        const combined = new Map([...hours].map(([t, vs]) => [t, reduce === 'sum' ? vs.reduce((a, b) => a + b, 0) : vs.reduce((a, b) => a + b, 0) / vs.length]));
        series.set(`${PLATFORM}\u0000${metric}`, combined);
      }
      const generatedAt = Math.floor(Date.now() / 1000);
      const rows = [...series].flatMap(([key, hours]) => {
        const [service, metric] = key.split('\u0000') as [string, string];
        const even = evenHours(hours);
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
      await analytics.insertTrendAnalyses(rows);
      return rows.length;
    },

    /** latestTrends reads each (service, metric)'s newest analysis at or before `atMs` (within `maxAgeMs`). */
    async latestTrends(req: { atMs: number; maxAgeMs: number; services?: readonly string[] }): Promise<TrendAnalysis[]> {
      const found = await analytics.latestTrendAnalyses(req.atMs, req.atMs - req.maxAgeMs, req.services);
      return found.map((r) => {
        const body = JSON.parse(r.body) as Pick<TrendAnalysis, 'direction' | 'seasonal'>;
        return { service: r.service, metric: r.metric, analyzedAt: new Date(r.atMs).toISOString(), ...body };
      });
    },
  };
}
