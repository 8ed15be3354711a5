/**
 * `npm run rules -- check <file|folder>…` validates alert rule files (the seed's YAML or Prometheus rule files): it
 * prints each group and rule with its parsed condition, or every problem at its line and column as promtool prints
 * them (`file: L:C: group "g", rule N, "name": message`), and exits 1 on a problem.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadRuleFiles } from '../activities/rules';
import { formatDuration } from '../core/duration';
import { checkRuleFile, formatProblem } from '../core/rule-check';
import type { RuleGroup } from '../core/rules';
import { templateProblems } from '../core/template';

const USAGE = `usage: npm run rules -- check <rule file or folder>...

Validates alert rule files: the seed's format (name, expression, duration, severity, labels, annotations)
or Prometheus rule files (groups: [{name, interval, rules: [{alert, expr, for, keep_firing_for, labels,
annotations} | {record, expr, labels}]}]). Expressions are PromQL; each alert says whether it compiles to SQL
(the fast path) or is evaluated in memory, and annotations that would not render as templates are named.
Exits 0 when every file is valid, 1 otherwise.`;

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

if (require.main === module) {
  runRulesCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
