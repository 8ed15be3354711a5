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
 * - novelty (the default, core/novelty.ts): news, not noise. A value, a level, or a departure from the same time on
 *   earlier days that is far from the day's usual AND beyond anything in the last two weeks; a value stuck longer
 *   than any run before. Windows in time, not points. One alert per incident.
 * - seasonal: the same time of day on each of the previous days (and so the same hour last week), median/MAD.
 * - cusum: drift and change points — Page's two-sided CUSUM of the (clipped) robust z against the previous day.
 * - kmeans: a learned pattern method after Netdata's: k-means (k = 2) over windows of the smoothed differences,
 *   retrained every day on the last week; a window farther from both centroids than any training window is news.
 * Every anomaly carries its explanation: the expected band, the actual value, the score, the method and a reason.
 * zscore and robust live here, novelty in core/novelty.ts, seasonal, cusum and kmeans in core/anomaly-detectors.ts, what they share
 * (baseline, suppression, verdicts) in core/anomaly-base.ts.
 */

import { flag, remember, robustBaseline, suppressor, type AnomalyVerdict, type Detector } from './anomaly-base';
import { cusumDetector, kmeansDetector, seasonalDetector } from './anomaly-detectors';
import { noveltyDetector } from './novelty';

export { kmeans } from './kmeans';
export { noveltyDetector, noveltyVerdict, NOVELTY_DEFAULTS, NOVELTY_HISTORY_MS, type NoveltyOptions } from './novelty';
export type { AnomalySeverity, AnomalyVerdict, Detector } from './anomaly-base';
export { cusumDetector, kmeansDetector, seasonalDetector, CUSUM_DEFAULTS, KMEANS_DEFAULTS, SEASONAL_DEFAULTS, type CusumOptions, type KMeansOptions, type SeasonalOptions } from './anomaly-detectors';

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

/** robustDetector streams the median/MAD detector with alert suppression (see the file's comment). */
export function robustDetector(options: Partial<RobustOptions> = {}): Detector {
  const { window, threshold, suppressPoints, minRelativeSpread, longWindow, longThreshold } = { ...ROBUST_DEFAULTS, ...options };
  const history: number[] = [];
  const long: number[] = [];
  const baseline = (values: readonly number[]) => robustBaseline(values, minRelativeSpread);
  const gate = suppressor(suppressPoints);
  return {
    method: 'robust',
    next(value) {
      gate.tick();
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
      // Suppressed too soon after the last alert (the same incident).
      return flag(gate, { score, limit: threshold, highAt: 1.5 * threshold, expected, method: 'robust', beyond: beyond && longAgrees });
    },
  };
}


/** ANOMALY_METHODS are the streaming detectors by name, each with its default configuration; `novelty` is the default. */
export const ANOMALY_METHODS: Record<string, () => Detector> = {
  novelty: () => noveltyDetector(),
  robust: () => robustDetector(),
  seasonal: () => seasonalDetector(),
  cusum: () => cusumDetector(),
  kmeans: () => kmeansDetector(),
  zscore: () => zScoreDetector(288, 3),
};

export const DEFAULT_ANOMALY_METHOD = 'novelty';
