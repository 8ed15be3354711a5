/**
 * Anomaly detectors. Each is streaming: the verdict for point i uses points ≤ i only. Pure.
 *
 * - zScore: the seed's StatisticalAnomalyDetector with its exact semantics — the previous `baselineWindow` points'
 *   mean and (population) standard deviation, anomaly when |z| > sensitivity, `High` when |z| > 1.5 × sensitivity,
 *   expected range mean ± sensitivity × std, `InsufficientData` before a full window; a zero standard deviation is
 *   handled (an anomaly iff the value differs from the constant window, z = ±Infinity).
 * - robust: the same question asked of the median and the MAD (scaled to a standard deviation) of the window, so
 *   the spikes it looks for do not inflate the baseline that judges them, with a floor on the spread (a flat series
 *   does not make every wiggle an anomaly); a point must also stand out against everything seen over the
 *   `longWindow` (two weeks of 5-minute points: what happens every week is not news), and alert suppression:
 *   after an alert, none for `suppressPoints` (one incident, one alert).
 */

export type AnomalySeverity = 'Medium' | 'High';

export type AnomalyVerdict =
  | { kind: 'InsufficientData' }
  | { kind: 'Normal'; score: number; expected: [number, number] }
  | { kind: 'Anomaly'; severity: AnomalySeverity; score: number; expected: [number, number]; method: string };

/** zScoreVerdict is the seed's detector for one point against its history. */
export function zScoreVerdict(history: readonly number[], value: number, baselineWindow: number, sensitivity: number): AnomalyVerdict {
  if (history.length < baselineWindow) return { kind: 'InsufficientData' };
  const baseline = history.slice(history.length - baselineWindow);
  const mean = baseline.reduce((a, b) => a + b, 0) / baseline.length;
  const std = Math.sqrt(baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / baseline.length);
  const expected: [number, number] = [mean - sensitivity * std, mean + sensitivity * std];
  const z = std === 0 ? (value === mean ? 0 : Math.sign(value - mean) * Infinity) : (value - mean) / std;
  if (Math.abs(z) <= sensitivity) return { kind: 'Normal', score: z, expected };
  return { kind: 'Anomaly', severity: Math.abs(z) > 1.5 * sensitivity ? 'High' : 'Medium', score: z, expected, method: 'zscore' };
}

/** Detector is a streaming detector: feed it points in order, it answers each. */
export interface Detector {
  readonly method: string;
  next(value: number): AnomalyVerdict;
}

/** zScoreDetector streams the seed's detector (no suppression: every point beyond the threshold is reported). */
export function zScoreDetector(baselineWindow = 288, sensitivity = 3): Detector {
  const history: number[] = [];
  return {
    method: 'zscore',
    next(value) {
      const verdict = zScoreVerdict(history, value, baselineWindow, sensitivity);
      history.push(value);
      if (history.length > baselineWindow) history.shift();
      return verdict;
    },
  };
}

export interface RobustOptions {
  /** Points in the baseline (288: a day of 5-minute samples). */
  window: number;
  /** Robust z beyond which a point is anomalous. */
  threshold: number;
  /** Points after an alert during which no other is reported. */
  suppressPoints: number;
  /** The spread never counts as less than this share of the baseline's median level. */
  minRelativeSpread: number;
  /** A second, longer baseline that must agree (0: off); used once it holds `window` points. */
  longWindow: number;
  longThreshold: number;
}

export const ROBUST_DEFAULTS: RobustOptions = { window: 288, threshold: 5, suppressPoints: 288, minRelativeSpread: 0.02, longWindow: 4032, longThreshold: 6 };

const median = (sorted: readonly number[]) => {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
};

/** robustDetector streams the median/MAD detector with alert suppression (see the file's comment). */
export function robustDetector(options: Partial<RobustOptions> = {}): Detector {
  const { window, threshold, suppressPoints, minRelativeSpread, longWindow, longThreshold } = { ...ROBUST_DEFAULTS, ...options };
  const history: number[] = [];
  const long: number[] = [];
  /** baseline is a window's median and its spread (the scaled MAD, at least the floor). */
  const baseline = (values: readonly number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const m = median(sorted);
    const mad = median(sorted.map((v) => Math.abs(v - m)).sort((a, b) => a - b)) * 1.4826;
    return { m, spread: Math.max(mad, minRelativeSpread * Math.abs(m), 1e-9) };
  };
  const remember = (values: number[], value: number, size: number) => {
    values.push(value);
    if (values.length > size) values.shift();
  };
  let lastAlert = -Infinity;
  let seen = 0;
  return {
    method: 'robust',
    next(value) {
      seen++;
      const ready = history.length >= window;
      const day = ready ? baseline(history) : undefined;
      // The long baseline is asked only about a point the day's already finds anomalous (most points are not).
      const score = day ? (value - day.m) / day.spread : 0;
      const beyond = day !== undefined && Math.abs(score) > threshold;
      const weeks = beyond && longWindow > 0 && long.length >= window ? baseline(long) : undefined;
      const longAgrees = !weeks || Math.abs((value - weeks.m) / weeks.spread) > longThreshold;
      remember(history, value, window);
      if (longWindow > 0) remember(long, value, longWindow);
      if (!day) return { kind: 'InsufficientData' };
      const expected: [number, number] = [day.m - threshold * day.spread, day.m + threshold * day.spread];
      if (!beyond || !longAgrees) return { kind: 'Normal', score, expected };
      // Suppressed: too soon after the last alert (the same incident).
      if (seen - lastAlert < suppressPoints) return { kind: 'Normal', score, expected };
      lastAlert = seen;
      return { kind: 'Anomaly', severity: Math.abs(score) > 1.5 * threshold ? 'High' : 'Medium', score, expected, method: 'robust' };
    },
  };
}
