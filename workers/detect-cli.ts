/**
 * `npm run detect -- <csv> [--method <name>]` runs an anomaly detector (core/anomaly.ts) over a
 * `timestamp,value` file, streaming as the monitoring does, and prints the anomalies as JSON:
 * `[{"timestamp", "value", "score", "severity", "expected", "method", "reason"}]`. A long file shows its progress on stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ANOMALY_METHODS, DEFAULT_ANOMALY_METHOD } from '../core/anomaly';
import { progressWriter } from './progress';

const USAGE = `usage: npm run detect -- <file.csv> [--method ${Object.keys(ANOMALY_METHODS).join('|')}]

Reads rows of "timestamp,value" (a header line is skipped) and prints the anomalies as JSON:
[{"timestamp","value","score","severity","expected","method","reason"}]. Methods (core/anomaly.ts): novelty (the
default: a value, level or time-of-day departure far from the day's usual and beyond the last two weeks, or a
stuck value; windows in time, from the timestamps; one alert per incident), robust (median/MAD), seasonal (same time on the last 7 days), cusum (drift), kmeans (learned patterns)
and zscore (the seed's: window 288, threshold 3).`;

const METHODS = ANOMALY_METHODS;

export interface Detection {
  timestamp: string;
  value: number;
  score: number;
  severity: string;
  expected: [number, number];
  method: string;
  reason?: string;
}

/** detectCsv runs a method over a CSV text; rows that do not parse are reported with their line number. */
/** timeOf reads a CSV timestamp ("2014-02-14 14:30:00", ISO 8601; UTC unless it says otherwise), else undefined. */
function timeOf(text: string): number | undefined {
  const iso = text.trim().replace(' ', 'T');
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

export function detectCsv(text: string, method: string, progress?: (done: number, total: number) => void): Detection[] {
  const detector = METHODS[method]!();
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const out: Detection[] = [];
  lines.forEach((line, i) => {
    const [timestamp, raw] = line.split(',');
    const value = Number(raw);
    if (raw === undefined || raw.trim() === '' || !Number.isFinite(value)) {
      if (i === 0) return; // the header
      throw new Error(`line ${i + 1}: expected "timestamp,value", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    const verdict = detector.next(value, timeOf(timestamp!));
    if (verdict.kind === 'Anomaly') {
      out.push({ timestamp: timestamp!.trim(), value, score: Number(verdict.score.toPrecision(6)), severity: verdict.severity, expected: verdict.expected, method: verdict.method, ...(verdict.reason ? { reason: verdict.reason } : {}) });
    }
    if (progress && (i % 5000 === 0 || i === lines.length - 1)) progress(i + 1, lines.length);
  });
  return out;
}

/** runDetectCli runs the command and returns its exit code. */
export function runDetectCli(
  argv: string[],
  write: (text: string) => void = (text) => void process.stdout.write(text),
  status: (text: string) => void = (text) => void process.stderr.write(text),
  tty = process.stderr.isTTY === true,
): number {
  let parsed;
  try {
    // --method zscore and --method=zscore alike (node's own parser).
    parsed = parseArgs({ args: argv, options: { method: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    status(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const method = parsed.values.method ?? DEFAULT_ANOMALY_METHOD;
  const files = parsed.positionals;
  if (parsed.values.help || files.length !== 1 || !METHODS[method]) {
    (parsed.values.help ? write : status)(`${USAGE}\n`);
    return parsed.values.help ? 0 : 2;
  }
  try {
    const text = readFileSync(files[0]!, 'utf8');
    const bar = progressWriter(status, tty);
    let shown = -1;
    const progress = (done: number, total: number) => {
      // On a terminal the bar redraws in place; into a file or pipe, a line per quarter.
      const quarter = Math.floor((done / total) * 4);
      if (!tty && quarter === shown && done !== total) return;
      shown = quarter;
      const width = 30;
      const filled = Math.round((done / total) * width);
      bar(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} rows`, done === total);
    };
    const detections = detectCsv(text, method, text.length > 1_000_000 ? progress : undefined);
    write(`${JSON.stringify(detections, null, 2)}\n`);
    return 0;
  } catch (err) {
    status(`${files[0]}: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exit(runDetectCli(process.argv.slice(2)));
