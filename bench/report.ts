import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../activities/paths';

/** machine describes where a benchmark ran: cores, memory, Node and ClickHouse versions. */
export function machine(): string {
  let clickhouse = 'not installed';
  try {
    clickhouse = execFileSync('clickhouse-client', ['--version']).toString().trim().replace('ClickHouse client version ', '');
  } catch {
    // (bench:anomaly needs no ClickHouse.)
  }
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ClickHouse ${clickhouse}`;
}

/** appendBenchmark adds a run to BENCHMARKS.md: a dated heading, the command and machine, the body, the RESULT line. */
export function appendBenchmark(name: string, command: string, body: string[], result: string, note = ''): void {
  appendFileSync(
    path.join(PROJECT_ROOT, 'BENCHMARKS.md'),
    ['', `## ${name} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, `Command: \`${command}\` · machine: ${machine()}${note}`, '', ...body, '', '```', result, '```', ''].join('\n'),
  );
}
