/**
 * What every anomaly detector (core/anomaly.ts, core/anomaly-detectors.ts) is built from: the verdict and detector
 * types, the robust baseline (median and scaled MAD with a floor), the suppressor (one alert per incident) and flag,
 * the one way a score becomes a verdict. Pure.
 */

export type AnomalySeverity = 'Medium' | 'High';

export type AnomalyVerdict =
  | { kind: 'InsufficientData' }
  | { kind: 'Normal'; score: number; expected: [number, number] }
  | { kind: 'Anomaly'; severity: AnomalySeverity; score: number; expected: [number, number]; method: string; reason?: string };

/** Detector is a streaming detector: feed it points in order, it answers each. */
export interface Detector {
  readonly method: string;
  /** `atMs`, the point's time, is used by detectors whose windows are in time (novelty); the others count points. */
  next(value: number, atMs?: number): AnomalyVerdict;
}

export const median = (sorted: ArrayLike<number>) => {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
};

/** suppressor answers whether an alert may be raised now: none within `points` of the last one (one incident). */
export function suppressor(points: number) {
  let seen = 0;
  let last = -Infinity;
  return {
    tick: () => void seen++,
    allow(): boolean {
      if (seen - last < points) return false;
      last = seen;
      return true;
    },
  };
}

/** Robust is a baseline: its median and spread (scaled MAD, never under the floor). */
export interface Robust {
  m: number;
  spread: number;
}

export function robustBaseline(values: readonly number[], minRelativeSpread: number): Robust {
  const sorted = [...values].sort((a, b) => a - b);
  const m = median(sorted);
  const mad = median(sorted.map((v) => Math.abs(v - m)).sort((a, b) => a - b)) * 1.4826;
  return { m, spread: Math.max(mad, minRelativeSpread * Math.abs(m), 1e-9) };
}

export const round = (v: number) => Number(v.toPrecision(6));

/** remember appends a value to a bounded history. */
export const remember = (values: number[], value: number, size: number) => {
  values.push(value);
  if (values.length > size) values.shift();
};

/** Gate is a suppressor: tick every point, allow() once per incident. */
export type Gate = ReturnType<typeof suppressor>;

/**
 * flag turns a score into a verdict: Normal within `limit` (or when `beyond` says the detector's own test did not
 * pass) or while the gate suppresses (the same incident); else an Anomaly, High beyond `highAt`. The gate is asked
 * only about a point beyond the limit.
 */
export function flag(gate: Gate, v: { score: number; limit: number; highAt: number; expected: [number, number]; method: string; beyond?: boolean; reason?: () => string }): AnomalyVerdict {
  const beyond = v.beyond ?? Math.abs(v.score) > v.limit;
  if (!beyond || !gate.allow()) return { kind: 'Normal', score: v.score, expected: v.expected };
  return { kind: 'Anomaly', severity: Math.abs(v.score) > v.highAt ? 'High' : 'Medium', score: v.score, expected: v.expected, method: v.method, ...(v.reason ? { reason: v.reason() } : {}) };
}
