import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PromqlError } from '../../core/promql';
import type { Node } from '../../core/promql-ast';
import { Evaluator, MemoryQueryable } from '../../core/promql-engine';
import { compareResult, FEATURE_FILES, outsideScope, readScript, type EngineResult, type EvalCase } from '../helpers/promqltest';

/**
 * Prometheus' own PromQL test scripts (fetched from the Go module proxy by scripts/promqltest.sh) run against the
 * in-memory evaluator (core/promql-engine.ts). Cases outside what we evaluate are skipped with their reason; every
 * other case must give Prometheus' answer.
 */
const dir = execFileSync('bash', [path.join(__dirname, '../../scripts/promqltest.sh')], { encoding: 'utf8' }).trim();

function runEngine(c: EvalCase, node: Node): EngineResult {
  const storage = new MemoryQueryable(c.data);
  try {
    if (c.kind === 'instant') {
      const value = new Evaluator(storage, c.atMs, c.atMs).instantQuery(node, c.atMs);
      if (value.type === 'vector') return { kind: 'vector', samples: value.samples };
      if (value.type === 'scalar') return { kind: 'scalar', v: value.v };
      if (value.type === 'string') return { kind: 'string', s: value.s };
      return { kind: 'matrix', series: value.series };
    }
    return { kind: 'matrix', series: new Evaluator(storage, c.startMs, c.endMs).rangeQuery(node, c.stepMs) };
  } catch (err) {
    if (err instanceof PromqlError) return { kind: 'error', message: err.message };
    throw err;
  }
}

describe("Prometheus' PromQL test scripts on the in-memory evaluator", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.test')).sort();
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const failures: string[] = [];
  const skips = new Map<string, number>();
  it.each(files)('%s gives Prometheus\' answers', (file) => {
    const before = failures.length;
    if (FEATURE_FILES[file]) {
      skips.set(FEATURE_FILES[file]!, (skips.get(FEATURE_FILES[file]!) ?? 0) + 1);
      return;
    }
    for (const c of readScript(path.join(dir, file), file)) {
      const scope = outsideScope(c);
      if ('skip' in scope) {
        totals.skipped++;
        skips.set(scope.skip, (skips.get(scope.skip) ?? 0) + 1);
        continue;
      }
      const result: EngineResult = 'parseError' in scope ? { kind: 'error', message: scope.parseError } : runEngine(c, scope.node);
      const diff = compareResult(c, result);
      if (diff) {
        totals.failed++;
        failures.push(`${file}:${c.line}: ${c.expr}\n    ${diff}`);
      } else totals.passed++;
    }
    expect(failures.slice(before)).toEqual([]);
  });
  it('ran the scripts (most cases in scope, none failed)', () => {
    // Prometheus 3's scripts hold about 850 float-sample cases outside native histograms and experimental features.
    expect(totals.passed).toBeGreaterThan(800);
    expect(totals.failed).toBe(0);
  });
  afterAll(() => {
    process.stdout.write(`promqltest: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped ${JSON.stringify(Object.fromEntries(skips))}\n${failures.join('\n')}\n`);
  });
});
