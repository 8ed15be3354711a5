/**
 * The novelty detector, the default anomaly method: news, not noise. Streaming (the verdict for a point uses points
 * up to it only), one configuration for every series, its windows in time rather than points (a day is 288
 * five-minute points, 24 hourly ones: the sample interval is given, or estimated from the first timestamps). A
 * point is anomalous when one of four things it measures is both far from the day's usual and new:
 * - value: beyond `threshold` robust spreads (median/MAD) of the last day, and beyond everything in the memory (two
 *   weeks) by `margin` spreads — what happens every day or week, however spiky, is not news;
 * - level: the median of the last `levelMs` (a sustained shift too small point by point) judged the same way against
 *   the levels before it;
 * - season: the level against the same time of day on the previous days (at least `minSeasonDays` of them, up to
 *   `seasonDays`): a residual beyond `seasonThreshold` spreads of the last day's residuals and beyond every residual
 *   in the memory — a value usual at noon is news at midnight, a daily peak that does not come is news;
 * - stuck: a run of one value longer than `minRunMs` and than any run in the memory (a flatlined metric).
 * One alert per incident: none within `suppressMs` of the last (streaming only; the scan's alert workflows dedup).
 * Chosen on the Numenta Anomaly Benchmark's five subsets, with the leave-one-subset-out scores beside (bench:anomaly).
 */
import { median, round, type AnomalySeverity, type AnomalyVerdict, type Detector } from './anomaly-base';

export interface NoveltyOptions {
  /** The sample interval; when not given, estimated from the first timestamps (five minutes without any). */
  stepMs?: number;
  /** Robust z against the last day beyond which a value or a level may be news. */
  threshold: number;
  levelThreshold: number;
  /** The span of the level (the median of its points). */
  levelMs: number;
  /** How far (in the day's spreads) a value must be beyond everything in the memory. */
  margin: number;
  dayMs: number;
  memoryMs: number;
  /** History before the first verdict. */
  warmupMs: number;
  suppressMs: number;
  /** A run of one value at least this long (and longer than any in the memory) is a stuck metric. */
  minRunMs: number;
  /** The spread never counts as less than this share of the day's median level. */
  minRelativeSpread: number;
  seasonThreshold: number;
  seasonDays: number;
  minSeasonDays: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const NOVELTY_DEFAULTS: NoveltyOptions = {
  threshold: 3,
  levelThreshold: 2,
  levelMs: 2 * HOUR,
  margin: 0.5,
  dayMs: DAY,
  memoryMs: 14 * DAY,
  warmupMs: DAY,
  suppressMs: 8 * HOUR,
  minRunMs: 3 * HOUR,
  minRelativeSpread: 0.02,
  seasonThreshold: 4,
  seasonDays: 7,
  minSeasonDays: 3,
};

/** NOVELTY_HISTORY_MS is what the scan reads before the point it judges: the memory and a day of baseline. */
export const NOVELTY_HISTORY_MS = NOVELTY_DEFAULTS.memoryMs + NOVELTY_DEFAULTS.dayMs;

const DEFAULT_STEP_MS = 300_000;
/** Timestamps whose gaps estimate the sample interval (their median: robust to a gap or two). */
const STEP_SAMPLE = 25;

interface Robust {
  m: number;
  spread: number;
}

/** robust is the median and the scaled MAD of values (sorted in place). */
function robust(values: Float64Array): Robust {
  values.sort();
  const m = median(values);
  return { m, spread: Math.max(median(values.map((v) => Math.abs(v - m)).sort()) * 1.4826, 1e-9) };
}

/** Scale is the detector's windows in points, fixed once the sample interval is known. */
interface Scale {
  stepMs: number;
  day: number;
  memory: number;
  warmup: number;
  suppress: number;
  level: number;
  minRun: number;
  /** Points of tolerance when looking up the same time on an earlier day. */
  tolerance: number;
  /** Baselines are recomputed this often (every quarter of an hour), not at every point. */
  refresh: number;
}

function scaleOf(o: NoveltyOptions, stepMs: number): Scale {
  const points = (ms: number, min: number) => Math.max(min, Math.round(ms / stepMs));
  const day = points(o.dayMs, 12);
  return {
    stepMs,
    day,
    memory: points(o.memoryMs, day),
    warmup: points(o.warmupMs, 12),
    suppress: points(o.suppressMs, 0),
    level: points(o.levelMs, 3),
    minRun: points(o.minRunMs, 12),
    tolerance: 2 * stepMs,
    refresh: Math.max(1, Math.round(day / 96)),
  };
}

/**
 * noveltyDetector streams the detector (see the file's comment). `next(value, atMs)`: timestamps make the windows
 * time-based and the seasonal lookup exact on irregular series; without them points are `stepMs` apart.
 */
export function noveltyDetector(options: Partial<NoveltyOptions> = {}): Detector {
  const o: NoveltyOptions = { ...NOVELTY_DEFAULTS, ...options };
  // Everything since the start, trimmed to the memory (and the seasonal look-back) from time to time.
  let t: number[] = [];
  let x: number[] = [];
  let lv: number[] = [];
  let rs: number[] = [];
  let s: Scale | undefined = o.stepMs ? scaleOf(o, o.stepMs) : undefined;
  let seen = 0;
  let lastAlert = -Infinity;
  let day: (Robust & { at: number }) | undefined;
  let residual: (Robust & { at: number; n: number }) | undefined;

  /** derive computes the level and the seasonal residual of point i (its predecessors' are known). */
  const derive = (i: number, sc: Scale) => {
    const from = Math.max(0, i - sc.level + 1);
    lv[i] = median(x.slice(from, i + 1).sort((a, b) => a - b));
    const refs: number[] = [];
    for (let d = 1; d <= o.seasonDays; d++) {
      const target = t[i]! - d * DAY;
      if (target < t[0]!) break;
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (t[mid]! < target) lo = mid + 1;
        else hi = mid;
      }
      if (Math.abs(t[lo]! - target) <= sc.tolerance) refs.push(lv[lo]!);
    }
    rs[i] = refs.length >= o.minSeasonDays ? lv[i]! - median(refs.sort((a, b) => a - b)) : NaN;
  };

  const trim = (sc: Scale) => {
    const keep = Math.max(sc.memory, Math.round((o.seasonDays * DAY) / sc.stepMs)) + sc.day + 2;
    if (x.length < 2 * keep) return;
    const cut = x.length - keep;
    t = t.slice(cut);
    x = x.slice(cut);
    lv = lv.slice(cut);
    rs = rs.slice(cut);
    if (day) day.at -= cut;
    if (residual) residual.at -= cut;
  };

  const judge = (i: number, sc: Scale): AnomalyVerdict => {
    if (seen <= sc.warmup) return { kind: 'InsufficientData' };
    const value = x[i]!;
    const from = Math.max(0, i - sc.memory);
    if (!day || i - day.at >= sc.refresh) day = { at: i, ...robust(Float64Array.from(x.slice(Math.max(0, i - sc.day), i))) };
    const spread = Math.max(day.spread, o.minRelativeSpread * Math.abs(day.m), 1e-9);
    const expected: [number, number] = [round(day.m - o.threshold * spread), round(day.m + o.threshold * spread)];
    const z = (value - day.m) / spread;
    const anomaly = (score: number, reason: string, severity: AnomalySeverity = Math.abs(score) > 2 * o.threshold ? 'High' : 'Medium'): AnomalyVerdict => ({
      kind: 'Anomaly',
      severity,
      score,
      expected,
      method: 'novelty',
      reason,
    });
    const memoryText = `the last ${Math.round(((i - from) * sc.stepMs) / HOUR)} h`;
    const up = (v: number) => (v > 0 ? 'above' : 'below');
    /** beyond: is v above (up) or below every value of series[from, i) by at least `by`? (NaN — no residual — never blocks.) */
    const beyond = (series: readonly number[], v: number, isUp: boolean, by: number) => {
      const edge = isUp ? v - by : v + by;
      for (let k = from; k < i; k++) if (isUp ? series[k]! >= edge : series[k]! <= edge) return false;
      return true;
    };
    if (Math.abs(z) > o.threshold && beyond(x, value, z > 0, o.margin * spread)) {
      return anomaly(z, `${round(value)} is ${round(Math.abs(z))} spreads ${up(z)} the day's median ${round(day.m)} and ${up(z)} everything in ${memoryText}`);
    }
    const level = lv[i]!;
    const lz = (level - day.m) / spread;
    if (Math.abs(lz) > o.levelThreshold && beyond(lv, level, lz > 0, o.margin * spread)) {
      return anomaly(lz, `the median of the last ${Math.round((sc.level * sc.stepMs) / 60_000)} min, ${round(level)}, is ${round(Math.abs(lz))} spreads ${up(lz)} the day's median ${round(day.m)}: a level not seen in ${memoryText}`);
    }
    let run = 1;
    while (i - run >= 0 && x[i - run] === value) run++;
    if (run >= sc.minRun) {
      let longest = 0;
      for (let k = from, r = 0; k <= i - run; k++) {
        r = k > from && x[k] === x[k - 1] ? r + 1 : 1;
        longest = Math.max(longest, r);
      }
      if (run > longest) return anomaly(0, `unchanged at ${round(value)} for ${run} points, longer than any run in ${memoryText}`, 'Medium');
    }
    const r = rs[i]!;
    if (!Number.isNaN(r)) {
      if (!residual || i - residual.at >= sc.refresh) {
        const recent = rs.slice(Math.max(0, i - sc.day), i).filter((v) => !Number.isNaN(v));
        residual = { at: i, n: recent.length, ...(recent.length ? robust(Float64Array.from(recent)) : { m: 0, spread: 1 }) };
      }
      if (residual.n >= sc.day / 2) {
        const rz = (r - residual.m) / Math.max(residual.spread, o.minRelativeSpread * Math.abs(day.m), 1e-9);
        if (Math.abs(rz) > o.seasonThreshold && beyond(rs, r, rz > 0, 0)) {
          return anomaly(rz, `${round(level)} is ${round(Math.abs(r))} ${up(r)} this time of day on the previous days, further than on any day in ${memoryText}`);
        }
      }
    }
    return { kind: 'Normal', score: z, expected };
  };

  return {
    method: 'novelty',
    next(value, atMs) {
      const i = x.length;
      t.push(atMs ?? (i === 0 ? 0 : t[i - 1]! + (s?.stepMs ?? o.stepMs ?? DEFAULT_STEP_MS)));
      x.push(value);
      seen++;
      if (!s) {
        if (atMs === undefined) s = scaleOf(o, o.stepMs ?? DEFAULT_STEP_MS);
        else if (x.length > STEP_SAMPLE) {
          const gaps = t.slice(1).map((v, k) => v - t[k]!).sort((a, b) => a - b);
          s = scaleOf(o, Math.max(1, median(gaps)));
        } else return { kind: 'InsufficientData' };
        for (let k = 0; k < i; k++) derive(k, s);
      }
      derive(i, s);
      const verdict = judge(i, s);
      trim(s);
      if (verdict.kind !== 'Anomaly') return verdict;
      if (seen - lastAlert < s.suppress) return { kind: 'Normal', score: verdict.score, expected: verdict.expected };
      lastAlert = seen;
      return verdict;
    },
  };
}

/**
 * noveltyVerdict is the detector's verdict on the newest point of a series (oldest first), without suppression —
 * the scheduled scan's form (the alert workflow keeps one alert per incident). `times` are the points' timestamps.
 */
export function noveltyVerdict(values: readonly number[], times?: readonly number[], options: Partial<NoveltyOptions> = {}): AnomalyVerdict {
  const detector = noveltyDetector({ ...options, suppressMs: 0 });
  let verdict: AnomalyVerdict = { kind: 'InsufficientData' };
  values.forEach((v, k) => (verdict = detector.next(v, times?.[k])));
  return verdict;
}
