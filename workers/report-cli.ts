/**
 * `npm run report -- --now [--end <ISO time>]` generates the weekly performance report now (the week ending at
 * `--end`, default now) through weeklyReportWorkflow on the running stack, shows its progress as a bar (the
 * workflow's `progress` query) and prints where it went. Needs the stack (`npm start`) running.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config';
import { connectTemporal } from '../store/clients';
import type { ReportProgress, WeeklyReportOutcome } from '../workflows/weekly-report';
import { reportProgressQuery, weeklyReportWorkflow } from '../workflows/weekly-report';
import { progressWriter } from './progress';

const USAGE = `usage: npm run report -- --now [--end <ISO time>]

Generates the weekly performance report of the week ending at --end (default: now) on the running stack
(npm start), stores it, delivers it to REPORT_TARGETS with its charts, and prints the outcome as JSON.`;

/** progressBar draws a run's progress on one line. */
export function progressBar(p: ReportProgress, width = 30): string {
  const filled = Math.round((Math.min(p.step, p.steps) / p.steps) * width);
  const detail = p.stage === 'delivering' || p.stage === 'done' ? ` ${p.delivered}/${p.targets} targets` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.steps} ${p.stage}${detail}`;
}

/** parseReportArgs reads the command line (`--end X` and `--end=X` alike): the end of the week, or an error text. */
export function parseReportArgs(argv: string[], nowMs: number): { endMs: number } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { now: { type: 'boolean' }, end: { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    return { error: `${(err as Error).message}\n\n${USAGE}` };
  }
  if (!values.now) return { error: USAGE };
  if (values.end === undefined) return { endMs: nowMs };
  const endMs = Date.parse(values.end);
  return Number.isFinite(endMs) ? { endMs } : { error: `--end: expected an ISO time, got ${JSON.stringify(values.end)}\n\n${USAGE}` };
}

export async function runReportCli(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const args = parseReportArgs(argv, Date.now());
  if ('error' in args) {
    console.error(args.error);
    return 2;
  }
  const config = loadConfig(process.env);
  const { connection, client } = await connectTemporal(config);
  try {
    const workflowId = `weekly-report-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(weeklyReportWorkflow, { taskQueue: config.temporal.taskQueue, workflowId, args: [{ endMs: args.endMs }] });
    process.stderr.write(`report workflow ${workflowId} (${config.temporal.uiBaseUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId})\n`);
    const result = handle.result() as Promise<WeeklyReportOutcome>;
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => undefined);
    const tty = process.stderr.isTTY === true;
    const bar = progressWriter((text) => void process.stderr.write(text), tty);
    let drawn = '';
    while (!finished) {
      const progress = await handle.query(reportProgressQuery).catch(() => undefined);
      // On a terminal the bar redraws in place; into a file or pipe, a line when it changes.
      if (progress && (tty || progressBar(progress) !== drawn)) bar((drawn = progressBar(progress)), false);
      await Promise.race([result.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 500))]);
    }
    const outcome = await result;
    bar(progressBar({ stage: 'done', step: 5, steps: 5, delivered: outcome.delivered.length, targets: outcome.delivered.length + outcome.failed.length }), true);
    console.log(JSON.stringify(outcome, null, 2));
    return outcome.failed.length > 0 ? 1 : 0;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runReportCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`report failed: ${(err as Error).message} (is the stack running? npm start)`);
      process.exit(1);
    },
  );
}
