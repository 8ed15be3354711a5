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
 * - novelty (the default): news, not noise. A point is anomalous when it is far from the day's median (robust z) AND
 *   beyond anything seen in the last two weeks (a new extreme: what happens every day or week, however spiky, is
 *   not news); a sustained level is judged the same way on the median of the last hour; a value stuck for longer
 *   than any run in the last two weeks (a flatlined metric) is one too. One alert per incident.
 * - seasonal: the same time of day on each of the previous days (and so the same hour last week), median/MAD.
 * - cusum: drift and change points — Page's two-sided CUSUM of the (clipped) robust z against the previous day.
 * - kmeans: a learned pattern method after Netdata's: k-means (k = 2) over windows of the smoothed differences,
 *   retrained every day on the last week; a window farther from both centroids than any training window is news.
 * Every anomaly carries its explanation: the expected band, the actual value, the score, the method and a reason.
 * zscore, robust and novelty live here, seasonal, cusum and kmeans in core/anomaly-detectors.ts, what they share
 * (baseline, suppression, verdicts) in core/anomaly-base.ts.
 */

import { flag, median, remember, robustBaseline, round, suppressor, type AnomalySeverity, type AnomalyVerdict, type Detector } from './anomaly-base';
import { cusumDetector, kmeansDetector, seasonalDetector } from './anomaly-detectors';

export { kmeans } from './kmeans';
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


export interface NoveltyOptions {
  /** Points of the day baseline (288 five-minute points). */
  window: number;
  /** Robust z against the day beyond which a point may be news. */
  threshold: number;
  /** Points of the level (12: the last hour) and its robust z threshold. */
  levelPoints: number;
  levelThreshold: number;
  /** Points of memory (4032: two weeks) a new extreme must exceed. */
  longWindow: number;
  /** A run of identical values this long, and longer than any in memory, is a stuck metric. */
  minRun: number;
  minRelativeSpread: number;
  /** Points after an alert during which no other is reported (streaming only; the alert workflow dedups the scan). */
  suppressPoints: number;
}

export const NOVELTY_DEFAULTS: NoveltyOptions = { window: 288, threshold: 3, levelPoints: 12, levelThreshold: 2, longWindow: 4032, minRun: 12, minRelativeSpread: 0.02, suppressPoints: 288 };

/** beyondAll tells whether v is above (up) or below every value of values[from, to). */
const beyondAll = (values: readonly number[], v: number, up: boolean, from = 0, to = values.length) => {
  for (let k = from; k < to; k++) if (up ? values[k]! >= v : values[k]! <= v) return false;
  return true;
};

/** levels is the median of each point's last `k` points (the first k − 1 have none). */
function levels(series: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let i = k - 1; i < series.length; i++) out.push(median(series.slice(i - k + 1, i + 1).sort((a, b) => a - b)));
  return out;
}

/** runEnding is the length of the run of identical values ending at index `end`. */
function runEnding(series: readonly number[], end: number): number {
  let n = 1;
  while (end - n >= 0 && series[end - n] === series[end]) n++;
  return n;
}

/** longestRun is the longest run of identical values in series[from, to). */
function longestRun(series: readonly number[], from: number, to: number): number {
  let best = 0;
  let run = 0;
  for (let i = from; i < to; i++) {
    run = i > from && series[i] === series[i - 1] ? run + 1 : 1;
    if (run > best) best = run;
  }
  return best;
}

/**
 * judgeNovelty judges the last point of `series` (oldest first) against the points before it; `priorLevels` are the
 * level (median of the last `levelPoints`) at each earlier point when the caller keeps them, else they are computed.
 */
function judgeNovelty(series: readonly number[], o: NoveltyOptions, priorLevels?: readonly number[]): AnomalyVerdict {
  const i = series.length - 1;
  if (i < o.window) return { kind: 'InsufficientData' };
  const value = series[i]!;
  // The two weeks before the point, scanned in place (most points never need them).
  const memoryFrom = Math.max(0, i - o.longWindow);
  const memory = { length: i - memoryFrom };
  const day = robustBaseline(series.slice(i - o.window, i), o.minRelativeSpread);
  const expected: [number, number] = [round(day.m - o.threshold * day.spread), round(day.m + o.threshold * day.spread)];
  const score = (value - day.m) / day.spread;
  const anomaly = (s: number, reason: string, severity: AnomalySeverity = Math.abs(s) > 2 * o.threshold ? 'High' : 'Medium'): AnomalyVerdict => ({ kind: 'Anomaly', severity, score: s, expected, method: 'novelty', reason });
  if (Math.abs(score) > o.threshold && beyondAll(series, value, score > 0, memoryFrom, i)) {
    return anomaly(score, `${round(value)} is ${round(Math.abs(score))} spreads ${score > 0 ? 'above' : 'below'} the day's median ${round(day.m)} and ${score > 0 ? 'above' : 'below'} everything in the last ${memory.length} points`);
  }
  const run = runEnding(series, i);
  if (o.minRun > 0 && run >= o.minRun && run > longestRun(series, Math.max(0, i - o.longWindow), i - run + 1)) {
    return anomaly(0, `unchanged at ${round(value)} for ${run} points, longer than any run in the last ${memory.length}`, 'Medium');
  }
  if (o.levelPoints > 1 && i >= o.levelPoints - 1) {
    const level = median(series.slice(i - o.levelPoints + 1).sort((a, b) => a - b));
    const levelScore = (level - day.m) / day.spread;
    if (Math.abs(levelScore) > o.levelThreshold) {
      const before = priorLevels ?? levels(series.slice(Math.max(0, i - o.longWindow - o.levelPoints + 1), i), o.levelPoints);
      if (beyondAll(before, level, levelScore > 0, Math.max(0, before.length - o.longWindow))) {
        return anomaly(levelScore, `the median of the last ${o.levelPoints} points, ${round(level)}, is ${round(Math.abs(levelScore))} spreads ${levelScore > 0 ? 'above' : 'below'} the day's median ${round(day.m)}: a level not seen in the last ${memory.length} points`);
      }
    }
  }
  return { kind: 'Normal', score, expected };
}

/** noveltyVerdict judges the newest point of a series (oldest first) without suppression: the scheduled scan's form. */
export function noveltyVerdict(series: readonly number[], options: Partial<NoveltyOptions> = {}): AnomalyVerdict {
  return judgeNovelty(series, { ...NOVELTY_DEFAULTS, ...options });
}

/** noveltyDetector streams the novelty detector with alert suppression (see the file's comment). */
export function noveltyDetector(options: Partial<NoveltyOptions> = {}): Detector {
  const o = { ...NOVELTY_DEFAULTS, ...options };
  const keep = o.longWindow + 1;
  const series: number[] = [];
  const lv: number[] = [];
  const gate = suppressor(o.suppressPoints);
  return {
    method: 'novelty',
    next(value) {
      gate.tick();
      series.push(value);
      if (series.length > keep) series.shift();
      const verdict = judgeNovelty(series, o, lv);
      if (o.levelPoints > 1 && series.length >= o.levelPoints) {
        lv.push(median(series.slice(-o.levelPoints).sort((a, b) => a - b)));
        if (lv.length > o.longWindow) lv.shift();
      }
      if (verdict.kind === 'Anomaly' && !gate.allow()) return { kind: 'Normal', score: verdict.score, expected: verdict.expected };
      return verdict;
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
