/**
 * The detectors beside the default (core/anomaly.ts describes each): seasonal (the same time on previous days),
 * cusum (drifts and level changes) and kmeans (learned patterns, after Netdata). Streaming and pure.
 */
import { flag, robustBaseline, round, suppressor, type Detector } from './anomaly-base';
import { kmeans } from './kmeans';

export interface SeasonalOptions {
  /** Points per season (288: a day of five-minute points). */
  period: number;
  /** Seasons looked back (7: the same time on each of the last seven days, so the same hour last week too). */
  seasons: number;
  /** Neighbours taken on each side of the same time. */
  halfWidth: number;
  threshold: number;
  minRelativeSpread: number;
  suppressPoints: number;
}

export const SEASONAL_DEFAULTS: SeasonalOptions = { period: 288, seasons: 7, halfWidth: 2, threshold: 5, minRelativeSpread: 0.02, suppressPoints: 288 };

/** seasonalDetector judges a point against the same time of day on the previous days (ready after three days). */
export function seasonalDetector(options: Partial<SeasonalOptions> = {}): Detector {
  const o = { ...SEASONAL_DEFAULTS, ...options };
  const keep = o.period * o.seasons + o.halfWidth + 1;
  const history: number[] = [];
  const gate = suppressor(o.suppressPoints);
  return {
    method: 'seasonal',
    next(value) {
      gate.tick();
      const n = history.length;
      const same: number[] = [];
      for (let d = 1; d <= o.seasons; d++) {
        for (let k = -o.halfWidth; k <= o.halfWidth; k++) {
          const at = n - d * o.period + k;
          if (at >= 0 && at < n) same.push(history[at]!);
        }
      }
      history.push(value);
      if (history.length > keep) history.shift();
      if (n < 3 * o.period) return { kind: 'InsufficientData' };
      const b = robustBaseline(same, o.minRelativeSpread);
      const score = (value - b.m) / b.spread;
      const expected: [number, number] = [round(b.m - o.threshold * b.spread), round(b.m + o.threshold * b.spread)];
      return flag(gate, { score, limit: o.threshold, highAt: 1.5 * o.threshold, expected, method: 'seasonal', reason: () => `${round(value)} against ${round(b.m)} at this time on the last ${Math.min(o.seasons, Math.floor(n / o.period))} days` });
    },
  };
}

export interface CusumOptions {
  window: number;
  /** Allowance k and decision interval h of Page's CUSUM, in robust spreads. */
  allowance: number;
  decision: number;
  /** A point's z is clipped to ± this before it is summed (a lone spike is not a drift). */
  clip: number;
  minRelativeSpread: number;
  suppressPoints: number;
}

export const CUSUM_DEFAULTS: CusumOptions = { window: 288, allowance: 1, decision: 24, clip: 4, minRelativeSpread: 0.02, suppressPoints: 288 };

/** cusumDetector finds drifts and level changes: Page's two-sided CUSUM of the clipped robust z against the day. */
export function cusumDetector(options: Partial<CusumOptions> = {}): Detector {
  const o = { ...CUSUM_DEFAULTS, ...options };
  const history: number[] = [];
  const gate = suppressor(o.suppressPoints);
  let up = 0;
  let down = 0;
  return {
    method: 'cusum',
    next(value) {
      gate.tick();
      const ready = history.length >= o.window;
      const b = ready ? robustBaseline(history, o.minRelativeSpread) : undefined;
      history.push(value);
      if (history.length > o.window) history.shift();
      if (!b) return { kind: 'InsufficientData' };
      const z = Math.max(-o.clip, Math.min(o.clip, (value - b.m) / b.spread));
      up = Math.max(0, up + z - o.allowance);
      down = Math.max(0, down - z - o.allowance);
      const score = up >= down ? up : -down;
      const expected: [number, number] = [round(b.m - o.clip * b.spread), round(b.m + o.clip * b.spread)];
      if (Math.abs(score) <= o.decision) return { kind: 'Normal', score, expected };
      up = 0;
      down = 0;
      return flag(gate, { score, limit: o.decision, highAt: 2 * o.decision, expected, method: 'cusum', reason: () => `a sustained shift ${score > 0 ? 'up' : 'down'} from the day's median ${round(b.m)}: cumulative excess ${round(Math.abs(score))} spreads` });
    },
  };
}

export interface KMeansOptions {
  /** Lagged smoothed differences per feature vector (Netdata: 5 lags + the current). */
  lags: number;
  /** Points trained on (2016: a week) and how often the model is retrained (288: daily). */
  trainPoints: number;
  retrainEvery: number;
  clusters: number;
  /** A window this many times farther from its centroid than the farthest training window is an anomaly. */
  factor: number;
  suppressPoints: number;
}

export const KMEANS_DEFAULTS: KMeansOptions = { lags: 6, trainPoints: 2016, retrainEvery: 288, clusters: 2, factor: 1, suppressPoints: 288 };

/** kmeansDetector is the learned pattern method (see the file's comment); ready after its first training week. */
export function kmeansDetector(options: Partial<KMeansOptions> = {}): Detector {
  const o = { ...KMEANS_DEFAULTS, ...options };
  const raw: number[] = [];
  const vectors: number[][] = [];
  let model: { centroids: number[][]; scale: number[]; limit: number } | undefined;
  let sinceTraining = 0;
  const gate = suppressor(o.suppressPoints);
  const nearest = (v: readonly number[], m: NonNullable<typeof model>) => Math.sqrt(Math.min(...m.centroids.map((c) => c.reduce((s, x, j) => s + ((v[j]! / m.scale[j]!) - x) ** 2, 0))));
  const train = () => {
    const data = vectors.slice(-o.trainPoints);
    const scale = data[0]!.map((_, j) => {
      const col = data.map((v) => v[j]!);
      const mean = col.reduce((a, b) => a + b, 0) / col.length;
      return Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length) || 1;
    });
    const scaled = data.map((v) => v.map((x, j) => x / scale[j]!));
    const centroids = kmeans(scaled, o.clusters);
    const m = { centroids, scale, limit: 0 };
    m.limit = Math.max(...data.map((v) => nearest(v, m)));
    model = m;
    sinceTraining = 0;
  };
  return {
    method: 'kmeans',
    next(value) {
      gate.tick();
      raw.push(value);
      if (raw.length > o.lags + 3) raw.shift();
      if (raw.length < o.lags + 3) return { kind: 'InsufficientData' };
      // Smoothed differences (a 3-point mean of the first differences), the current and `lags - 1` before it.
      const diffs = raw.slice(1).map((v, j) => v - raw[j]!);
      const smooth = diffs.slice(2).map((_, j) => (diffs[j]! + diffs[j + 1]! + diffs[j + 2]!) / 3);
      const vector = smooth.slice(-o.lags);
      const m = model;
      vectors.push(vector);
      if (vectors.length > o.trainPoints) vectors.shift();
      sinceTraining++;
      if ((!m && vectors.length >= o.trainPoints) || (m && sinceTraining >= o.retrainEvery)) train();
      if (!m) return { kind: 'InsufficientData' };
      const score = nearest(vector, m) / m.limit;
      // The band: the previous value moved by the largest change the model has learned as usual.
      const usual = m.limit * m.scale[o.lags - 1]!;
      const expected: [number, number] = [round(raw[raw.length - 2]! - usual), round(raw[raw.length - 2]! + usual)];
      return flag(gate, { score, limit: o.factor, highAt: 2 * o.factor, expected, method: 'kmeans', reason: () => `its last ${o.lags} changes are ${round(score)}× farther from the learned patterns than any of the last ${o.trainPoints} points` });
    },
  };
}
