/**
 * A runner of Prometheus' PromQL test scripts (promql/promqltest/testdata/*.test in prometheus/prometheus, the
 * language its README describes: `load`, `clear`, `eval instant|range`, `expect …`), against any engine: the
 * in-memory evaluator (test/unit) or the query API over ClickHouse (test/integration). The scripts are not copied
 * into this repository: scripts/promqltest.sh fetches the Prometheus module from the Go module proxy.
 *
 * What is outside what we evaluate is skipped, with the reason counted: native histograms ({{…}} values and the
 * series loaded with them), experimental functions and syntax (the parser refuses them), range-vector results of
 * instant queries.
 */
import { readFileSync } from 'node:fs';
import { parseDuration } from '../../core/duration';
import { unquote } from '../../core/promql-ast';
import type { LabelMatcher } from '../../core/promql';
import { AGGREGATION_OPS, FUNCTIONS, parsePromql, type Node } from '../../core/promql-ast';
import { matches, selectorSpans, type SeriesLabels, type StoredSeries } from '../../core/promql-engine';

export interface LoadedSeries extends StoredSeries {
  labels: SeriesLabels;
}

/** Expected is what an eval expects: series with one value (instant) or one per step ('_' = none), or a scalar. */
export interface EvalCase {
  file: string;
  line: number;
  kind: 'instant' | 'range';
  expr: string;
  atMs: number;
  startMs: number;
  endMs: number;
  stepMs: number;
  fail: boolean;
  failMessage?: { exact?: string; regex?: string };
  ordered: boolean;
  expectString?: string;
  expectRangeVector: boolean;
  /** The expected result holds native histograms. */
  histogramResult?: boolean;
  series: Array<{ labels: SeriesLabels; values: Array<number | undefined> }>;
  scalar?: number;
  /** The data loaded when the eval runs. */
  data: LoadedSeries[];
  /** Series skipped because their values are native histograms (an eval that selects one is skipped). */
  histograms: SeriesLabels[];
}

/** parseSeriesDescriptor reads `metric{label="value", …}`, `{…}` or `metric`. */
export function parseSeriesDescriptor(text: string): SeriesLabels {
  const labels: SeriesLabels = {};
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:.]*)?\s*(\{.*\})?$/.exec(text.trim());
  if (!m) throw new Error(`not a series: ${text}`);
  if (m[1]) labels.__name__ = m[1];
  if (m[2]) {
    const body = m[2].slice(1, -1);
    const re = /\s*(?:([a-zA-Z_][a-zA-Z0-9_]*)|("(?:[^"\\]|\\.)*"))\s*(?:=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`))?\s*(?:,|$)/gy;
    let match: RegExpExecArray | null;
    while (re.lastIndex < body.length && (match = re.exec(body))) {
      const name = match[1] ?? unquote(match[2]!, 0);
      if (match[3] === undefined) labels.__name__ = name;
      else labels[name] = unquote(match[3], 0);
      if (match[0] === '') break;
    }
  }
  return labels;
}

/** splitSeriesLine separates a descriptor from its values (the descriptor may hold spaces inside quotes or braces). */
function splitSeriesLine(line: string): [string, string] {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (/\s/.test(c) && depth === 0) return [line.slice(0, i), line.slice(i).trim()];
  }
  return [line, ''];
}

function parseNumber(text: string): number {
  const t = text.replace(/_/g, '');
  if (/^[+-]?inf$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  const n = Number(t);
  if (t !== '' && !Number.isNaN(n)) return n;
  return parseDuration(t) / 1000;
}

const STALE = Symbol('stale');
type SeqValue = number | undefined | typeof STALE;

/** expandValues expands promtool's series notation: `a+bxn`, `a-bxn`, `axn`, `_`, `_xn`, `stale`. */
export function expandValues(text: string): SeqValue[] {
  const out: SeqValue[] = [];
  for (const item of text.split(/\s+/).filter(Boolean)) {
    if (item === '_') {
      out.push(undefined);
      continue;
    }
    let m = /^_x(\d+)$/.exec(item);
    if (m) {
      for (let i = 0; i < Number(m[1]); i++) out.push(undefined);
      continue;
    }
    if (item === 'stale') {
      out.push(STALE);
      continue;
    }
    m = /^(stale|[+-]?[^+\-x]+?)(?:([+-][^x]+))?x(\d+)$/.exec(item);
    if (m) {
      const n = Number(m[3]);
      if (m[1] === 'stale') {
        for (let i = 0; i <= n; i++) out.push(STALE);
        continue;
      }
      let value = parseNumber(m[1]!);
      const step = m[2] ? parseNumber(m[2]) : 0;
      for (let i = 0; i <= n; i++) {
        out.push(value);
        value += step;
      }
      continue;
    }
    out.push(parseNumber(item));
  }
  return out;
}

function parseTime(text: string): number {
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (text.startsWith('-')) return -parseDuration(text.slice(1));
  return parseDuration(text);
}

/** parseScript reads a test script into its eval cases, each with the data loaded before it. */
export function parseScript(text: string, file: string): EvalCase[] {
  const lines = text.split('\n');
  const cases: EvalCase[] = [];
  let data: LoadedSeries[] = [];
  let histograms: SeriesLabels[] = [];
  let i = 0;
  const isBody = (l: string | undefined) => l !== undefined && /^\s+\S/.test(l) && !/^\s*#/.test(l);
  while (i < lines.length) {
    const raw = lines[i]!;
    const line = raw.trim();
    i++;
    if (line === '' || line.startsWith('#')) continue;
    if (line === 'clear') {
      data = [];
      histograms = [];
      continue;
    }
    let m = /^load(_with_nhcb)?\s+(\S+)$/.exec(line);
    if (m) {
      const interval = parseTime(m[2]!);
      const byKey = new Map(data.map((s) => [JSON.stringify(Object.entries(s.labels).sort()), s]));
      while (isBody(lines[i])) {
        const [descriptor, values] = splitSeriesLine(lines[i]!.trim());
        i++;
        const labels = parseSeriesDescriptor(descriptor);
        if (values.includes('{{')) {
          histograms.push(labels);
          continue;
        }
        if (m[1] && /_bucket$/.test(labels.__name__ ?? '')) {
          // load_with_nhcb also loads each classic histogram as a native one under the family's name.
          const { le: _le, ...rest } = labels;
          histograms.push({ ...rest, __name__: labels.__name__!.replace(/_bucket$/, '') });
        }
        const key = JSON.stringify(Object.entries(labels).sort());
        let series = byKey.get(key);
        if (!series) {
          series = { labels, t: [], v: [], stale: [] };
          byKey.set(key, series);
          data = [...data, series];
        } else {
          series = { labels, t: [...series.t], v: [...series.v], stale: [...(series.stale ?? [])] };
          data = data.map((s) => (JSON.stringify(Object.entries(s.labels).sort()) === key ? series! : s));
          byKey.set(key, series);
        }
        expandValues(values).forEach((value, k) => {
          if (value === undefined) return;
          const t = k * interval;
          const at = series!.t.findIndex((x) => x >= t);
          const point = { t, v: value === STALE ? Number.NaN : value, stale: value === STALE };
          if (at < 0) {
            series!.t.push(point.t);
            series!.v.push(point.v);
            series!.stale!.push(point.stale);
          } else if (series!.t[at] === t) {
            series!.v[at] = point.v;
            series!.stale![at] = point.stale;
          } else {
            series!.t.splice(at, 0, point.t);
            series!.v.splice(at, 0, point.v);
            series!.stale!.splice(at, 0, point.stale);
          }
        });
      }
      continue;
    }
    m = /^eval(_fail|_ordered|_warn|_info)?\s+(instant|range)\s+(.*)$/.exec(line);
    if (m) {
      const variant = m[1] ?? '';
      const kind = m[2] as 'instant' | 'range';
      let rest = m[3]!;
      let atMs = 0;
      let startMs = 0;
      let endMs = 0;
      let stepMs = 0;
      if (kind === 'instant') {
        const im = /^at\s+(\S+)\s+(.*)$/.exec(rest)!;
        atMs = parseTime(im[1]!);
        rest = im[2]!;
      } else {
        const rm = /^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.*)$/.exec(rest)!;
        startMs = parseTime(rm[1]!);
        endMs = parseTime(rm[2]!);
        stepMs = parseTime(rm[3]!);
        rest = rm[4]!;
      }
      const c: EvalCase = {
        file,
        line: i,
        kind,
        expr: rest,
        atMs,
        startMs,
        endMs,
        stepMs,
        fail: variant === '_fail',
        ordered: variant === '_ordered',
        expectRangeVector: false,
        series: [],
        data,
        histograms,
      };
      while (isBody(lines[i]) || (lines[i] !== undefined && /^(expect|expected_fail)/.test(lines[i]!.trim()))) {
        const body = lines[i]!.trim();
        i++;
        const em = /^expect\s+(fail|ordered|warn|info|no_warn|no_info|string|range vector)\b\s*(?:(msg|regex):\s*(.*))?(.*)$/.exec(body);
        if (em) {
          if (em[1] === 'fail') {
            c.fail = true;
            if (em[2] === 'msg') c.failMessage = { exact: em[3]!.trim().replace(/^"(.*)"$/, '$1') };
            if (em[2] === 'regex') c.failMessage = { regex: em[3]!.trim().replace(/^"(.*)"$/, '$1') };
          } else if (em[1] === 'ordered') c.ordered = true;
          else if (em[1] === 'string') c.expectString = unquote(em[4]!.trim(), 0);
          else if (em[1] === 'range vector') c.expectRangeVector = true;
          continue;
        }
        const fm = /^expected_fail_(message|regexp)\s+(.*)$/.exec(body);
        if (fm) {
          c.failMessage = fm[1] === 'message' ? { exact: fm[2]! } : { regex: fm[2]! };
          continue;
        }
        if (/^[+-]?([0-9.]|Inf|NaN|inf|nan)/.test(body) && !body.includes('{') && splitSeriesLine(body)[1] === '') {
          c.scalar = parseNumber(body);
          continue;
        }
        const [descriptor, values] = splitSeriesLine(body);
        if (values.includes('{{')) {
          c.histogramResult = true;
          continue;
        }
        c.series.push({ labels: parseSeriesDescriptor(descriptor), values: expandValues(values).map((v) => (v === STALE ? undefined : v)) });
      }
      cases.push(c);
      continue;
    }
    throw new Error(`${file}:${i}: unknown command: ${line}`);
  }
  return cases;
}

export function readScript(path: string, name: string): EvalCase[] {
  return parseScript(readFileSync(path, 'utf8'), name);
}

/** selectsHistogram: the expression may read a series that was loaded with native histograms (then it is skipped). */
export function selectsHistogram(c: EvalCase, selectors: ReadonlyArray<readonly LabelMatcher[]>): boolean {
  return c.histograms.some((labels) => selectors.some((matchers) => matchers.every((m) => matches(labels, m))));
}

/** Result is what an engine answered: a vector, a matrix of steps, a scalar, a string, or an error. */
export type EngineResult =
  | { kind: 'vector'; samples: Array<{ labels: SeriesLabels; v: number }> }
  | { kind: 'matrix'; series: Array<{ labels: SeriesLabels; t: number[]; v: number[] }> }
  | { kind: 'scalar'; v: number }
  | { kind: 'string'; s: string }
  | { kind: 'error'; message: string };

const EPSILON = 1e-6;
function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || diff < Number.MIN_VALUE) return diff < EPSILON * Number.MIN_VALUE;
  return diff / Math.min(Math.abs(a) + Math.abs(b), Number.MAX_VALUE) < EPSILON;
}

const key = (labels: SeriesLabels) => JSON.stringify(Object.entries(labels).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : 1)));

/** compareResult returns undefined when `got` is what the case expects, else what differs. */
export function compareResult(c: EvalCase, got: EngineResult): string | undefined {
  if (c.fail) {
    if (got.kind !== 'error') return 'expected an error';
    return undefined;
  }
  if (got.kind === 'error') return `unexpected error: ${got.message}`;
  if (c.expectString !== undefined) return got.kind === 'string' && got.s === c.expectString ? undefined : `expected string ${c.expectString}`;
  if (c.scalar !== undefined) {
    const v = got.kind === 'scalar' ? got.v : got.kind === 'matrix' && got.series.length === 1 && got.series[0]!.v.length === 1 ? got.series[0]!.v[0]! : undefined;
    if (v === undefined || !almostEqual(v, c.scalar)) return `expected scalar ${c.scalar}, got ${JSON.stringify(got)}`;
    return undefined;
  }
  if (c.kind === 'instant') {
    if (got.kind === 'scalar') return `expected a vector, got scalar ${got.v}`;
    if (got.kind !== 'vector') return `expected a vector, got ${got.kind}`;
    if (got.samples.length !== c.series.length) return `expected ${c.series.length} samples, got ${got.samples.length}: ${JSON.stringify(got.samples.map((s) => [s.labels, s.v]))}`;
    const byKey = new Map(got.samples.map((s, i) => [key(s.labels), { s, i }]));
    for (const [i, want] of c.series.entries()) {
      const found = byKey.get(key(want.labels));
      if (!found) return `missing ${key(want.labels)}; got ${JSON.stringify(got.samples.map((s) => s.labels))}`;
      if (!almostEqual(found.s.v, want.values[0]!)) return `${key(want.labels)}: expected ${want.values[0]}, got ${found.s.v}`;
      if (c.ordered && found.i !== i) return `${key(want.labels)}: expected at position ${i}, got ${found.i}`;
    }
    return undefined;
  }
  if (got.kind !== 'matrix') return `expected a matrix, got ${got.kind}`;
  const steps: number[] = [];
  for (let t = c.startMs; t <= c.endMs; t += c.stepMs) steps.push(t);
  const wanted = c.series.filter((s) => s.values.some((v) => v !== undefined));
  if (got.series.length !== wanted.length) return `expected ${wanted.length} series, got ${got.series.length}: ${JSON.stringify(got.series.map((s) => s.labels))}`;
  const byKey = new Map(got.series.map((s) => [key(s.labels), s]));
  for (const want of wanted) {
    const found = byKey.get(key(want.labels));
    if (!found) return `missing series ${key(want.labels)}`;
    const gotByT = new Map(found.t.map((t, i) => [t, found.v[i]!]));
    for (const [k, t] of steps.entries()) {
      const w = want.values[k];
      const g = gotByT.get(t);
      if (w === undefined && g === undefined) continue;
      if (w === undefined || g === undefined || !almostEqual(g, w)) return `${key(want.labels)} at ${t / 1000}s: expected ${w}, got ${g}`;
    }
  }
  return undefined;
}

/** Scripts of features Prometheus has behind feature flags (or native histograms only), skipped whole. */
export const FEATURE_FILES: Record<string, string> = {
  'type_and_unit.test': 'feature flag: type-and-unit-labels',
  'start_timestamps.test': 'feature flag: created/start timestamps',
  'native_histograms.test': 'native histograms',
  'info.test': 'experimental function info()',
  'limit.test': 'experimental limitk/limit_ratio',
  'fill-modifier.test': 'experimental fill modifiers',
  'extended_vectors.test': 'experimental anchored/smoothed ranges',
  'duration_expression.test': 'experimental duration expressions',
  'unquoted_utf8_names.test': 'unquoted UTF-8 names (newer than the PromQL grammar we parse with)',
};

const KEYWORDS = new Set<string>([...AGGREGATION_OPS, 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'start', 'end', 'atan2']);

/** outsideScope says why a case is skipped, or undefined when it must pass. */
export function outsideScope(c: EvalCase): { skip: string } | { node: Node } | { parseError: string } {
  if (c.expectRangeVector) return { skip: 'range-vector result of an instant query' };
  if (c.histogramResult) return { skip: 'native-histogram result' };
  const feature = FEATURE_FILES[c.file];
  if (feature) return { skip: feature };
  let node: Node;
  try {
    node = parsePromql(c.expr);
  } catch (err) {
    const message = (err as Error).message;
    if (/not evaluated here|experimental/.test(message)) return { skip: 'experimental or native-histogram syntax' };
    // Functions newer than the grammar we parse with (integral, min_of, …) are experimental in Prometheus too.
    const unknown = [...c.expr.matchAll(/\b([a-z_]+)\s*\(/g)].map((m) => m[1]!).find((f) => !(f in FUNCTIONS) && !KEYWORDS.has(f));
    if (unknown) return { skip: 'experimental or native-histogram syntax' };
    return { parseError: message };
  }
  const spans = selectorSpans(node, 0, 0).map((s) => s.node.matchers);
  if (selectsHistogram(c, spans)) return { skip: 'reads native histograms' };
  return { node };
}
