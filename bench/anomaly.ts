/**
 * bench:anomaly — every anomaly method of core/anomaly.ts over the Numenta Anomaly Benchmark's real AWS CloudWatch
 * series (../shared/bench-data/nab, 17 files, labelled windows), scored by its own scorer (score.py): window-level
 * precision, recall, F1 and the NAB standard-profile score (null 0, perfect 100), with the seed's z-score as the
 * baseline in the same run. Honest by the folder's rules: one configuration for all files, streaming verdicts, the
 * labels never read by a detector. Appends to BENCHMARKS.md; ends with `RESULT nab_standard=… f1=… method=…`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../store/paths';
import { ANOMALY_METHODS, DEFAULT_ANOMALY_METHOD, type Detector } from '../core/anomaly';
import { appendBenchmark } from './report';

const NAB = process.env.NAB_DIR ?? path.resolve(PROJECT_ROOT, '..', 'shared', 'bench-data', 'nab');
const DATA = path.join(NAB, 'data', 'realAWSCloudwatch');

const METHODS: Array<{ name: string; make: () => Detector; note: string }> = [
  { name: 'zscore (seed)', make: ANOMALY_METHODS.zscore!, note: 'window 288, threshold 3, no suppression' },
  { name: 'robust', make: ANOMALY_METHODS.robust!, note: 'abs(z) > 5 against the median/MAD of the previous 288 and > 6 against the previous 4032, spread ≥ 2 % of the level, one alert per 288 points' },
  { name: 'seasonal', make: ANOMALY_METHODS.seasonal!, note: 'abs(z) > 5 against the median/MAD of the same time ± 2 points on each of the last 7 days, one alert per 288 points' },
  { name: 'cusum', make: ANOMALY_METHODS.cusum!, note: "two-sided CUSUM of the robust z (clipped to ±4) against the previous 288, k = 1, h = 24, one alert per 288 points" },
  { name: 'kmeans', make: ANOMALY_METHODS.kmeans!, note: 'k-means (k = 2) over 6 smoothed differences, trained on the last 2016 points, retrained every 288; farther than every training window; one alert per 288 points' },
  { name: `${DEFAULT_ANOMALY_METHOD} (default)`, make: ANOMALY_METHODS[DEFAULT_ANOMALY_METHOD]!, note: 'robust z > 3 against the previous 288 and a new extreme of the previous 4032; or the median of the last 12 at z > 2 and a new extreme of those medians; or a run of one value longer than any in 4032 (≥ 12); one alert per 288 points' },
];

interface Scored {
  precision: number;
  recall: number;
  f1: number;
  nab: number;
  detections: number;
}

function score(detections: Record<string, number[]>, dir: string, name: string): Scored {
  const file = path.join(dir, `${name.replace(/\W+/g, '_')}.json`);
  writeFileSync(file, JSON.stringify(detections));
  const out = execFileSync('python3', [path.join(NAB, 'score.py'), file], { encoding: 'utf8' });
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return {
    precision: num(/window-level:[\s\S]*?precision=([-\d.]+)/),
    recall: num(/recall=([-\d.]+)/),
    f1: num(/F1=([-\d.]+)/),
    nab: num(/score=([-\d.]+)\s*$/m),
    detections: num(/detections: (\d+)/),
  };
}

function main(): void {
  const files = readdirSync(DATA).filter((f) => f.endsWith('.csv')).sort();
  const series = files.map((f) => ({
    key: `realAWSCloudwatch/${f}`,
    values: readFileSync(path.join(DATA, f), 'utf8').trim().split('\n').slice(1).map((line) => Number(line.split(',')[1])),
  }));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-bench-anomaly-'));
  try {
    const results = METHODS.map((method) => {
      const started = performance.now();
      const detections: Record<string, number[]> = {};
      let points = 0;
      for (const s of series) {
        const detector = method.make();
        detections[s.key] = s.values.map((v) => (detector.next(v).kind === 'Anomaly' ? 1 : 0));
        points += s.values.length;
      }
      const ms = performance.now() - started;
      const scored = score(detections, dir, method.name);
      process.stderr.write(`[bench:anomaly] ${method.name}: NAB ${scored.nab}, F1 ${scored.f1} (precision ${scored.precision}, recall ${scored.recall}), ${scored.detections} detections, ${Math.round(points / (ms / 1000))} points/s\n`);
      return { method, scored, pointsPerSecond: Math.round(points / (ms / 1000)) };
    });
    const best = results[results.length - 1]!;
    const baseline = results[0]!;
    const result = `RESULT nab_standard=${best.scored.nab} f1=${best.scored.f1} method=${best.method.name} baseline_nab=${baseline.scored.nab}`;
    console.log(result);
    appendBenchmark(
      'bench:anomaly',
      'npm run bench:anomaly',
      [
        `${series.length} NAB realAWSCloudwatch series (${series.reduce((a, s) => a + s.values.length, 0)} points), scored by ../shared/bench-data/nab/score.py (standard profile); one configuration for all files, streaming.`,
        '',
        '| method | configuration | NAB standard | F1 | precision | recall | detections | points/s |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...results.map((r) => `| ${r.method.name} | ${r.method.note} | ${r.scored.nab} | ${r.scored.f1} | ${r.scored.precision} | ${r.scored.recall} | ${r.scored.detections} | ${r.pointsPerSecond} |`),
      ],
      result,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
