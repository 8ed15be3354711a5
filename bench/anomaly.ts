/**
 * bench:anomaly — the anomaly methods of core/anomaly.ts over the Numenta Anomaly Benchmark's five subsets
 * (../shared/bench-data/nab: AWS CloudWatch, road traffic, ad exchange, tweet volumes, artificial; 46 files, 97
 * labelled windows), scored per subset and on all five with NAB's standard profile (null 0, perfect 100) beside the
 * published Numenta HTM and ARTime scores, with the seed's z-score as the baseline in the same run.
 *
 * Honest by the folder's rules: one configuration for every file, streaming verdicts, the labels never read by a
 * detector. The default's parameters were chosen on these subsets, so the bench also reports them
 * leave-one-subset-out: for each subset, the configuration of a small grid that scores best on the other four, scored
 * on the one left out (parameters never chosen on the subset they are scored on). The scorer is a port of score.py
 * (bench/nab.ts), checked against score.py itself on the default's detections in every run. Appends to
 * BENCHMARKS.md; ends with `RESULT nab_standard=… loso=… per-subset…`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../store/paths';
import { ANOMALY_METHODS, NOVELTY_DEFAULTS, noveltyDetector, type Detector, type NoveltyOptions } from '../core/anomaly';
import { addRaw, loadNab, normalised, PUBLISHED, scoreFile, SUBSETS, ZERO, type NabFile, type Raw, type Subset } from './nab';
import { appendBenchmark } from './report';

const NAB = process.env.NAB_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'bench-data', 'nab');
const HOUR = 3_600_000;

interface Method {
  name: string;
  note: string;
  make: () => Detector;
}

const METHODS: Method[] = [
  { name: 'zscore (seed)', make: ANOMALY_METHODS.zscore!, note: 'window 288 points, threshold 3, no suppression' },
  { name: 'robust', make: ANOMALY_METHODS.robust!, note: 'median/MAD of the previous 288 points and 4032, one alert per 288 points' },
  { name: 'seasonal', make: ANOMALY_METHODS.seasonal!, note: 'the same time ± 2 points on each of the last 7 days (288-point days)' },
  { name: 'cusum', make: ANOMALY_METHODS.cusum!, note: 'two-sided CUSUM of the robust z against the previous 288 points' },
  { name: 'kmeans', make: ANOMALY_METHODS.kmeans!, note: 'k-means (k = 2) over smoothed differences, trained on the last 2016 points' },
];

/** GRID is what leave-one-subset-out chooses from: the default and its neighbours on the four main parameters. */
const GRID: Array<Partial<NoveltyOptions>> = [3, 4].flatMap((threshold) =>
  [0.5, 1].flatMap((margin) => [4 * HOUR, 8 * HOUR].flatMap((suppressMs) => [4, 6].map((seasonThreshold) => ({ threshold, margin, suppressMs, seasonThreshold })))),
);
const describe = (o: Partial<NoveltyOptions>) => `z ${o.threshold}, margin ${o.margin}, one alert per ${(o.suppressMs ?? 0) / HOUR} h, season z ${o.seasonThreshold}`;

/** run streams a detector over every file and returns each file's detection rows and raw score, and points/s. */
function run(files: NabFile[], make: () => Detector) {
  const started = performance.now();
  const rows = new Map<string, number[]>();
  let points = 0;
  for (const f of files) {
    const detector = make();
    const found: number[] = [];
    f.values.forEach((v, i) => {
      if (detector.next(v, f.times[i]).kind === 'Anomaly') found.push(i);
    });
    rows.set(f.key, found);
    points += f.values.length;
  }
  const perSubset = new Map<Subset | 'all', Raw>();
  for (const f of files) {
    const r = scoreFile(f, rows.get(f.key)!);
    perSubset.set(f.subset, addRaw(perSubset.get(f.subset) ?? ZERO, r));
    perSubset.set('all', addRaw(perSubset.get('all') ?? ZERO, r));
  }
  return { rows, perSubset, pointsPerSecond: Math.round(points / ((performance.now() - started) / 1000)) };
}

/** checkAgainstScorePy scores the detections with score.py (all five, and each subset alone) and fails on a mismatch. */
function checkAgainstScorePy(files: NabFile[], rows: Map<string, number[]>, ours: Map<Subset | 'all', Raw>): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-anomaly-'));
  try {
    for (const subset of ['all', ...SUBSETS] as const) {
      const detections = Object.fromEntries(files.filter((f) => subset === 'all' || f.subset === subset).map((f) => [f.key, f.values.map((_, i) => (rows.get(f.key)!.includes(i) ? 1 : 0))]));
      const file = path.join(dir, `${subset}.json`);
      writeFileSync(file, JSON.stringify(detections));
      const out = execFileSync('python3', [path.join(NAB, 'score.py'), file, ...(subset === 'all' ? [] : ['--only-listed'])], { encoding: 'utf8' });
      const theirs = Number(/score=([-\d.]+)\s*$/m.exec(out)?.[1]);
      if (Math.abs(theirs - normalised(ours.get(subset)!)) > 0.01) throw new Error(`bench/nab.ts disagrees with score.py on ${subset}: ${normalised(ours.get(subset)!)} against ${theirs}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const files = loadNab(NAB);
  const say = (text: string) => process.stderr.write(`[bench:anomaly] ${text}\n`);
  const cells = (per: Map<Subset | 'all', Raw>) => [...SUBSETS, 'all' as const].map((s) => normalised(per.get(s)!));

  const others = METHODS.map((m) => {
    const r = run(files, m.make);
    say(`${m.name}: ${cells(r.perSubset).join(' / ')}`);
    return { ...m, ...r };
  });
  const defaults = run(files, () => noveltyDetector());
  checkAgainstScorePy(files, defaults.rows, defaults.perSubset);
  say(`novelty (default): ${cells(defaults.perSubset).join(' / ')} — matches score.py`);

  // Leave one subset out: choose on the other four, score on the one left out.
  const grid = GRID.map((options, k) => {
    const r = run(files, () => noveltyDetector(options));
    say(`grid ${k + 1}/${GRID.length} (${describe(options)}): ${cells(r.perSubset).join(' / ')}`);
    return { options, perSubset: r.perSubset };
  });
  const loso = SUBSETS.map((held) => {
    const rest = (g: (typeof grid)[number]) => SUBSETS.filter((s) => s !== held).reduce((acc, s) => addRaw(acc, g.perSubset.get(s)!), ZERO);
    const chosen = grid.reduce((best, g) => (normalised(rest(g)) > normalised(rest(best)) ? g : best));
    return { held, chosen, raw: chosen.perSubset.get(held)! };
  });
  const losoAll = loso.reduce((acc, l) => addRaw(acc, l.raw), ZERO);

  const htm = PUBLISHED['Numenta HTM'];
  const header = `| method | ${SUBSETS.join(' | ')} | all five | windows found | false positives | points/s |`;
  const rule = `| --- | ${SUBSETS.map(() => '---').join(' | ')} | --- | --- | --- | --- |`;
  const row = (name: string, per: Map<Subset | 'all', Raw>, pps: number | string) => `| ${name} | ${cells(per).join(' | ')} | ${per.get('all')!.found}/${per.get('all')!.windows} | ${per.get('all')!.falsePositives} | ${pps} |`;
  const d = defaults.perSubset;
  const beaten = SUBSETS.filter((s) => normalised(d.get(s)!) > htm[s]);
  const losoPer = new Map<Subset | 'all', Raw>([...loso.map((l) => [l.held, l.raw] as [Subset, Raw]), ['all', losoAll]]);
  const result =
    `RESULT nab_standard=${normalised(d.get('all')!)} loso=${normalised(losoAll)} htm=${htm.all} artime=${PUBLISHED.ARTime.all} ` +
    SUBSETS.map((s) => `${s}=${normalised(d.get(s)!)}`).join(' ') +
    ` above_htm=${beaten.length}/${SUBSETS.length} baseline_nab=${normalised(others[0]!.perSubset.get('all')!)}`;
  console.log(result);
  const o = NOVELTY_DEFAULTS;
  appendBenchmark(
    'bench:anomaly',
    'npm run bench:anomaly',
    [
      `NAB's five subsets (${files.length} files, ${files.reduce((a, f) => a + f.values.length, 0)} points, ${d.get('all')!.windows} windows), NAB standard profile per subset and on all five (bench/nab.ts, checked against ../shared/bench-data/nab/score.py in this run); one configuration for every file, streaming, labels never read.`,
      '',
      header,
      rule,
      ...Object.entries(PUBLISHED).map(([name, s]) => `| ${name} (published) | ${SUBSETS.map((k) => s[k]).join(' | ')} | ${s.all} | | | |`),
      ...others.map((m) => row(m.name, m.perSubset, m.pointsPerSecond)),
      row('**novelty (default)**', d, defaults.pointsPerSecond),
      row('novelty, leave-one-subset-out', losoPer, ''),
      '',
      `Default: value beyond z ${o.threshold} of the last day and ${o.margin} spreads beyond everything in ${o.memoryMs / 86_400_000} days; level (median of ${o.levelMs / HOUR} h) beyond z ${o.levelThreshold} and as new; the same time of day on ${o.minSeasonDays}–${o.seasonDays} earlier days beyond z ${o.seasonThreshold} and as new; a run longer than ${o.minRunMs / HOUR} h and any before; one alert per ${o.suppressMs / HOUR} h; windows in time (the sample interval from the timestamps).`,
      `Above Numenta HTM on ${beaten.length} of ${SUBSETS.length} subsets (${beaten.join(', ') || 'none'}); on all five ${normalised(d.get('all')!)} against HTM ${htm.all} and ARTime ${PUBLISHED.ARTime.all}.`,
      `Leave-one-subset-out (${GRID.length} configurations: ${describe(GRID[0]!)} … ${describe(GRID[GRID.length - 1]!)}), chosen on the other four: ${loso.map((l) => `${l.held} ${normalised(l.raw)} with ${describe(l.chosen.options)}`).join('; ')}.`,
    ],
    result,
  );
}

main();
