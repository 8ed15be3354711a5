import { PromqlError, type LabelMatcher } from './promql';
import { COMPARISON_OPS, parsePromql, typeOf, type At, type BinaryOp, type Matching, type Node, type VectorNode } from './promql-ast';
import { fullRegex } from './promql-regex';
import { RANGE_FUNCTIONS_IMPL, INSTANT_FUNCTIONS, bucketQuantile, formatFloat, mean, quantile, sum, variance } from './promql-functions';

/**
 * A PromQL evaluator with Prometheus 3's semantics (lookback and ranges left-open, extrapolated rate/increase/delta,
 * staleness markers, vector matching, delayed removal of __name__), over series a `Queryable` hands it. The query
 * API and the rules outside the SQL-compiled subset (core/rule-sql.ts) evaluate here; ClickHouse supplies the raw
 * points of each selector once per query (store/prom-query.ts), the evaluation itself is in memory.
 */

/** Labels of a series, __name__ included. */
export type SeriesLabels = Record<string, string>;

/** StoredSeries is one series' points in time order; `stale` marks Prometheus staleness markers. */
export interface StoredSeries {
  labels: SeriesLabels;
  t: number[];
  v: number[];
  stale?: boolean[];
}

/** Queryable selects the series matching all matchers with their points in [fromMs, toMs]. */
export interface Queryable {
  select(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): StoredSeries[];
}

export interface Sample {
  labels: SeriesLabels;
  v: number;
  /** The point's own timestamp (a selector's sample), for timestamp(). */
  t?: number;
  dropName?: boolean;
}
export interface RangeSeries {
  labels: SeriesLabels;
  t: number[];
  v: number[];
  dropName?: boolean;
}
export type Value =
  | { type: 'scalar'; v: number }
  | { type: 'string'; s: string }
  | { type: 'vector'; samples: Sample[] }
  | { type: 'matrix'; series: RangeSeries[] };

export interface EngineOptions {
  lookbackMs?: number;
  /** The default step of a subquery without one (Prometheus' global evaluation interval, 1 m by default). */
  subqueryStepMs?: number;
  /** At most this many points may be selected by one query (Prometheus' query.max-samples). */
  maxSamples?: number;
  /** Evaluation stops with EvaluationTimeoutError past this instant (Date.now() milliseconds). */
  deadlineMs?: number;
}

/** EvaluationTimeoutError: the evaluation ran past its deadline. */
export class EvaluationTimeoutError extends Error {
  constructor() {
    super('query timed out in expression evaluation');
    this.name = 'EvaluationTimeoutError';
  }
}

export const DEFAULT_LOOKBACK_MS = 300_000;

/** signature is a label set's identity, __name__ included, in key order. */
export function signature(labels: SeriesLabels, omit?: ReadonlySet<string>, only?: ReadonlySet<string>): string {
  const keys = Object.keys(labels).sort();
  let out = '';
  for (const k of keys) {
    if (omit?.has(k) || (only && !only.has(k))) continue;
    const value = labels[k]!;
    if (value === '') continue;
    out += `${k}\u0000${value}\u0001`;
  }
  return out;
}

/** matches tells whether a label set satisfies a matcher (an absent label is the empty string). */
export function matches(labels: SeriesLabels, m: LabelMatcher): boolean {
  const value = labels[m.label] ?? '';
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return fullRegex(m.value).test(value);
    case '!~':
      return !fullRegex(m.value).test(value);
  }
}

/** compareLabels orders label sets as Prometheus' labels.Compare: pair by pair in name order (name, then value), a prefix first. */
export function compareLabels(a: SeriesLabels, b: SeriesLabels): number {
  const ak = Object.keys(a).sort();
  const bk = Object.keys(b).sort();
  for (let i = 0; i < ak.length && i < bk.length; i++) {
    if (ak[i] !== bk[i]) return ak[i]! < bk[i]! ? -1 : 1;
    const av = a[ak[i]!]!;
    const bv = b[bk[i]!]!;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return ak.length - bk.length;
}

/** MemoryQueryable holds series in memory (tests, and the points a query prefetched from ClickHouse). */
export class MemoryQueryable implements Queryable {
  constructor(readonly series: StoredSeries[]) {}

  select(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): StoredSeries[] {
    const out: StoredSeries[] = [];
    for (const s of this.series) {
      if (!matchers.every((m) => matches(s.labels, m))) continue;
      const lo = lowerBound(s.t, fromMs);
      const hi = upperBound(s.t, toMs);
      if (hi <= lo) continue;
      out.push({ labels: s.labels, t: s.t.slice(lo, hi), v: s.v.slice(lo, hi), ...(s.stale ? { stale: s.stale.slice(lo, hi) } : {}) });
    }
    return out;
  }
}

/** lowerBound: the first index with t[i] >= x. */
function lowerBound(t: readonly number[], x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** upperBound: the first index with t[i] > x. */
function upperBound(t: readonly number[], x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** SelectorSpan is the time span a selector reads over a whole query: what a Queryable must hold for it. */
export interface SelectorSpan {
  node: VectorNode;
  fromMs: number;
  toMs: number;
}

/**
 * selectorSpans lists each selector of `node` with the span of points a query from startMs to endMs reads, so a
 * store can fetch them up front (offsets, @, ranges, lookback and subqueries accounted for).
 */
export function selectorSpans(node: Node, startMs: number, endMs: number, options: EngineOptions = {}): SelectorSpan[] {
  const lookback = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  const out: SelectorSpan[] = [];
  const walk = (n: Node, from: number, to: number): void => {
    switch (n.type) {
      case 'vector': {
        const [a, b] = atSpan(n.at, from, to, startMs, endMs);
        out.push({ node: n, fromMs: a - n.offsetMs - lookback, toMs: b - n.offsetMs });
        return;
      }
      case 'matrix': {
        const [a, b] = atSpan(n.vector.at, from, to, startMs, endMs);
        out.push({ node: n.vector, fromMs: a - n.vector.offsetMs - n.rangeMs, toMs: b - n.vector.offsetMs });
        return;
      }
      case 'subquery': {
        const [a, b] = atSpan(n.at, from, to, startMs, endMs);
        walk(n.expr, a - n.offsetMs - n.rangeMs, b - n.offsetMs);
        return;
      }
      case 'call':
        n.args.forEach((arg) => walk(arg, from, to));
        return;
      case 'aggregate':
        if (n.param) walk(n.param, from, to);
        walk(n.expr, from, to);
        return;
      case 'binary':
        walk(n.lhs, from, to);
        walk(n.rhs, from, to);
        return;
      case 'unary':
      case 'paren':
        walk(n.expr, from, to);
        return;
      default:
        return;
    }
  };
  walk(node, startMs, endMs);
  return out;
}

function atSpan(at: At | undefined, from: number, to: number, startMs: number, endMs: number): [number, number] {
  if (at === undefined) return [from, to];
  const t = at === 'start' ? startMs : at === 'end' ? endMs : at;
  return [t, t];
}

const SIMPLE_NAME_KEEPERS = new Set(['last_over_time', 'sort', 'sort_desc', 'label_replace', 'label_join']);

/** Evaluator evaluates one query's expression at instants between its start and end. */
export class Evaluator {
  private readonly lookbackMs: number;
  private readonly selected = new Map<VectorNode, StoredSeries[]>();
  private readonly subqueryStepMs: number;
  private samplesRead = 0;
  private checks = 0;

  constructor(
    private readonly storage: Queryable,
    private readonly startMs: number,
    private readonly endMs: number,
    private readonly options: EngineOptions = {},
  ) {
    this.lookbackMs = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
    this.subqueryStepMs = options.subqueryStepMs ?? 60_000;
  }

  private series(node: VectorNode): StoredSeries[] {
    let out = this.selected.get(node);
    if (!out) {
      // In label-set order, as Prometheus' storage returns series: ties (topk, bottomk, …) are broken as there.
      out = [...this.storage.select(node.matchers, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)].sort((a, b) => compareLabels(a.labels, b.labels));
      this.selected.set(node, out);
    }
    return out;
  }

  private count(n: number, pos: number): void {
    this.samplesRead += n;
    if (this.options.deadlineMs !== undefined && ++this.checks % 256 === 0 && Date.now() > this.options.deadlineMs) throw new EvaluationTimeoutError();
    const max = this.options.maxSamples;
    if (max !== undefined && this.samplesRead > max) throw new PromqlError(`query processing would load too many samples into memory (more than ${max})`, pos);
  }

  private time(at: At | undefined, t: number): number {
    if (at === undefined) return t;
    return at === 'start' ? this.startMs : at === 'end' ? this.endMs : at;
  }

  /** eval evaluates `node` at instant `t` (ms). */
  eval(node: Node, t: number): Value {
    switch (node.type) {
      case 'number':
        return { type: 'scalar', v: node.value };
      case 'string':
        return { type: 'string', s: node.value };
      case 'paren':
        return this.eval(node.expr, t);
      case 'vector':
        return { type: 'vector', samples: this.instant(node, t) };
      case 'matrix':
        return { type: 'matrix', series: this.range(node.vector, t, node.rangeMs) };
      case 'subquery':
        return { type: 'matrix', series: this.subquery(node, t) };
      case 'unary': {
        const inner = this.eval(node.expr, t);
        if (inner.type === 'scalar') return { type: 'scalar', v: -inner.v };
        const samples = (inner as { samples: Sample[] }).samples.map((s) => ({ labels: withoutName(s.labels), v: -s.v }));
        return { type: 'vector', samples };
      }
      case 'binary':
        return this.binary(node, t);
      case 'aggregate':
        return { type: 'vector', samples: this.aggregate(node, t) };
      case 'call':
        return this.call(node, t);
    }
  }

  private instant(node: VectorNode, t: number): Sample[] {
    const at = this.time(node.at, t) - node.offsetMs;
    const out: Sample[] = [];
    for (const s of this.series(node)) {
      const i = upperBound(s.t, at) - 1;
      if (i < 0 || s.t[i]! <= at - this.lookbackMs || s.stale?.[i]) continue;
      out.push({ labels: s.labels, v: s.v[i]!, t: s.t[i]! });
    }
    this.count(out.length, node.pos);
    return out;
  }

  private range(node: VectorNode, t: number, rangeMs: number): RangeSeries[] {
    const end = this.time(node.at, t) - node.offsetMs;
    const out: RangeSeries[] = [];
    let n = 0;
    for (const s of this.series(node)) {
      const lo = upperBound(s.t, end - rangeMs);
      const hi = upperBound(s.t, end);
      if (hi <= lo) continue;
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = lo; i < hi; i++) {
        if (s.stale?.[i]) continue;
        ts.push(s.t[i]!);
        vs.push(s.v[i]!);
      }
      if (ts.length === 0) continue;
      n += ts.length;
      out.push({ labels: s.labels, t: ts, v: vs });
    }
    this.count(n, node.pos);
    return out;
  }

  private subquery(node: Extract<Node, { type: 'subquery' }>, t: number): RangeSeries[] {
    const end = this.time(node.at, t) - node.offsetMs;
    const step = node.stepMs ?? this.subqueryStepMs;
    const start = end - node.rangeMs;
    // Steps are aligned to multiples of the step (absolute time), the range left-open.
    let first = Math.floor(start / step) * step;
    if (first <= start) first += step;
    const bySig = new Map<string, RangeSeries>();
    for (let at = first; at <= end; at += step) {
      const value = this.eval(node.expr, at) as { type: 'vector'; samples: Sample[] };
      for (const s of value.samples) {
        const labels = s.dropName ? withoutName(s.labels) : s.labels;
        const sig = signature(labels);
        let series = bySig.get(sig);
        if (!series) bySig.set(sig, (series = { labels, t: [], v: [] }));
        series.t.push(at);
        series.v.push(s.v);
      }
    }
    return [...bySig.values()];
  }

  private call(node: Extract<Node, { type: 'call' }>, t: number): Value {
    const { fn, args } = node;
    switch (fn) {
      case 'time':
        return { type: 'scalar', v: t / 1000 };
      case 'pi':
        return { type: 'scalar', v: Math.PI };
      case 'vector':
        return { type: 'vector', samples: [{ labels: {}, v: this.scalar(args[0]!, t) }] };
      case 'scalar': {
        const v = this.vector(args[0]!, t);
        return { type: 'scalar', v: v.length === 1 ? v[0]!.v : Number.NaN };
      }
      case 'absent': {
        if (this.vector(args[0]!, t).length > 0) return { type: 'vector', samples: [] };
        return { type: 'vector', samples: [{ labels: absentLabels(args[0]!), v: 1 }] };
      }
      case 'absent_over_time': {
        const m = this.eval(args[0]!, t) as { series: RangeSeries[] };
        if (m.series.length > 0) return { type: 'vector', samples: [] };
        return { type: 'vector', samples: [{ labels: absentLabels(args[0]!), v: 1 }] };
      }
      case 'timestamp':
        return { type: 'vector', samples: this.vector(args[0]!, t).map((s) => ({ labels: s.labels, v: (s.t ?? t) / 1000, dropName: true })) };
      case 'label_replace':
      case 'label_join':
        return { type: 'vector', samples: this.labelFunction(node, t) };
      case 'histogram_quantile':
        return { type: 'vector', samples: this.histogramQuantile(this.scalar(args[0]!, t), this.vector(args[1]!, t)) };
    }
    const range = RANGE_FUNCTIONS_IMPL[fn];
    if (range) {
      const matrixArg = unparen(args.find((a) => typeOf(a) === 'matrix')!);
      const scalars = args.filter((a) => typeOf(a) === 'scalar').map((a) => this.scalar(a, t));
      const [param = Number.NaN, param2 = Number.NaN] = scalars;
      const m = this.eval(matrixArg, t) as { series: RangeSeries[] };
      const window = this.rangeWindow(matrixArg, t);
      const out: Sample[] = [];
      for (const s of m.series) {
        let v: number | undefined;
        try {
          v = range(s.t, s.v, { ...window, param, param2, evalMs: t });
        } catch (err) {
          if (err instanceof RangeError) throw new PromqlError(err.message, node.pos);
          throw err;
        }
        if (v === undefined) continue;
        out.push({ labels: s.labels, v, dropName: fn === 'last_over_time' ? s.dropName : true });
      }
      return { type: 'vector', samples: out };
    }
    const instant = INSTANT_FUNCTIONS[fn];
    if (instant) {
      const input = this.vector(args[0]!, t);
      const params = args.slice(1).map((a) => this.scalar(a, t));
      if (fn === 'clamp' && params[1]! < params[0]!) return { type: 'vector', samples: [] };
      const samples = input.map((s) => ({ labels: s.labels, v: instant(s.v, params), dropName: !SIMPLE_NAME_KEEPERS.has(fn) || s.dropName }));
      return { type: 'vector', samples };
    }
    if (fn === 'sort' || fn === 'sort_desc') {
      const input = [...this.vector(args[0]!, t)];
      const dir = fn === 'sort' ? 1 : -1;
      input.sort((a, b) => (Number.isNaN(a.v) ? 1 : Number.isNaN(b.v) ? -1 : dir * (a.v - b.v)));
      return { type: 'vector', samples: input };
    }
    // Date functions: of a vector's values (seconds), or of the evaluation time without one.
    const date = DATE_FUNCTIONS[fn];
    if (date) {
      const input = args.length ? this.vector(args[0]!, t) : [{ labels: {}, v: t / 1000 }];
      return { type: 'vector', samples: input.map((s) => ({ labels: s.labels, v: Number.isFinite(s.v) ? date(new Date(s.v * 1000)) : Number.NaN, dropName: true })) };
    }
    throw new PromqlError(`function ${fn}() is not evaluated here`, node.pos);
  }

  /** rangeWindow is where a range function's window lies at instant t: its selector's or subquery's, offset and @ applied. */
  private rangeWindow(arg: Node, t: number): { rangeStartMs: number; rangeEndMs: number; rangeMs: number } {
    const target = arg.type === 'matrix' ? { ...arg.vector, rangeMs: arg.rangeMs } : arg.type === 'subquery' ? arg : undefined;
    if (!target) return { rangeStartMs: t, rangeEndMs: t, rangeMs: 0 };
    const end = this.time(target.at, t) - target.offsetMs;
    return { rangeStartMs: end - target.rangeMs, rangeEndMs: end, rangeMs: target.rangeMs };
  }

  private labelFunction(node: Extract<Node, { type: 'call' }>, t: number): Sample[] {
    const strings = node.args.slice(1).map((a) => (this.eval(a, t) as { s: string }).s);
    const input = this.vector(node.args[0]!, t);
    const dst = strings[0]!;
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst) && !(node.fn === 'label_replace' && dst === '__name__')) {
      throw new PromqlError(`invalid destination label name in ${node.fn}(): ${dst}`, node.pos);
    }
    if (node.fn === 'label_join') {
      const [, sep, ...src] = strings;
      return input.map((s) => setLabel(s, dst, src.map((l) => s.labels[l] ?? '').join(sep!)));
    }
    const [, replacement, src, pattern] = strings;
    let re: RegExp;
    try {
      re = fullRegex(pattern!);
    } catch {
      throw new PromqlError(`invalid regular expression in label_replace(): ${pattern}`, node.pos);
    }
    return input.map((s) => {
      const m = re.exec(s.labels[src!] ?? '');
      return m ? setLabel(s, dst, expandTemplate(replacement!, m)) : s;
    });
  }

  private histogramQuantile(q: number, input: Sample[]): Sample[] {
    const groups = new Map<string, { labels: SeriesLabels; buckets: Array<{ upper: number; count: number }> }>();
    for (const s of input) {
      const le = s.labels.le;
      if (le === undefined) continue;
      const upper = /^\+?inf$/i.test(le) ? Infinity : Number(le);
      if (Number.isNaN(upper) || le.trim() === '') continue;
      // Grouped with __name__ still on (dropped at the end): buckets of two metrics never mix.
      const labels = { ...s.labels };
      delete labels.le;
      const sig = signature(labels);
      let g = groups.get(sig);
      if (!g) groups.set(sig, (g = { labels, buckets: [] }));
      g.buckets.push({ upper, count: s.v });
    }
    return [...groups.values()].map((g) => ({ labels: g.labels, v: bucketQuantile(q, g.buckets), dropName: true }));
  }

  private scalar(node: Node, t: number): number {
    const v = this.eval(node, t);
    if (v.type !== 'scalar') throw new PromqlError('expected a scalar', node.pos);
    return v.v;
  }

  private vector(node: Node, t: number): Sample[] {
    const v = this.eval(node, t);
    if (v.type !== 'vector') throw new PromqlError('expected an instant vector', node.pos);
    return v.samples;
  }

  private binary(node: Extract<Node, { type: 'binary' }>, t: number): Value {
    const l = this.eval(node.lhs, t);
    const r = this.eval(node.rhs, t);
    const op = node.op;
    if (l.type === 'scalar' && r.type === 'scalar') {
      const [v, keep] = elem(op, l.v, r.v);
      return { type: 'scalar', v: COMPARISON_OPS.has(op) ? (keep ? 1 : 0) : v };
    }
    if (l.type === 'vector' && r.type === 'vector') return { type: 'vector', samples: vectorBinary(node, l.samples, r.samples) };
    const swap = l.type === 'scalar';
    const vec = (swap ? r : l) as { samples: Sample[] };
    const scalarValue = (swap ? l : r) as { v: number };
    const out: Sample[] = [];
    for (const s of vec.samples) {
      const [lv, rv] = swap ? [scalarValue.v, s.v] : [s.v, scalarValue.v];
      const [computed, keep] = elem(op, lv, rv);
      // A comparison keeps the vector's value, on whichever side it stands.
      const v = COMPARISON_OPS.has(op) && swap ? rv : computed;
      if (node.bool) {
        out.push({ labels: s.labels, v: keep ? 1 : 0, dropName: true });
      } else if (keep) {
        out.push(COMPARISON_OPS.has(op) ? { labels: s.labels, v, dropName: s.dropName } : { labels: withoutName(s.labels), v });
      }
    }
    return { type: 'vector', samples: out };
  }

  private aggregate(node: Extract<Node, { type: 'aggregate' }>, t: number): Sample[] {
    const input = this.vector(node.expr, t);
    const param = node.param ? this.eval(node.param, t) : undefined;
    const grouping = new Set(node.grouping);
    const groups = new Map<string, { labels: SeriesLabels; samples: Sample[]; dropName: boolean }>();
    for (const s of input) {
      const labels: SeriesLabels = {};
      if (node.without) {
        for (const [k, v] of Object.entries(s.labels)) if (!grouping.has(k) && k !== '__name__') labels[k] = v;
      } else {
        // by (__name__) groups by the name even where it is to be dropped (Prometheus' delayed name removal).
        for (const k of node.grouping) {
          const v = s.labels[k];
          if (v !== undefined && v !== '') labels[k] = v;
        }
      }
      const sig = signature(labels);
      let g = groups.get(sig);
      if (!g) groups.set(sig, (g = { labels, samples: [], dropName: false }));
      g.samples.push(s);
      if (s.dropName && labels.__name__ !== undefined) g.dropName = true;
    }
    if ((node.op === 'topk' || node.op === 'bottomk') && Number.isNaN((param as { v: number }).v)) throw new PromqlError('Parameter value is NaN', node.pos);
    const out: Sample[] = [];
    for (const g of groups.values()) {
      const values = g.samples.map((s) => s.v);
      const at = out.length;
      switch (node.op) {
        case 'sum':
          out.push({ labels: g.labels, v: sum(values) });
          break;
        case 'avg':
          out.push({ labels: g.labels, v: mean(values) });
          break;
        case 'count':
          out.push({ labels: g.labels, v: values.length });
          break;
        case 'group':
          out.push({ labels: g.labels, v: 1 });
          break;
        case 'min':
          out.push({ labels: g.labels, v: values.reduce((a, b) => (b < a || Number.isNaN(a) ? b : a)) });
          break;
        case 'max':
          out.push({ labels: g.labels, v: values.reduce((a, b) => (b > a || Number.isNaN(a) ? b : a)) });
          break;
        case 'stddev':
        case 'stdvar': {
          const spread = variance(values);
          out.push({ labels: g.labels, v: node.op === 'stddev' ? Math.sqrt(spread) : spread });
          break;
        }
        case 'quantile':
          out.push({ labels: g.labels, v: quantile((param as { v: number }).v, values) });
          break;
        case 'topk':
        case 'bottomk': {
          const k = Math.floor((param as { v: number }).v);
          if (!(k >= 1)) break;
          const sign = node.op === 'topk' ? -1 : 1;
          const sorted = [...g.samples].sort((a, b) => {
            if (Number.isNaN(a.v)) return Number.isNaN(b.v) ? 0 : 1;
            if (Number.isNaN(b.v)) return -1;
            return sign * (a.v - b.v);
          });
          out.push(...sorted.slice(0, k));
          break;
        }
        case 'count_values': {
          const label = (param as { s: string }).s;
          if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new PromqlError(`invalid label name "${label}"`, node.pos);
          const counts = new Map<string, number>();
          for (const v of values) counts.set(formatFloat(v), (counts.get(formatFloat(v)) ?? 0) + 1);
          for (const [value, n] of counts) out.push({ labels: { ...g.labels, [label]: value }, v: n });
          break;
        }
      }
      if (g.dropName && node.op !== 'topk' && node.op !== 'bottomk') for (let i = at; i < out.length; i++) out[i] = { ...out[i]!, dropName: true };
    }
    return out;
  }

  /** instantQuery evaluates at one instant; the result's names dropped where due and its label sets checked unique. */
  instantQuery(node: Node, t: number): Value {
    const value = this.eval(node, t);
    if (value.type === 'vector') return { type: 'vector', samples: finish(value.samples, node.pos) };
    if (value.type === 'matrix') return { type: 'matrix', series: value.series.map((s) => (s.dropName ? { ...s, labels: withoutName(s.labels) } : s)) };
    return value;
  }

  /** rangeQuery evaluates at every step from start to end and joins the instants into series. */
  rangeQuery(node: Node, stepMs: number): RangeSeries[] {
    const kind = typeOf(node);
    if (kind !== 'vector' && kind !== 'scalar') throw new PromqlError(`invalid expression type "${kind === 'matrix' ? 'range vector' : kind}" for range query, must be Scalar or instant Vector`, node.pos);
    const bySig = new Map<string, RangeSeries>();
    for (let t = this.startMs; t <= this.endMs; t += stepMs) {
      const value = this.eval(node, t);
      const samples = value.type === 'scalar' ? [{ labels: {}, v: value.v }] : finish((value as { samples: Sample[] }).samples, node.pos);
      for (const s of samples) {
        const sig = signature(s.labels);
        let series = bySig.get(sig);
        if (!series) bySig.set(sig, (series = { labels: s.labels, t: [], v: [] }));
        series.t.push(t);
        series.v.push(s.v);
      }
    }
    return [...bySig.values()];
  }
}

/** finish drops __name__ where an operation asked for it and refuses two samples with one label set. */
function finish(samples: Sample[], pos: number): Sample[] {
  const seen = new Set<string>();
  return samples.map((s) => {
    const labels = s.dropName ? withoutName(s.labels) : s.labels;
    const sig = signature(labels);
    if (seen.has(sig)) throw new PromqlError('vector cannot contain metrics with the same labelset', pos);
    seen.add(sig);
    return { labels, v: s.v, ...(s.t === undefined ? {} : { t: s.t }) };
  });
}

function unparen(node: Node): Node {
  return node.type === 'paren' ? unparen(node.expr) : node;
}

function withoutName(labels: SeriesLabels): SeriesLabels {
  if (labels.__name__ === undefined) return labels;
  const { __name__: _, ...rest } = labels;
  return rest;
}

function setLabel(s: Sample, name: string, value: string): Sample {
  const labels = { ...s.labels };
  if (value === '') delete labels[name];
  else labels[name] = value;
  return { ...s, labels, ...(name === '__name__' ? { dropName: false } : {}) };
}

/** expandTemplate expands $1, ${1}, $name and ${name} in a label_replace replacement as Go's Regexp.Expand does. */
function expandTemplate(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([a-zA-Z0-9_]+)\}|([a-zA-Z0-9_]+))/g, (_whole, dollar: string, braced?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const name = braced ?? bare!;
    if (/^[0-9]+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

/** absentLabels are the labels absent() reports: the selector's equality matchers (a label matched twice: none). */
function absentLabels(arg: Node): SeriesLabels {
  const selector = arg.type === 'vector' ? arg : arg.type === 'matrix' ? arg.vector : undefined;
  if (!selector) return {};
  const labels: SeriesLabels = {};
  const twice = new Set<string>();
  for (const m of selector.matchers) {
    if (m.label === '__name__') continue;
    if (m.op === '=' && labels[m.label] === undefined && !twice.has(m.label)) labels[m.label] = m.value;
    else if (labels[m.label] !== undefined || m.op === '=') {
      delete labels[m.label];
      twice.add(m.label);
    }
  }
  return labels;
}

/** elem applies a binary operator to two numbers: the value, and for comparisons whether it holds. */
function elem(op: BinaryOp, l: number, r: number): [number, boolean] {
  switch (op) {
    case '+':
      return [l + r, true];
    case '-':
      return [l - r, true];
    case '*':
      return [l * r, true];
    case '/':
      return [l / r, true];
    case '%':
      return [goMod(l, r), true];
    case '^':
      return [Math.pow(l, r), true];
    case 'atan2':
      return [Math.atan2(l, r), true];
    case '==':
      return [l, l === r];
    case '!=':
      return [l, l !== r];
    case '>':
      return [l, l > r];
    case '<':
      return [l, l < r];
    case '>=':
      return [l, l >= r];
    case '<=':
      return [l, l <= r];
    default:
      return [Number.NaN, false];
  }
}

/** goMod is Go's math.Mod: the remainder with the dividend's sign (JS's % agrees, except for Infinity divisors' edge cases). */
function goMod(l: number, r: number): number {
  if (!Number.isFinite(l) || Number.isNaN(r) || r === 0) return Number.NaN;
  if (!Number.isFinite(r)) return l;
  return l % r;
}

/** matchSignature is a sample's identity for vector matching: on() its listed labels, else all but ignoring()'s and __name__. */
function matchSignature(labels: SeriesLabels, matching: Matching | undefined): string {
  if (matching?.on) return signature(labels, undefined, new Set(matching.labels));
  return signature(labels, new Set(['__name__', ...(matching?.labels ?? [])]));
}

function vectorBinary(node: Extract<Node, { type: 'binary' }>, lhs: Sample[], rhs: Sample[]): Sample[] {
  const { op, matching } = node;
  if (op === 'and' || op === 'unless') {
    const right = new Set(rhs.map((s) => matchSignature(s.labels, matching)));
    return lhs.filter((s) => right.has(matchSignature(s.labels, matching)) === (op === 'and'));
  }
  if (op === 'or') {
    const left = new Set(lhs.map((s) => matchSignature(s.labels, matching)));
    return [...lhs, ...rhs.filter((s) => !left.has(matchSignature(s.labels, matching)))];
  }
  const card = matching?.card ?? 'one-to-one';
  const [many, one] = card === 'one-to-many' ? [rhs, lhs] : [lhs, rhs];
  const oneBySig = new Map<string, Sample>();
  for (const s of one) {
    const sig = matchSignature(s.labels, matching);
    if (oneBySig.has(sig)) {
      throw new PromqlError(`found duplicate series for the match group on the ${card === 'one-to-many' ? 'left' : 'right'} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`, node.pos);
    }
    oneBySig.set(sig, s);
  }
  const isComparison = COMPARISON_OPS.has(op);
  const matched = new Set<string>();
  const emitted = new Map<string, Set<string>>();
  const out: Sample[] = [];
  for (const s of many) {
    const sig = matchSignature(s.labels, matching);
    const other = oneBySig.get(sig);
    if (!other) continue;
    const [ls, rs] = card === 'one-to-many' ? [other, s] : [s, other];
    const [v, keep] = elem(op, ls.v, rs.v);
    const labels = resultLabels(s.labels, other.labels, op, matching);
    if (card === 'one-to-one') {
      if (matched.has(sig)) throw new PromqlError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)', node.pos);
      matched.add(sig);
    } else {
      const seen = emitted.get(sig) ?? new Set<string>();
      const resultSig = signature(labels);
      if (seen.has(resultSig)) throw new PromqlError('multiple matches for labels: grouping labels must ensure unique matches', node.pos);
      seen.add(resultSig);
      emitted.set(sig, seen);
    }
    if (node.bool) out.push({ labels, v: keep ? 1 : 0, dropName: true });
    else if (keep) out.push({ labels, v: isComparison ? ls.v : v, ...(isComparison && s.dropName ? { dropName: true } : {}) });
  }
  return out;
}

function resultLabels(labels: SeriesLabels, other: SeriesLabels, op: BinaryOp, matching: Matching | undefined): SeriesLabels {
  let out: SeriesLabels = { ...labels };
  if (!COMPARISON_OPS.has(op)) delete out.__name__;
  if (!matching || matching.card === 'one-to-one') {
    if (matching?.on) {
      const keep = new Set(matching.labels);
      out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
    } else if (matching) {
      for (const l of matching.labels) delete out[l];
    }
  }
  for (const l of matching?.include ?? []) {
    const v = other[l];
    if (v !== undefined && v !== '') out[l] = v;
    else delete out[l];
  }
  return out;
}

const DATE_FUNCTIONS: Record<string, (d: Date) => number> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** evaluate parses and evaluates `text` as an instant query at `t` (a convenience for tests and the rules). */
export function evaluateInstant(storage: Queryable, text: string, t: number, options: EngineOptions = {}): Value {
  const node = parsePromql(text);
  return new Evaluator(storage, t, t, options).instantQuery(node, t);
}
