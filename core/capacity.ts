import { ExponentialRegression, PolynomialRegression, SimpleLinearRegression } from 'ml-regression';

/**
 * The seed's CapacityPlanner: fit the usage history, predict it `forecastDays` ahead, add the safety margin, and
 * say whether to scale. Three growth models are fitted on the older 80 % of the points and judged on the newest
 * 20 % (the model that forecasts best, not the one that fits best); the chosen one is refitted on all points. The
 * confidence interval is a 95 % prediction interval from the chosen model's residuals, widening with the distance
 * from the data (exact for the linear model, the same leverage term for the others). A forecast needs history in
 * proportion to its horizon — a quarter of it, and a day at least — and stays within what the resource can be (a
 * percentage between 0 and 100, a rate not below 0): a utilisation cannot say how far demand goes past saturation, so
 * a forecast at the bound says "saturated", and the scale-up factor follows from that. Pure: history and time are
 * passed in.
 */

/** PERCENT and RATE are the values a resource's usage can take. */
const PERCENT: readonly [number, number] = [0, 100];
const RATE: readonly [number, number] = [0, Number.POSITIVE_INFINITY];

/** The resources capacity is planned for, the usage each should stay under (none known for a request rate) and its bounds. */
export const CAPACITY_RESOURCES: ReadonlyArray<{ resource: string; metric: string; threshold?: number; bounds: readonly [number, number] }> = [
  { resource: 'cpu', metric: 'cpu_usage_percent', threshold: 80, bounds: PERCENT },
  { resource: 'memory', metric: 'memory_usage_percent', threshold: 85, bounds: PERCENT },
  { resource: 'disk', metric: 'disk_usage_percent', threshold: 85, bounds: PERCENT },
  { resource: 'request_rate', metric: 'requests_per_second', bounds: RATE },
];

/** MIN_HISTORY_SHARE of the horizon (and MIN_HISTORY_DAYS at least) must be covered by history for a forecast. */
export const MIN_HISTORY_SHARE = 0.25;
export const MIN_HISTORY_DAYS = 1;

/** The seed's safety margin on the recommended capacity. */
export const CAPACITY_SAFETY_MARGIN = 0.2;

export type GrowthModel = 'linear' | 'polynomial' | 'exponential';

export type ScalingRecommendation =
  | { type: 'NoAction'; reason: string }
  | { type: 'ScaleUp'; factor: number; urgency: 'low' | 'medium' | 'high' | 'critical'; reason: string }
  | { type: 'ScaleDown'; factor: number; savings_potential: number; reason: string };

export interface CapacityForecast {
  predicted_usage: number;
  recommended_capacity: number;
  confidence_interval: [number, number];
  scaling_recommendation: ScalingRecommendation;
  model: GrowthModel;
  /** Held-out error (RMSE on the newest 20 %) of each model that could be fitted. */
  holdout_rmse: Partial<Record<GrowthModel, number>>;
  /** Days from now until the forecast crosses the resource's limit; null when it does not within the horizon. */
  days_until_threshold: number | null;
  points: number;
}

export interface CapacityOptions {
  forecastDays: number;
  /** The seed's safety margin: recommended = predicted × (1 + margin). */
  safetyMargin: number;
  /** The usage a resource should stay under (e.g. 80 % CPU); undefined for a resource without a known limit. */
  threshold?: number;
  /** Scale up above this share of the threshold, down below `scaleDownBelow` of it. */
  scaleDownBelow?: number;
  /** How far ahead days_until_threshold looks. */
  horizonDays?: number;
  /** The values the usage can take (a percentage: [0, 100]); unbounded when absent. */
  bounds?: readonly [number, number];
}

const DAY_MS = 86_400_000;

interface Fitted {
  model: GrowthModel;
  predict: (x: number) => number;
}

function fit(model: GrowthModel, x: number[], y: number[]): Fitted | undefined {
  try {
    if (model === 'linear') {
      const r = new SimpleLinearRegression(x, y);
      return { model, predict: (v) => r.predict(v) };
    }
    if (model === 'polynomial') {
      if (x.length < 4) return undefined;
      const r = new PolynomialRegression(x, y, 2);
      // A parabola turns. One that turns within the data (a rise levelling off into a plateau) is no growth model:
      // beyond the data it would forecast a fall the data never showed. One that turns ahead holds its vertex value.
      const [, b = 0, a = 0] = r.coefficients;
      const first = Math.min(...x);
      const last = Math.max(...x);
      const vertex = a !== 0 ? -b / (2 * a) : Number.POSITIVE_INFINITY;
      if (vertex >= first && vertex <= last) return undefined;
      const turn = vertex > last ? vertex : Number.POSITIVE_INFINITY;
      return { model, predict: (v) => r.predict(Math.min(v, turn)) };
    }
    // Exponential growth needs positive values.
    if (y.some((v) => v <= 0)) return undefined;
    const r = new ExponentialRegression(x, y);
    return { model, predict: (v) => r.predict(v) };
  } catch {
    return undefined;
  }
}

const rmse = (f: Fitted, x: number[], y: number[]) => Math.sqrt(x.reduce((acc, xi, i) => acc + (f.predict(xi) - y[i]!) ** 2, 0) / Math.max(1, x.length));

/** CapacityError says why no forecast can be made (too little history). */
export class CapacityError extends Error {}

/** forecastCapacity predicts a resource's usage `forecastDays` after `nowMs` from its history [(ms, value)]. */
export function forecastCapacity(history: ReadonlyArray<readonly [number, number]>, nowMs: number, options: CapacityOptions): CapacityForecast {
  const points = history.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v)).sort((a, b) => a[0] - b[0]);
  if (points.length < 3) throw new CapacityError(`${points.length} points of history; at least 3 are needed`);
  const spanDays = (points[points.length - 1]![0] - points[0]![0]) / DAY_MS;
  const neededDays = Math.max(MIN_HISTORY_DAYS, options.forecastDays * MIN_HISTORY_SHARE);
  if (spanDays < neededDays) {
    throw new CapacityError(`insufficient history: ${formatDays(spanDays)} of data; a ${options.forecastDays}-day forecast needs at least ${formatDays(neededDays)}`);
  }
  const t0 = points[0]![0];
  const x = points.map(([t]) => (t - t0) / DAY_MS);
  const y = points.map(([, v]) => v);
  // Judge each model on the newest 20 % (at least one point), fitted on the rest.
  const cut = Math.max(2, Math.min(points.length - 1, Math.floor(points.length * 0.8)));
  const holdout: Partial<Record<GrowthModel, number>> = {};
  for (const model of ['linear', 'polynomial', 'exponential'] as const) {
    const f = fit(model, x.slice(0, cut), y.slice(0, cut));
    const error = f ? rmse(f, x.slice(cut), y.slice(cut)) : NaN;
    if (Number.isFinite(error)) holdout[model] = Number(error.toPrecision(6));
  }
  const ranked = (Object.entries(holdout) as Array<[GrowthModel, number]>).sort((a, b) => a[1] - b[1]);
  const chosen = fit(ranked[0]?.[0] ?? 'linear', x, y) ?? fit('linear', x, y)!;
  const xf = (nowMs + options.forecastDays * DAY_MS - t0) / DAY_MS;
  const [low, high] = options.bounds ?? [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const bounded = (v: number) => Math.min(high, Math.max(low, v));
  const predicted = bounded(chosen.predict(xf));
  // 95 % prediction interval from the residuals (n − 2 degrees of freedom; 1.96 as the normal approximation).
  const n = x.length;
  const residual = Math.sqrt(x.reduce((acc, xi, i) => acc + (chosen.predict(xi) - y[i]!) ** 2, 0) / Math.max(1, n - 2));
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const sxx = x.reduce((acc, xi) => acc + (xi - mean) ** 2, 0);
  const spread = residual * Math.sqrt(1 + 1 / n + (sxx > 0 ? (xf - mean) ** 2 / sxx : 0));
  const half = 1.96 * spread;
  const recommended = predicted * (1 + options.safetyMargin);
  const daysUntil = daysUntilThreshold(chosen, (nowMs - t0) / DAY_MS, options.threshold, options.horizonDays ?? 365);
  const round = (v: number) => Number(v.toPrecision(6));
  return {
    predicted_usage: round(predicted),
    recommended_capacity: round(recommended),
    confidence_interval: [round(bounded(predicted - half)), round(bounded(predicted + half))],
    scaling_recommendation: scalingRecommendation(recommended, options, daysUntil),
    model: chosen.model,
    holdout_rmse: holdout,
    days_until_threshold: daysUntil === null ? null : Number(daysUntil.toFixed(1)),
    points: n,
  };
}

/** formatDays writes a span as minutes under an hour, hours under two days, else days. */
function formatDays(days: number): string {
  if (days < 1 / 24) return `${Math.round(days * 1440)} min`;
  return days < 2 ? `${Math.round(days * 24)} h` : `${Number(days.toFixed(1))} days`;
}

/** daysUntilThreshold walks the model forward in hours from now until it reaches the threshold. */
function daysUntilThreshold(f: Fitted, nowDays: number, threshold: number | undefined, horizonDays: number): number | null {
  if (threshold === undefined) return null;
  if (f.predict(nowDays) >= threshold) return 0;
  for (let h = 1; h <= horizonDays * 24; h++) if (f.predict(nowDays + h / 24) >= threshold) return h / 24;
  return null;
}

/**
 * scalingRecommendation: scale up when the recommended capacity exceeds the threshold (by the factor that brings it
 * back under, urgent as the crossing is near), scale down when it stays below `scaleDownBelow` of the threshold
 * (by the factor that would still leave the margin, saving the rest), otherwise nothing.
 */
export function scalingRecommendation(recommended: number, options: CapacityOptions, daysUntil: number | null): ScalingRecommendation {
  const { threshold } = options;
  if (threshold === undefined) return { type: 'NoAction', reason: 'no capacity limit is known for this resource' };
  if (recommended > threshold) {
    const factor = Number((recommended / threshold).toFixed(2));
    const urgency = daysUntil === null || daysUntil > 30 ? 'low' : daysUntil > 7 ? 'medium' : daysUntil > 1 ? 'high' : 'critical';
    return { type: 'ScaleUp', factor, urgency, reason: `recommended ${recommended.toFixed(1)} exceeds the limit ${threshold}${daysUntil === null ? '' : `; the forecast crosses it in ${daysUntil.toFixed(1)} days`}` };
  }
  const low = (options.scaleDownBelow ?? 0.4) * threshold;
  if (recommended < low) {
    const factor = Number(Math.max(0.1, recommended / low).toFixed(2));
    return { type: 'ScaleDown', factor, savings_potential: Number((1 - factor).toFixed(2)), reason: `recommended ${recommended.toFixed(1)} stays under ${low.toFixed(1)} (${Math.round((options.scaleDownBelow ?? 0.4) * 100)} % of the limit)` };
  }
  return { type: 'NoAction', reason: `recommended ${recommended.toFixed(1)} is within the limit ${threshold}` };
}

/** ResourceForecast is one resource's plan: its forecast, or why there is none (too little history). */
export interface ResourceForecast {
  resource: string;
  metric: string;
  threshold: number | null;
  forecast: CapacityForecast | null;
  note?: string;
}

/** forecastResources forecasts each of CAPACITY_RESOURCES `days` ahead from its history, as the seed's planner does. */
export function forecastResources(historyOf: (metric: string) => ReadonlyArray<readonly [number, number]>, nowMs: number, days: number): ResourceForecast[] {
  return CAPACITY_RESOURCES.map(({ resource, metric, threshold, bounds }) => {
    try {
      const forecast = forecastCapacity(historyOf(metric), nowMs, { forecastDays: days, safetyMargin: CAPACITY_SAFETY_MARGIN, bounds, ...(threshold !== undefined ? { threshold } : {}) });
      return { resource, metric, threshold: threshold ?? null, forecast };
    } catch (err) {
      if (!(err instanceof CapacityError)) throw err;
      return { resource, metric, threshold: threshold ?? null, forecast: null, note: `no forecast: ${err.message}` };
    }
  });
}
