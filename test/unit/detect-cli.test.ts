import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDetectCli } from '../../workers/detect-cli';

describe('npm run detect', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-detect-'));
  const run = (argv: string[], tty = false) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = runDetectCli(argv, (t) => void out.push(t), (t) => void err.push(t), tty);
    return { code, out: out.join(''), err: err.join('') };
  };
  // A day and a half of 5-minute points around 50, one spike at row 400.
  const rows = Array.from({ length: 432 }, (_, i) => `2026-11-0${1 + Math.floor(i / 288)} ${String(Math.floor((i % 288) / 12)).padStart(2, '0')}:${String((i % 12) * 5).padStart(2, '0')}:00,${i === 400 ? 95 : 50 + Math.sin(i) * 2}`);
  const file = path.join(dir, 'series.csv');
  writeFileSync(file, ['timestamp,value', ...rows].join('\n'));

  it('prints the anomalies of a timestamp,value file as JSON with the default method', () => {
    const { code, out } = run([file]);
    expect(code).toBe(0);
    const detections = JSON.parse(out);
    expect(detections).toEqual([{ timestamp: rows[400]!.split(',')[0], value: 95, score: expect.any(Number), severity: 'High', expected: [expect.any(Number), expect.any(Number)], method: 'novelty', reason: expect.stringContaining('above everything') }]);
    expect(detections[0].expected[1]).toBeLessThan(95);
  });

  it("runs the seed's z-score with --method zscore or --method=zscore", () => {
    const { code, out } = run([file, '--method', 'zscore']);
    expect(code).toBe(0);
    expect(JSON.parse(out).map((d: { value: number }) => d.value)).toContain(95);
    expect(run([file, '--method=zscore'])).toMatchObject({ code: 0, out });
    expect(run([file, '--methd=zscore'])).toMatchObject({ code: 2, err: expect.stringContaining("Unknown option '--methd'") });
  });

  it('draws its progress with \\r on a terminal only; into a file, a line per quarter', () => {
    const big = path.join(dir, 'big.csv');
    const many = Array.from({ length: 40_000 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19)},${50 + Math.sin(i)}`);
    writeFileSync(big, ['timestamp,value', ...many].join('\n'));
    const piped = run([big, '--method=zscore']);
    expect(piped.code).toBe(0);
    expect(piped.err).not.toContain('\r');
    expect(piped.err.trim().split('\n')).toHaveLength(5);
    expect(piped.err).toContain('40001/40001 rows');
    const terminal = run([big, '--method=zscore'], true);
    expect(terminal.err).toContain('\r[');
    expect(terminal.err.endsWith('\n')).toBe(true);
  });

  it('names the line of a bad row, and prints usage for a bad method or --help', () => {
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'timestamp,value\n2026-11-01 00:00:00,1\n2026-11-01 00:05:00,oops\n');
    expect(run([bad])).toMatchObject({ code: 1, err: expect.stringContaining('line 3: expected "timestamp,value"') });
    expect(run([file, '--method', 'magic'])).toMatchObject({ code: 2, err: expect.stringContaining('usage: npm run detect') });
    expect(run(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('usage: npm run detect') });
  });
});
