/**
 * `npm run rules -- check <file|folder>…` validates alert rule files (the seed's YAML or Prometheus rule files): it
 * prints each group and rule with its parsed condition, or every problem at its line and column as promtool prints
 * them (`file: L:C: group "g", rule N, "name": message`), and exits 1 on a problem.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadRuleFiles } from '../activities/rules';
import { loadConfig } from '../core/config';
import { parseInstant } from '../core/dashboard';
import { parseDuration } from '../core/duration';
import { createBacktester, type BacktestResult } from '../store/backtest';
import { connectRedis, createClickHouse } from '../store/clients';
import { progressWriter } from './progress';
import { formatDuration } from '../core/duration';
import { checkRuleFile, formatProblem } from '../core/rule-check';
import type { RuleGroup } from '../core/rules';
import { templateProblems } from '../core/template';

const USAGE = `usage: npm run rules -- check <rule file or folder>...
       npm run rules -- backtest <rule file> [--rule <name>] --from <time> [--to <time>] [--interval 30s] [--json]

Validates alert rule files: the seed's format (name, expression, duration, severity, labels, annotations)
or Prometheus rule files (groups: [{name, interval, rules: [{alert, expr, for, keep_firing_for, labels,
annotations} | {record, expr, labels}]}]). Expressions are PromQL; each alert says whether it compiles to SQL
(the fast path) or is evaluated in memory, and annotations that would not render as templates are named.
Exits 0 when every file is valid, 1 otherwise.

backtest replays one rule of the file (--rule, or the file's only one) over the history stored in ClickHouse
(CLICKHOUSE_URL, or the local stack's) on a simulated clock — for/keep_firing_for, silences as they were,
inhibition, grouping, escalation — and prints the alerts and pages it would have produced and how they differ
from what the rule of that name recorded live. Times: ISO-8601, epoch milliseconds or now-<n>(s|m|h|d).`;

/** describeGroups renders validated groups one rule a line, as the check command prints them. */
export function describeGroups(groups: readonly RuleGroup[]): string {
  return groups
    .map((group) =>
      [
        `group ${group.name}${group.intervalMs ? ` (every ${formatDuration(group.intervalMs)})` : ''}`,
        ...(group.records ?? []).map((record) => `  record   ${record.record}: ${record.expression}`),
        ...group.rules.map((rule) => {
          const name = rule.alertname ? `${rule.alertname} (as ${rule.name})` : rule.name;
          const path = rule.anomaly ? 'anomaly scan' : rule.promql ? 'PromQL, in memory' : 'compiled to SQL';
          const severity = rule.labels.severity ? `${rule.labels.severity}→${rule.severity}` : rule.severity;
          const lines = [`  ${severity.padEnd(8)} ${name}: ${rule.expression} for ${formatDuration(rule.durationMs)} [${path}]`];
          for (const [key, text] of Object.entries({ ...rule.annotations, ...rule.labels })) {
            const problem = templateProblems(text);
            if (problem) lines.push(`    warning: ${key} is sent as written: ${problem}`);
          }
          return lines.join('\n');
        }),
      ].join('\n'),
    )
    .join('\n');
}

/** ruleFilesOf lists a target's rule files: itself, or a folder's *.yml / *.yaml (as the loader reads them). */
function ruleFilesOf(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(target, f));
}

/** runRulesCli runs the command with its arguments and returns the exit code. */
export async function runRulesCli(argv: string[]): Promise<number> {
  if (argv[0] === 'backtest' && !argv.includes('--help')) return runBacktest(argv.slice(1));
  if (argv[0] !== 'check' || argv.length < 2 || argv.includes('--help')) {
    console.log(USAGE);
    return argv.includes('--help') ? 0 : 2;
  }
  let failed = false;
  for (const target of argv.slice(1)) {
    try {
      // Every problem of every file first, each at its line and column as promtool prints it.
      const problems = ruleFilesOf(target).flatMap((file) => checkRuleFile(readFileSync(file, 'utf8'), path.basename(file)).problems.map((p) => formatProblem(file, p)));
      if (problems.length > 0) {
        failed = true;
        console.error(`${target}: FAILED:\n${problems.join('\n')}`);
        continue;
      }
      const groups = await loadRuleFiles(target);
      const count = groups.reduce((n, g) => n + g.rules.length, 0);
      const records = groups.reduce((n, g) => n + (g.records?.length ?? 0), 0);
      console.log(`${target}: ${count} alerting rules${records ? ` and ${records} recording rules` : ''} OK\n${describeGroups(groups)}`);
    } catch (err) {
      failed = true;
      console.error(`${target}: ${(err as Error).message}`);
    }
  }
  return failed ? 1 : 0;
}

/** runBacktest is `rules backtest`: one rule of a file replayed over stored history, with a progress bar. */
async function runBacktest(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { rule: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, interval: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const now = Date.now();
  const fromMs = values.from ? parseInstant(values.from, now) : undefined;
  const toMs = values.to ? parseInstant(values.to, now) : now;
  if (positionals.length !== 1 || fromMs === undefined || toMs === undefined || toMs <= fromMs) {
    console.error(`give one rule file and --from (and --to after it) as ISO-8601, epoch ms or now-<n>\n\n${USAGE}`);
    return 2;
  }
  let intervalMs = 30_000;
  try {
    if (values.interval) intervalMs = parseDuration(values.interval);
  } catch (err) {
    console.error(`--interval: ${(err as Error).message}`);
    return 2;
  }
  const rules = (await loadRuleFiles(positionals[0]!)).flatMap((g) => g.rules);
  const rule = values.rule ? rules.find((r) => r.name === values.rule || r.alertname === values.rule) : rules.length === 1 ? rules[0] : undefined;
  if (!rule) {
    console.error(`${values.rule ? `no rule ${values.rule}` : 'the file has several rules: name one with --rule'} (${rules.map((r) => r.name).join(', ')})`);
    return 2;
  }
  const config = loadConfig(process.env);
  const clickhouse = createClickHouse(config);
  const redis = await connectRedis(config, 'rules-cli');
  const tty = Boolean(process.stderr.isTTY);
  const bar = progressWriter((text) => process.stderr.write(text), tty);
  let drawn = '';
  try {
    const backtester = createBacktester({ config, clickhouse, redis });
    const start = await backtester.alignedStart(rule.group, fromMs, toMs, intervalMs);
    const result = await backtester.run({ rule, fromMs: start, toMs, intervalMs }, (stage, done, total) => {
      const width = 30;
      const filled = Math.round((done / Math.max(1, total)) * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stage} ${done}/${total}`;
      // Off a terminal, a line per tenth (not per series).
      if (tty || (line !== drawn && (done === total || done % Math.max(1, Math.ceil(total / 10)) === 0))) bar((drawn = line), false);
    });
    bar(`backtest of ${result.rule}: ${result.evaluations} evaluations, ${result.series} series`, true);
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(describeBacktest(result));
    return 0;
  } finally {
    redis.disconnect();
    await clickhouse.close();
  }
}

/** describeBacktest prints a backtest's alerts, pages and diff one line each. */
export function describeBacktest(result: BacktestResult): string {
  const lines = [`${result.rule} from ${result.from} to ${result.to}, every ${result.interval_s}s: ${result.alerts.filter((a) => a.fired_at).length} fired, ${result.notifications} page(s)`];
  for (const a of result.alerts) {
    lines.push(`  ${a.service}/${a.instance}: breach ${a.first_breach}, fired ${a.fired_at ?? 'never'}, resolved ${a.resolved_at ?? '-'}${a.decision ? ` (${a.decision})` : ''}`);
    for (const n of a.notifications) lines.push(`    page ${n.at} level ${n.level}${n.round ? ` round ${n.round + 1}` : ''} → ${n.targets.join(', ')}${n.heldBack ? ` [${n.heldBack}]` : ''}`);
  }
  lines.push(`diff against live: ${result.diff.matched.length} matched, ${result.diff.only_backtest.length} only in the backtest, ${result.diff.only_actual.length} only live`);
  for (const m of result.diff.matched) lines.push(`  ${m.service}/${m.instance}: fired ${m.fired_delta_s >= 0 ? '+' : ''}${m.fired_delta_s}s, resolved ${m.resolved_delta_s === null ? '-' : `${m.resolved_delta_s >= 0 ? '+' : ''}${m.resolved_delta_s}s`} (live ${m.alert_id})`);
  for (const o of result.diff.only_actual) lines.push(`  live only: ${o.service}/${o.instance} fired ${o.fired_at} (${o.alert_id})`);
  return lines.join('\n');
}

if (require.main === module) {
  runRulesCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
