import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../store/paths';

/** machine describes where a benchmark ran: cores, memory, Node and the ClickHouse engine the stack scripts run. */
export function machine(): string {
  let clickhouse = 'not installed';
  try {
    const script = `source ${JSON.stringify(path.join(PROJECT_ROOT, 'scripts', 'lib.sh'))} && "$(clickhouse_python)" -c 'import chdb; print(chdb.engine_version)'`;
    clickhouse = `${execFileSync('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()} (embedded engine)`;
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
