/**
 * The Numenta Anomaly Benchmark data of ../shared/bench-data/nab (five subsets, labelled windows) and its scorer
 * (score.py, standard profile) ported so that a grid of configurations scores in-process; bench/anomaly.ts checks
 * the port against score.py itself on every run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const SUBSETS = ['realAWSCloudwatch', 'realTraffic', 'realAdExchange', 'realTweets', 'artificialWithAnomaly'] as const;
export type Subset = (typeof SUBSETS)[number];

export interface NabFile {
  key: string;
  subset: Subset;
  times: number[];
  values: number[];
  /** Labelled windows as [first row, last row]. */
  windows: Array<[number, number]>;
}

const parseTime = (text: string) => Date.parse(`${text.trim().slice(0, 19).replace(' ', 'T')}Z`);

export function loadNab(dir: string): NabFile[] {
  const labels = JSON.parse(readFileSync(path.join(dir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  return SUBSETS.flatMap((subset) =>
    readdirSync(path.join(dir, 'data', subset))
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .map((f) => {
        const key = `${subset}/${f}`;
        const rows = readFileSync(path.join(dir, 'data', key), 'utf8').trim().split('\n').slice(1);
        const times = rows.map((r) => parseTime(r.split(',')[0]!));
        const values = rows.map((r) => Number(r.split(',')[1]));
        const row = new Map(times.map((t, i) => [t, i]));
        const windows = (labels[key] ?? []).map(([a, b]): [number, number] => {
          const w: [number | undefined, number | undefined] = [row.get(parseTime(a)), row.get(parseTime(b))];
          if (w[0] === undefined || w[1] === undefined) throw new Error(`${key}: window ${a}..${b} is not on a data row`);
          return w as [number, number];
        });
        return { key, subset, times, values, windows };
      }),
  );
}

/** Raw is one file's (or a sum of files') NAB arithmetic: the raw score and the window count it normalises by. */
export interface Raw {
  raw: number;
  windows: number;
  found: number;
  falsePositives: number;
}

const sigmoid = (x: number) => (x > 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1);
const MAX_TP = sigmoid(-1);

/** scoreFile is score.py's score_file for the standard profile (tp 1, fn 1, fp 0.11) on sorted detection rows. */
export function scoreFile(file: NabFile, rows: readonly number[]): Raw {
  const n = file.values.length;
  const probation = Math.min(Math.floor(0.15 * n), 0.15 * 5000);
  const wins = file.windows;
  const scored = wins.map(([, r]) => r >= probation);
  const best = wins.map(() => -1);
  const hits = wins.map(() => 0);
  let fp = 0;
  let falsePositives = 0;
  for (const i of rows) {
    if (i < probation) continue;
    let k = -1;
    for (let j = 0; j < wins.length; j++) if (wins[j]![0] <= i) k = j;
    if (k >= 0 && i <= wins[k]![1]) {
      const [l, r] = wins[k]!;
      if (scored[k]) {
        best[k] = Math.max(best[k]!, sigmoid(-(r - i + 1) / (r - l + 1)) / MAX_TP);
        hits[k]!++;
      }
      continue;
    }
    const s = k < 0 ? -1 : sigmoid(Math.abs(wins[k]![1] - i) / Math.max(wins[k]![1] - wins[k]![0], 1));
    fp += s * 0.11;
    falsePositives++;
  }
  return {
    raw: best.reduce((a, b, k) => a + (scored[k] ? b : 0), 0) + fp,
    windows: scored.filter(Boolean).length,
    found: hits.filter((h, k) => scored[k] && h > 0).length,
    falsePositives,
  };
}

export const addRaw = (a: Raw, b: Raw): Raw => ({ raw: a.raw + b.raw, windows: a.windows + b.windows, found: a.found + b.found, falsePositives: a.falsePositives + b.falsePositives });
export const ZERO: Raw = { raw: 0, windows: 0, found: 0, falsePositives: 0 };
/** normalised is NAB's 100 × (S − S_null) / (S_perfect − S_null): never firing 0, each window's start 100. */
export const normalised = (r: Raw) => Math.round((10_000 * (r.raw + r.windows)) / (2 * r.windows)) / 100;

/** PUBLISHED are the published detectors' scores per subset and on all five (../shared/bench-data/nab/README.md). */
export const PUBLISHED: Record<'Numenta HTM' | 'ARTime', Record<Subset | 'all', number>> = {
  'Numenta HTM': { realAWSCloudwatch: 73.42, realTraffic: 82.51, realAdExchange: 76.86, realTweets: 68.02, artificialWithAnomaly: 70.22, all: 73.19 },
  ARTime: { realAWSCloudwatch: 69.48, realTraffic: 86.86, realAdExchange: 75.12, realTweets: 81.84, artificialWithAnomaly: 70.35, all: 77.06 },
};
