/**
 * The seed's TrendAnalyzer: the average of the last `window` points against the `window` before them. Its exact
 * semantics, with the seed's two holes closed: fewer than 2 × window points is `Insufficient` (the seed checked
 * one window and then read two), and an earlier average of zero is no division by zero — a rise from zero is
 * Increasing, a fall Decreasing, zero to zero Stable. Pure.
 */
import { studentTwoSidedPValue } from './stats';

export type TrendDirection = 'Increasing' | 'Decreasing' | 'Stable' | 'Insufficient';

export function detectTrend(points: readonly number[], window: number, sensitivity: number): TrendDirection {
  if (window < 1 || points.length < 2 * window) return 'Insufficient';
  const mean = (from: number, to: number) => points.slice(from, to).reduce((a, b) => a + b, 0) / window;
  const recent = mean(points.length - window, points.length);
  const earlier = mean(points.length - 2 * window, points.length - window);
  if (earlier === 0) return recent > 0 ? 'Increasing' : recent < 0 ? 'Decreasing' : 'Stable';
  const change = (recent - earlier) / Math.abs(earlier);
  return change > sensitivity ? 'Increasing' : change < -sensitivity ? 'Decreasing' : 'Stable';
}

/**
 * Seasonal-trend analysis of an evenly spaced series (hourly points by default):
 * - decomposition (classical, additive): the trend is the centred moving average over a day; the daily profile is
 *   the mean of the detrended values at each hour of the day (centred on zero); with two weeks or more, a weekly
 *   profile (a level per day of the week) is taken from the values detrended by a week's moving average less the
 *   daily profile; the residual is the rest. Each seasonality's
 *   strength is 1 − var(residual) / var(seasonal + residual) (Hyndman & Athanasopoulos), 0 when absent.
 * - trend: ordinary least squares of the deseasonalised series on time — slope per point, its standard error,
 *   t statistic and two-sided p-value; the direction is Increasing/Decreasing only when the slope is significant
 *   (p < 0.05) and moves the level by more than `minChange` (1 %) over the series, else Stable.
 * - forecast: the next `horizon` points, trend line plus the seasonal profiles, with a 95 % prediction band from the
 *   residuals (the OLS prediction variance: σ² (1 + 1/n + (x − x̄)² / Sxx)).
 */
export interface SeasonalTrend {
  points: number;
  trend: { direction: TrendDirection; slopePerPoint: number; standardError: number; tStatistic: number; pValue: number; significant: boolean; changePercent: number | null };
  seasonality: { daily: { strength: number; profile: number[] } | null; weekly: { strength: number; profile: number[] } | null };
  forecast: Array<{ step: number; value: number; lower: number; upper: number }>;
}

export interface SeasonalTrendOptions {
  /** Points per day (24 for hourly points) and per week (168). */
  day: number;
  week: number;
  horizon: number;
  alpha: number;
  minChange: number;
}

export const SEASONAL_TREND_DEFAULTS: SeasonalTrendOptions = { day: 24, week: 168, horizon: 24, alpha: 0.05, minChange: 0.01 };

const meanOf = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
const varianceOf = (values: readonly number[]) => {
  const m = meanOf(values);
  return values.length ? values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length : 0;
};

/** centredMovingAverage over `period` points (a 2 × period average for an even period); NaN at the ends. */
function centredMovingAverage(values: readonly number[], period: number): number[] {
  const half = Math.floor(period / 2);
  return values.map((_, i) => {
    if (i - half < 0 || i + half >= values.length) return NaN;
    if (period % 2 === 1) return meanOf(values.slice(i - half, i + half + 1));
    let sum = (values[i - half]! + values[i + half]!) / 2;
    for (let k = i - half + 1; k < i + half; k++) sum += values[k]!;
    return sum / period;
  });
}

/** seasonalProfile is the mean of the values at each position of the period, centred on zero (NaN skipped). */
function seasonalProfile(values: readonly number[], period: number): number[] {
  const sums = new Array<number>(period).fill(0);
  const counts = new Array<number>(period).fill(0);
  values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    sums[i % period]! += v;
    counts[i % period]!++;
  });
  const profile = sums.map((s, k) => (counts[k] ? s / counts[k]! : 0));
  const centre = meanOf(profile);
  return profile.map((p) => p - centre);
}

const strength = (seasonal: readonly number[], residual: readonly number[]) => {
  const both = varianceOf(seasonal.map((s, i) => s + residual[i]!));
  return both === 0 ? 0 : Math.max(0, 1 - varianceOf(residual) / both);
};

/**
 * analyzeSeasonalTrend decomposes an evenly spaced series (oldest first; the first point's position in the day and
 * week is `phase`, e.g. its hour of the week for hourly points) and forecasts it. Needs two days of points.
 */
export function analyzeSeasonalTrend(values: readonly number[], options: Partial<SeasonalTrendOptions> = {}, phase = 0): SeasonalTrend | null {
  const o = { ...SEASONAL_TREND_DEFAULTS, ...options };
  const n = values.length;
  if (n < 2 * o.day) return null;
  // The daily profile from the values detrended by a day's moving average (positions aligned by `phase`).
  const ma = centredMovingAverage(values, o.day);
  const aligned = (period: number, series: readonly number[]) => [...new Array<number>(phase % period).fill(NaN), ...series];
  const dailyProfile = seasonalProfile(aligned(o.day, values.map((v, i) => v - ma[i]!)), o.day);
  const daily = (i: number) => dailyProfile[(i + phase) % o.day]!;
  let weekly: ((i: number) => number) | null = null;
  let weeklyProfile: number[] | null = null;
  if (n >= 2 * o.week) {
    // The weekly profile is a level per day of the week (what is weekly in a service's load: weekends, Mondays);
    // 168 hour-of-week means from a few weeks would mostly learn noise. Detrended by a week's moving average: a
    // day's average follows a weekend's dip and would hide it.
    const weekMa = centredMovingAverage(values, o.week);
    const days = Math.round(o.week / o.day);
    const dayOf = (i: number) => Math.floor(((i + phase) % o.week) / o.day);
    const sums = new Array<number>(days).fill(0);
    const counts = new Array<number>(days).fill(0);
    values.forEach((v, i) => {
      const r = v - weekMa[i]! - daily(i);
      if (Number.isNaN(r)) return;
      sums[dayOf(i)]! += r;
      counts[dayOf(i)]!++;
    });
    const levels = sums.map((sum, d) => (counts[d] ? sum / counts[d]! : 0));
    const centre = meanOf(levels);
    weeklyProfile = levels.map((l) => l - centre);
    const profile = weeklyProfile;
    weekly = (i: number) => profile[dayOf(i)]!;
  }
  const seasonal = (i: number) => daily(i) + (weekly ? weekly(i) : 0);
  const deseasonalised = values.map((v, i) => v - seasonal(i));
  // OLS of the deseasonalised values on time.
  const xs = deseasonalised.map((_, i) => i);
  const xBar = meanOf(xs);
  const yBar = meanOf(deseasonalised);
  const sxx = xs.reduce((a, x) => a + (x - xBar) ** 2, 0);
  const slope = xs.reduce((a, x, i) => a + (x - xBar) * (deseasonalised[i]! - yBar), 0) / sxx;
  const intercept = yBar - slope * xBar;
  const residuals = deseasonalised.map((y, i) => y - (intercept + slope * i));
  // Degrees of freedom: the line's two, the daily profile's day − 1 and the weekly's 6.
  const fitted = 2 + (o.day - 1) + (weeklyProfile ? weeklyProfile.length - 1 : 0);
  const sigma2 = residuals.reduce((a, r) => a + r * r, 0) / Math.max(1, n - fitted);
  const standardError = Math.sqrt(sigma2 / sxx);
  const tStatistic = standardError === 0 ? (slope === 0 ? 0 : Math.sign(slope) * Infinity) : slope / standardError;
  // The slope's t statistic has Student's t distribution with the residual degrees of freedom.
  const pValue = studentTwoSidedPValue(tStatistic, Math.max(1, n - fitted));
  const significant = pValue < o.alpha;
  const start = intercept;
  const end = intercept + slope * (n - 1);
  const changePercent = start === 0 ? null : ((end - start) / Math.abs(start)) * 100;
  const moves = changePercent === null ? slope !== 0 : Math.abs(changePercent) > o.minChange * 100;
  const direction: TrendDirection = significant && moves ? (slope > 0 ? 'Increasing' : 'Decreasing') : 'Stable';
  // Residuals of the full decomposition (trend line + seasonality) for the strengths.
  const dailyStrength = strength(values.map((_, i) => daily(i)), residuals);
  const weeklyStrength = weekly ? strength(values.map((_, i) => weekly!(i)), residuals) : 0;
  const z = 1.959964;
  const forecast = Array.from({ length: o.horizon }, (_, k) => {
    const x = n + k;
    const value = intercept + slope * x + seasonal(x);
    const half = z * Math.sqrt(sigma2 * (1 + 1 / n + (x - xBar) ** 2 / sxx));
    return { step: k + 1, value, lower: value - half, upper: value + half };
  });
  return {
    points: n,
    trend: { direction, slopePerPoint: slope, standardError, tStatistic, pValue, significant, changePercent },
    seasonality: { daily: { strength: dailyStrength, profile: dailyProfile }, weekly: weeklyProfile ? { strength: weeklyStrength, profile: weeklyProfile } : null },
    forecast,
  };
}
