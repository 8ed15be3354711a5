/**
 * PromQL's functions over one series (range functions) or one value (instant functions), with Prometheus 3's
 * semantics (promql/functions.go): extrapolated rate/increase/delta, counter resets, linear regression for
 * deriv/predict_linear, and the quantile rules of `quantile` and `histogram_quantile` over classic buckets.
 */

/** mean is the average; where the sum overflows, an incremental mean (as Prometheus falls back to). */
export function mean(v: readonly number[]): number {
  const s = sum(v);
  if (Number.isFinite(s)) return s / v.length;
  let m = 0;
  v.forEach((x, i) => {
    m += x / (i + 1) - m / (i + 1);
  });
  return Number.isFinite(m) ? m : s / v.length;
}

/** RangeContext is where a range function's window lies (ms) and its scalar parameter, if any. */
export interface RangeContext {
  rangeStartMs: number;
  rangeEndMs: number;
  rangeMs: number;
  param: number;
  /** A second scalar parameter (double_exponential_smoothing's trend factor). */
  param2: number;
  evalMs: number;
}

type RangeFn = (t: readonly number[], v: readonly number[], ctx: RangeContext) => number | undefined;

/**
 * extrapolatedRate is Prometheus' rate/increase/delta: the change over the samples, with counter resets added back
 * for counters, extrapolated to the window's edges when the samples come close to them (within 1.1 average
 * intervals), else by half an interval; a counter is never extrapolated below zero.
 */
function extrapolatedRate(t: readonly number[], v: readonly number[], ctx: RangeContext, isCounter: boolean, isRate: boolean): number | undefined {
  const n = t.length;
  if (n < 2) return undefined;
  let result = v[n - 1]! - v[0]!;
  if (isCounter) {
    for (let i = 1; i < n; i++) if (v[i]! < v[i - 1]!) result += v[i - 1]!;
  }
  let durationToStart = (t[0]! - ctx.rangeStartMs) / 1000;
  let durationToEnd = (ctx.rangeEndMs - t[n - 1]!) / 1000;
  const sampledInterval = (t[n - 1]! - t[0]!) / 1000;
  const averageInterval = sampledInterval / (n - 1);
  const threshold = averageInterval * 1.1;
  if (durationToStart >= threshold) durationToStart = averageInterval / 2;
  if (isCounter && result > 0 && v[0]! >= 0) {
    const durationToZero = sampledInterval * (v[0]! / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = averageInterval / 2;
  let factor = sampledInterval !== 0 ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval : 1;
  if (isRate) factor /= ctx.rangeMs / 1000;
  return result * factor;
}

/** instantValue is irate/idelta: from the last two samples. */
function instantValue(t: readonly number[], v: readonly number[], isRate: boolean): number | undefined {
  const n = t.length;
  if (n < 2) return undefined;
  const last = v[n - 1]!;
  const previous = v[n - 2]!;
  const dt = (t[n - 1]! - t[n - 2]!) / 1000;
  if (dt === 0) return undefined;
  let result = isRate && last < previous ? last : last - previous;
  if (isRate) result /= dt;
  return result;
}

/** linearRegression: least squares over (seconds since interceptMs, value); a constant series has slope 0. */
function linearRegression(t: readonly number[], v: readonly number[], interceptMs: number): [number, number] {
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  let constant = true;
  for (let i = 0; i < t.length; i++) {
    if (i > 0 && v[i] !== v[0]) constant = false;
    const x = (t[i]! - interceptMs) / 1000;
    n++;
    sumX += x;
    sumY += v[i]!;
    sumXY += x * v[i]!;
    sumX2 += x * x;
  }
  if (constant) return Number.isFinite(v[0]!) ? [0, v[0]!] : [Number.NaN, Number.NaN];
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

/** sum adds with Kahan compensation, as Prometheus' sum and sum_over_time do. */
export function sum(v: readonly number[]): number {
  let s = 0;
  let c = 0;
  for (const x of v) {
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x;
    else c += x - t + s;
    s = t;
  }
  return Number.isFinite(s) || Number.isNaN(s) ? s + c : s;
}

/** variance is the population variance (Welford), as stdvar and stdvar_over_time compute it. */
export function variance(v: readonly number[]): number {
  let m = 0;
  let aux = 0;
  v.forEach((x, i) => {
    const delta = x - m;
    m += delta / (i + 1);
    aux += delta * (x - m);
  });
  return aux / v.length;
}

export const RANGE_FUNCTIONS_IMPL: Record<string, RangeFn> = {
  rate: (t, v, ctx) => extrapolatedRate(t, v, ctx, true, true),
  increase: (t, v, ctx) => extrapolatedRate(t, v, ctx, true, false),
  delta: (t, v, ctx) => extrapolatedRate(t, v, ctx, false, false),
  irate: (t, v) => instantValue(t, v, true),
  idelta: (t, v) => instantValue(t, v, false),
  avg_over_time: (_t, v) => mean(v),
  sum_over_time: (_t, v) => sum(v),
  count_over_time: (_t, v) => v.length,
  min_over_time: (_t, v) => v.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a)),
  max_over_time: (_t, v) => v.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a)),
  last_over_time: (_t, v) => v[v.length - 1],
  present_over_time: () => 1,
  stddev_over_time: (_t, v) => Math.sqrt(variance(v)),
  stdvar_over_time: (_t, v) => variance(v),
  quantile_over_time: (_t, v, ctx) => quantile(ctx.param, v),
  changes: (_t, v) => {
    let n = 0;
    for (let i = 1; i < v.length; i++) if (!(v[i] === v[i - 1] || (Number.isNaN(v[i]!) && Number.isNaN(v[i - 1]!)))) n++;
    return n;
  },
  resets: (_t, v) => {
    let n = 0;
    for (let i = 1; i < v.length; i++) if (v[i]! < v[i - 1]!) n++;
    return n;
  },
  deriv: (t, v) => (t.length < 2 ? undefined : linearRegression(t, v, t[0]!)[0]),
  double_exponential_smoothing: (_t, v, ctx) => {
    // Prometheus' Holt linear smoothing: level by the smoothing factor, trend by the trend factor (both in (0, 1)).
    const [sf, tf] = [ctx.param, ctx.param2];
    if (!(sf > 0 && sf < 1)) throw new RangeError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
    if (!(tf > 0 && tf < 1)) throw new RangeError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
    if (v.length < 2) return undefined;
    let s0 = 0;
    let s1 = v[0]!;
    let b = v[1]! - v[0]!;
    for (let i = 1; i < v.length; i++) {
      const x = sf * v[i]!;
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    return s1;
  },
  predict_linear: (t, v, ctx) => {
    if (t.length < 2) return undefined;
    const [slope, intercept] = linearRegression(t, v, ctx.evalMs);
    return slope * ctx.param + intercept;
  },
};

const toRadians = Math.PI / 180;

/** INSTANT_FUNCTIONS map a value (and the call's scalar parameters) to a value. */
export const INSTANT_FUNCTIONS: Record<string, (v: number, params: readonly number[]) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  acos: Math.acos,
  acosh: Math.acosh,
  asin: Math.asin,
  asinh: Math.asinh,
  atan: Math.atan,
  atanh: Math.atanh,
  cos: Math.cos,
  cosh: Math.cosh,
  sin: Math.sin,
  sinh: Math.sinh,
  tan: Math.tan,
  tanh: Math.tanh,
  deg: (v) => v / toRadians,
  rad: (v) => v * toRadians,
  round: (v, [toNearest = 1]) => {
    const inverse = 1 / toNearest;
    return Math.floor(v * inverse + 0.5) / inverse;
  },
  clamp: (v, [min, max]) => Math.max(min!, Math.min(max!, v)),
  clamp_min: (v, [min]) => Math.max(min!, v),
  clamp_max: (v, [max]) => Math.min(max!, v),
};

/** quantile is PromQL's φ-quantile of values (linear interpolation between the closest ranks). */
export function quantile(q: number, values: readonly number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort((a, b) => (Number.isNaN(a) ? -1 : Number.isNaN(b) ? 1 : a - b));
  const n = sorted.length;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  if (weight === 0) return sorted[lower]!;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/**
 * bucketQuantile is histogram_quantile over classic buckets (cumulative counts by upper bound `le`): linear
 * interpolation inside the bucket holding the rank; needs a +Inf bucket; non-monotonic counts are forced monotonic.
 */
export function bucketQuantile(q: number, input: ReadonlyArray<{ upper: number; count: number }>): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (input.length === 0) return Number.NaN;
  const sorted = [...input].sort((a, b) => a.upper - b.upper);
  if (sorted[sorted.length - 1]!.upper !== Infinity) return Number.NaN;
  const buckets: Array<{ upper: number; count: number }> = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else buckets.push({ ...b });
  }
  let previous = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const current = buckets[i]!.count;
    if (current === previous) continue;
    if (Math.abs(current - previous) <= 1e-12 * Math.max(Math.abs(current), Math.abs(previous)) || current < previous) {
      buckets[i]!.count = previous;
      continue;
    }
    previous = current;
  }
  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && buckets[b]!.count < rank) b++;
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.upper;
  if (b === 0 && buckets[0]!.upper <= 0) return buckets[0]!.upper;
  let start = 0;
  const end = buckets[b]!.upper;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.upper;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

/** formatFloat writes a value as Go's strconv.FormatFloat(v, 'f', -1, 64) does (count_values' label values). */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const text = String(v);
  if (!/e/i.test(text)) return text;
  const [mantissa, exponentText] = text.split(/e/i) as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace(/^-/, '').replace('.', '');
  const point = (mantissa.replace(/^-/, '').split('.')[0]!.length) + exponent;
  const body = point <= 0 ? `0.${'0'.repeat(-point)}${digits}` : point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + body;
}
