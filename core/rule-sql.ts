import { QueryParams, sqlIdentifier } from './escape';
import { compare, type ComparisonOp, type Expr, type LabelMatcher, type RangeFunction } from './promql';
import type { Rule } from './rules';
import type { Labels } from './types';

/**
 * Compiles the PromQL subset (core/promql.ts) to ClickHouse SQL for current servers (>= 24.8): every value a query
 * parameter (core/escape.ts QueryParams), no window functions, arrays and lambdas for counter resets.
 *
 * Every compiled expression is a subquery with the same five columns — `service`, `instance`, `label_keys`,
 * `label_values` (the series' identity, as performance_events stores it) and `value` (Float64) — so selectors,
 * functions, aggregations and arithmetic compose by nesting. A rule group becomes units (an expression and its
 * rules, or one scan that several selectors and *_over_time functions of a metric share), each tagged with its rules'
 * indices and joined by UNION ALL.
 */

/** SeriesValue is the value of one series of a rule's expression at the evaluation instant. */
export interface SeriesValue {
  service: string;
  instance: string;
  labels: Labels;
  value: number;
  /** Set by the anomaly scan: its verdict (instead of comparing `value` with the rule's threshold) and explanation. */
  breaching?: boolean;
  annotations?: Labels;
}

/** EvaluationWindow is where and when an expression is evaluated. */
export interface EvaluationWindow {
  database: string;
  nowMs: number;
  /** How far back an instant selector looks for a series' latest sample (Prometheus' lookback delta). */
  lookbackMs: number;
}

const TIME_MS = 'toUnixTimestamp64Milli(timestamp)';

/** matcherSql is a label matcher as a condition on performance_events or a rollup (`__name__`, service, instance: columns). */
export function matcherSql(matcher: LabelMatcher, params: QueryParams): string {
  const column =
    matcher.label === '__name__'
      ? 'metric_name'
      : matcher.label === 'service' || matcher.label === 'service_name'
        ? 'service_name'
        : matcher.label === 'instance' || matcher.label === 'instance_id'
          ? 'instance_id'
          : `labels[${params.string(matcher.label)}]`;
  switch (matcher.op) {
    case '=':
      return `${column} = ${params.string(matcher.value)}`;
    case '!=':
      return `${column} != ${params.string(matcher.value)}`;
    case '=~':
      return `match(${column}, ${params.string(`^(?:${matcher.value})$`)})`;
    case '!~':
      return `NOT match(${column}, ${params.string(`^(?:${matcher.value})$`)})`;
  }
}

/**
 * samplesWhere selects a metric's samples in (nowMs − rangeMs, nowMs], left-open as in Prometheus; the millisecond
 * bounds on `timestamp` use the (metric_name, service_name, instance_id, timestamp) key.
 */
function samplesWhere(metric: string, matchers: readonly LabelMatcher[], nowMs: number, rangeMs: number, params: QueryParams): string {
  return [
    `metric_name = ${params.string(metric)}`,
    `timestamp > ${params.timeMs(nowMs - rangeMs)}`,
    `timestamp <= ${params.timeMs(nowMs)}`,
    ...matchers.map((m) => matcherSql(m, params)),
  ].join(' AND ');
}

// The label map's keys are sorted by the writer, so its keys and values are the series' identity as two arrays.
const SERIES_COLUMNS =
  "service_name AS service, instance_id AS instance, CAST(mapKeys(labels), 'Array(String)') AS label_keys, mapValues(labels) AS label_values";
const SERIES_GROUP = 'GROUP BY service, instance, label_keys, label_values';

/** Aggregates over a range's samples, per range function (rate and increase are computed from the sorted points). */
const OVER_TIME: Record<string, string> = {
  avg_over_time: 'avg(metric_value)',
  min_over_time: 'min(metric_value)',
  max_over_time: 'max(metric_value)',
  sum_over_time: 'sum(metric_value)',
  count_over_time: 'count()',
  last_over_time: `argMax(metric_value, ${TIME_MS})`,
};

/** renamed reads a compiled subquery with short column names, so an outer SELECT can reuse the standard aliases. */
function renamed(sql: string, valueAs = 'x'): string {
  return `(SELECT service AS s, instance AS i, label_keys AS k, label_values AS v, value AS ${valueAs} FROM (${sql}))`;
}

/** compileExpr compiles a vector expression to a subquery of (service, instance, label_keys, label_values, value). */
export function compileExpr(expr: Expr, window: EvaluationWindow, params: QueryParams): string {
  const table = `${sqlIdentifier(window.database)}.performance_events`;
  switch (expr.kind) {
    case 'number':
      throw new Error('a number is not a series expression');
    case 'selector':
      return [
        `SELECT ${SERIES_COLUMNS}, toFloat64(argMax(metric_value, ${TIME_MS})) AS value`,
        `FROM ${table}`,
        `WHERE ${samplesWhere(expr.metric, expr.matchers, window.nowMs, window.lookbackMs, params)}`,
        SERIES_GROUP,
      ].join(' ');
    case 'range': {
      const where = samplesWhere(expr.metric, expr.matchers, window.nowMs, expr.rangeMs, params);
      if (expr.fn !== 'rate' && expr.fn !== 'increase') {
        return `SELECT ${SERIES_COLUMNS}, toFloat64(${OVER_TIME[expr.fn]}) AS value FROM ${table} WHERE ${where} ${SERIES_GROUP}`;
      }
      // Counter semantics: a drop is a reset, whose new value is all increase. The per-second rate is the increase
      // over the span the samples cover; increase() scales it to the whole range, as Prometheus extrapolates.
      const points = [
        `SELECT ${SERIES_COLUMNS},`,
        `arrayMap(p -> tupleElement(p, 2), arraySort(p -> tupleElement(p, 1), groupArray((${TIME_MS}, metric_value)))) AS vals,`,
        `arraySort(groupArray(${TIME_MS})) AS ts`,
        `FROM ${table} WHERE ${where} ${SERIES_GROUP} HAVING count() >= 2`,
      ].join(' ');
      const increase = 'arraySum(arrayMap((val, n) -> if(n = 1, 0, if(val >= vals[n - 1], val - vals[n - 1], val)), vals, arrayEnumerate(vals)))';
      const span = '((ts[length(ts)] - ts[1]) / 1000)';
      const perSecond = `${increase} / ${span}`;
      const value = expr.fn === 'rate' ? perSecond : `${perSecond} * ${params.float(expr.rangeMs / 1000)}`;
      return `SELECT service, instance, label_keys, label_values, toFloat64(${value}) AS value FROM (${points}) WHERE ts[length(ts)] > ts[1]`;
    }
    case 'aggregate': {
      const keep = expr.by.filter((l) => !['service', 'service_name', 'instance', 'instance_id'].includes(l));
      const service = expr.by.includes('service') || expr.by.includes('service_name') ? 's' : "''";
      const instance = expr.by.includes('instance') || expr.by.includes('instance_id') ? 'i' : "''";
      const keys = keep.length ? params.strings(keep) : 'emptyArrayString()';
      const values = keep.length ? `[${keep.map((l) => `v[indexOf(k, ${params.string(l)})]`).join(', ')}]` : 'emptyArrayString()';
      return [
        `SELECT ${service} AS service, ${instance} AS instance, ${keys} AS label_keys, ${values} AS label_values,`,
        `toFloat64(${expr.op}(x)) AS value`,
        `FROM ${renamed(compileExpr(expr.expr, window, params))}`,
        'GROUP BY service, instance, label_keys, label_values',
      ].join(' ');
    }
    case 'binary': {
      const { left, right, op } = expr;
      if (left.kind === 'number' || right.kind === 'number') {
        const value = left.kind === 'number' ? `(${params.float(left.value)}) ${op} x` : right.kind === 'number' ? `x ${op} (${params.float(right.value)})` : '';
        const vector = left.kind === 'number' ? right : left;
        return `SELECT s AS service, i AS instance, k AS label_keys, v AS label_values, toFloat64(${value}) AS value FROM ${renamed(compileExpr(vector, window, params))}`;
      }
      // Two vectors: one-to-one matching on the whole label set, as PromQL does without on()/ignoring().
      return [
        `SELECT s AS service, i AS instance, k AS label_keys, v AS label_values, toFloat64(x ${op} y) AS value`,
        `FROM ${renamed(compileExpr(left, window, params))} AS l`,
        `ANY INNER JOIN ${renamed(compileExpr(right, window, params), 'y')} AS r USING (s, i, k, v)`,
      ].join(' ');
    }
  }
}

/** Wrap is what a shared scan's expression does to its base column: an aggregation by labels, arithmetic with a number. */
type Wrap = { kind: 'aggregate'; op: Extract<Expr, { kind: 'aggregate' }>['op']; by: string[] } | { kind: 'arithmetic'; op: Extract<Expr, { kind: 'binary' }>['op']; number: number; numberFirst: boolean };

/**
 * shareable is the (metric, matchers) scan an expression can share: a plain selector or a range function of one,
 * possibly inside aggregations by labels and arithmetic with numbers (`max by (service) (avg_over_time(x[5m])) / 100`)
 * — its base, and the wraps applied to the base's series, innermost first.
 */
function shareable(expr: Expr): { scan: string; base: Extract<Expr, { kind: 'selector' | 'range' }>; wraps: Wrap[] } | undefined {
  if (expr.kind === 'selector' || expr.kind === 'range') return { scan: JSON.stringify([expr.metric, expr.matchers]), base: expr, wraps: [] };
  if (expr.kind === 'aggregate') {
    const inner = shareable(expr.expr);
    return inner && { ...inner, wraps: [...inner.wraps, { kind: 'aggregate', op: expr.op, by: expr.by }] };
  }
  if (expr.kind === 'binary' && (expr.left.kind === 'number') !== (expr.right.kind === 'number')) {
    const numberFirst = expr.left.kind === 'number';
    const inner = shareable(numberFirst ? expr.right : expr.left);
    const number = (numberFirst ? expr.left : expr.right) as Extract<Expr, { kind: 'number' }>;
    return inner && { ...inner, wraps: [...inner.wraps, { kind: 'arithmetic', op: expr.op, number: number.value, numberFirst }] };
  }
  return undefined;
}

type Series = Pick<SeriesValue, 'service' | 'instance' | 'labels' | 'value'>;

/** wrapped applies wraps to series as compileExpr's SQL does (an aggregation keeps its `by` labels only, '' if absent). */
function wrapped(series: Series[], wraps: readonly Wrap[]): Series[] {
  let out = series;
  for (const w of wraps) {
    if (w.kind === 'arithmetic') {
      const f = (a: number, b: number) => (w.op === '+' ? a + b : w.op === '-' ? a - b : w.op === '*' ? a * b : a / b);
      out = out.map((s) => ({ ...s, value: w.numberFirst ? f(w.number, s.value) : f(s.value, w.number) }));
      continue;
    }
    const keep = w.by.filter((l) => !['service', 'service_name', 'instance', 'instance_id'].includes(l));
    const byService = w.by.includes('service') || w.by.includes('service_name');
    const byInstance = w.by.includes('instance') || w.by.includes('instance_id');
    const groups = new Map<string, { series: Series; values: number[] }>();
    for (const s of out) {
      const labels = Object.fromEntries(keep.map((l) => [l, s.labels[l] ?? '']));
      const head = { service: byService ? s.service : '', instance: byInstance ? s.instance : '', labels, value: 0 };
      const key = JSON.stringify([head.service, head.instance, keep.map((l) => labels[l])]);
      const group = groups.get(key) ?? { series: head, values: [] };
      group.values.push(s.value);
      groups.set(key, group);
    }
    out = [...groups.values()].map(({ series: head, values }) => {
      const sum = values.reduce((a, b) => a + b, 0);
      const value = w.op === 'sum' ? sum : w.op === 'avg' ? sum / values.length : w.op === 'count' ? values.length : w.op === 'min' ? Math.min(...values) : Math.max(...values);
      return { ...head, value };
    });
  }
  return out.filter((s) => Number.isFinite(s.value));
}

/**
 * GroupUnit is one part of a group's evaluation query: the rules of one expression (`indices`), or a shared scan —
 * several expressions over one metric and matchers (plain selectors and range functions, inside aggregations and
 * arithmetic with numbers: a rule's 5-minute and 1-hour windows, a warning on the last value and a critical on the
 * average) read in one pass, each a column.
 */
export type GroupUnit = { kind: 'expression'; indices: number[] } | { kind: 'scan'; expressions: number[][] };

/**
 * SCAN_MAX_RANGE_MS bounds the range of an expression a shared scan takes: a scan holds each series' points over its
 * widest range in memory (an hour at a 15 s scrape: 240 a series), where an expression alone aggregates them as they
 * stream by — a day-long avg_over_time is evaluated alone.
 */
export const SCAN_MAX_RANGE_MS = 3_600_000;

/** groupUnits splits a group's rules into units: rules with one expression together, shareable expressions by scan. */
export function groupUnits(rules: readonly Rule[]): GroupUnit[] {
  const byExpression = new Map<string, number[]>();
  rules.forEach((rule, index) => {
    const key = JSON.stringify(rule.condition.expr);
    byExpression.set(key, [...(byExpression.get(key) ?? []), index]);
  });
  const units: GroupUnit[] = [];
  const scans = new Map<string, number[][]>();
  for (const indices of byExpression.values()) {
    const share = shareable(rules[indices[0]!]!.condition.expr);
    if (share && (share.base.kind === 'selector' || share.base.rangeMs <= SCAN_MAX_RANGE_MS)) scans.set(share.scan, [...(scans.get(share.scan) ?? []), indices]);
    else units.push({ kind: 'expression', indices });
  }
  for (const expressions of scans.values()) units.push(expressions.length > 1 ? { kind: 'scan', expressions } : { kind: 'expression', indices: expressions[0]! });
  return units;
}

/**
 * unitSql is an expression unit's rows at `nowMs`: (rule, service, instance, label_keys, label_values, value), `rule` an index
 * in `rules`, non-finite values (a division by zero traffic) dropped. A rule with open alerts (`allSeries`) gets
 * all its series back — the caller needs the clear ones to resolve those alerts —; any other rule only its breaching
 * series, so a quiet group of a thousand rules over a thousand series each returns next to nothing. Expression
 * units join with UNION ALL into a group's queries; a shared scan is a query of its own (scanSql; both run by
 * store/clickhouse.ts queryRuleGroup).
 */
export function unitSql(unit: Extract<GroupUnit, { kind: 'expression' }>, rules: readonly Rule[], window: EvaluationWindow, params: QueryParams, allSeries: readonly boolean[] = []): string {
  const keep = (index: number) => {
    const { op, threshold } = rules[index]!.condition;
    return allSeries[index] ? `rule = ${index}` : `(rule = ${index} AND value ${op === '==' ? '=' : op} ${params.float(threshold)})`;
  };
  const { indices } = unit;
  const expr = compileExpr(rules[indices[0]!]!.condition.expr, window, params);
  const rule = indices.length === 1 ? `toUInt32(${indices[0]}) AS rule` : 'rule';
  const fanOut = indices.length === 1 ? '' : ` ARRAY JOIN CAST([${indices.join(', ')}] AS Array(UInt32)) AS rule`;
  return `SELECT ${rule}, service, instance, label_keys, label_values, value FROM (${expr})${fanOut} WHERE isFinite(value) AND (${indices.map(keep).join(' OR ')})`;
}

/** ScanMember is one expression of a shared scan: its rules (indices in the group), its base column and wraps. */
interface ScanMember {
  indices: number[];
  rangeMs: number;
  fn: RangeFunction;
  metric: string;
  matchers: LabelMatcher[];
  wraps: Wrap[];
}

function scanMembers(unit: Extract<GroupUnit, { kind: 'scan' }>, rules: readonly Rule[], window: EvaluationWindow): ScanMember[] {
  return unit.expressions.map((indices) => {
    const { base, wraps } = shareable(rules[indices[0]!]!.condition.expr)!;
    return { indices, rangeMs: base.kind === 'selector' ? window.lookbackMs : base.rangeMs, fn: base.kind === 'selector' ? 'last_over_time' : base.fn, metric: base.metric, matchers: base.matchers, wraps };
  });
}

/** SCAN_KINDS numbers the range functions a shared scan computes (a selector reads as last_over_time of the lookback). */
const SCAN_KINDS: readonly RangeFunction[] = ['rate', 'increase', 'max_over_time', 'min_over_time', 'avg_over_time', 'sum_over_time', 'count_over_time', 'last_over_time'];
/** SCAN_OPS numbers the comparisons a shared scan's filter tests; the code after them keeps a series with a value. */
const SCAN_OPS: readonly ComparisonOp[] = ['>', '<', '>=', '<=', '==', '!='];

/**
 * The value of one expression of a shared scan, a lambda's body over f (the index of the range's first point, 0 if
 * none), kind (SCAN_KINDS) and r (the range in seconds), on the series' sorted points ts / vs, their count len and
 * the running sum of their increments cum. Counters as compileExpr's rate: a drop is a reset (its new value all
 * increase); the rate is the increase over the span the range's samples cover, increase() that rate over the range;
 * under two points, none. NaN is "no value" (the JSON answer carries it as null).
 */
const SCAN_VALUE = [
  'multiIf(f = 0, nan,',
  'kind <= 1, if(len - f >= 1 AND ts[len] > ts[f], (cum[len] - cum[f]) / ((ts[len] - ts[f]) / 1000) * if(kind = 1, r, 1), nan),',
  'kind = 2, arrayMax(arraySlice(vs, f)), kind = 3, arrayMin(arraySlice(vs, f)), kind = 4, arrayAvg(arraySlice(vs, f)),',
  'kind = 5, arraySum(arraySlice(vs, f)), kind = 6, toFloat64(len - f + 1), vs[len])',
].join(' ');

/**
 * scanSql is a shared scan's query: one pass over the widest range, a row per series with every expression's value in
 * one array (`cs`, in the scan's member order), only the rows some rule needs — all of them for a rule with open
 * alerts or a wrapped expression, else those breaching at least one threshold. Every expression is an element of
 * arrays bound as parameters (each range's start, kind and length; each rule's member, comparison and threshold), so
 * the query's size does not grow with the rules: ClickHouse 26 took 0.3–0.6 s to analyse a scan of 50 rate columns
 * written out one by one, and 30 ms to run this. scanSeries turns the rows into each rule's series.
 */
export function scanSql(unit: Extract<GroupUnit, { kind: 'scan' }>, rules: readonly Rule[], window: EvaluationWindow, params: QueryParams, allSeries: readonly boolean[] = []): string {
  const members = scanMembers(unit, rules, window);
  const widest = Math.max(...members.map((m) => m.rangeMs));
  const table = `${sqlIdentifier(window.database)}.performance_events`;
  const starts = params.ints(members.map((m) => window.nowMs - m.rangeMs));
  const kinds = params.ints(members.map((m) => SCAN_KINDS.indexOf(m.fn)));
  const ranges = params.floats(members.map((m) => m.rangeMs / 1000));
  // One test per rule: its member (1-based), its comparison (or "has a value"), its threshold.
  const tests = members.flatMap((m, k) =>
    m.indices.map((index) => {
      const { op, threshold } = rules[index]!.condition;
      // A wrapped expression needs every series of its base (an aggregation's groups, arithmetic before the test).
      const keepAll = allSeries[index] || m.wraps.length > 0;
      return { member: k + 1, op: keepAll ? SCAN_OPS.length : SCAN_OPS.indexOf(op), threshold: keepAll ? 0 : threshold };
    }),
  );
  const comparisons = SCAN_OPS.map((op, code) => `op = ${code}, cs[k] ${op === '==' ? '=' : op} thr`).join(', ');
  const pass = `SELECT ${SERIES_COLUMNS}, arraySort(groupArray((${TIME_MS}, metric_value))) AS pts FROM ${table} WHERE ${samplesWhere(members[0]!.metric, members[0]!.matchers, window.nowMs, widest, params)} ${SERIES_GROUP}`;
  const points = `SELECT *, arrayMap(p -> tupleElement(p, 1), pts) AS ts, arrayMap(p -> tupleElement(p, 2), pts) AS vs FROM (${pass})`;
  const increments = `SELECT *, length(ts) AS len, arrayCumSum(arrayMap((val, n) -> if(n = 1, 0, if(val >= vs[n - 1], val - vs[n - 1], val)), vs, arrayEnumerate(vs))) AS cum FROM (${points})`;
  const values = `SELECT *, arrayMap((f, kind, r) -> ${SCAN_VALUE}, arrayMap(s -> arrayFirstIndex(t -> t > s, ts), ${starts}), ${kinds}, ${ranges}) AS cs FROM (${increments})`;
  return [
    `SELECT service, instance, label_keys, label_values, cs FROM (${values})`,
    `WHERE arrayExists((k, op, thr) -> multiIf(${comparisons}, NOT isNaN(cs[k])), ${params.ints(tests.map((t) => t.member))}, ${params.ints(tests.map((t) => t.op))}, ${params.floats(tests.map((t) => t.threshold))})`,
  ].join(' ');
}

/**
 * scanSeries turns a shared scan's rows into each rule's series: the expression's value where its range had
 * samples, its wraps applied, then the rule's threshold unless the rule wants all its series (`allSeries`).
 */
export function scanSeries(unit: Extract<GroupUnit, { kind: 'scan' }>, rules: readonly Rule[], window: EvaluationWindow, rows: ReadonlyArray<Record<string, unknown>>, allSeries: readonly boolean[] = []): Array<[number, Series]> {
  const out: Array<[number, Series]> = [];
  // Each row's series, read once for every expression of the scan.
  const heads = rows.map((row) => {
    const keys = row.label_keys as string[];
    const values = row.label_values as string[];
    return { service: String(row.service), instance: String(row.instance), labels: Object.fromEntries(keys.map((key, i) => [key, values[i] ?? ''])) as Labels };
  });
  scanMembers(unit, rules, window).forEach((member, k) => {
    const base: Series[] = [];
    rows.forEach((row, r) => {
      // null: no sample in the range, or no finite value (JSON carries NaN and the infinities as null).
      const value = (row.cs as Array<number | null>)[k];
      if (typeof value === 'number' && Number.isFinite(value)) base.push({ ...heads[r]!, value });
    });
    for (const series of wrapped(base, member.wraps)) {
      for (const index of member.indices) {
        const { op, threshold } = rules[index]!.condition;
        if (allSeries[index] || compare(series.value, op, threshold)) out.push([index, series]);
      }
    }
  });
  return out;
}

/** seriesLabels is the label set identifying a series: its labels with values, service and instance when set. */
export function seriesLabels(series: Pick<SeriesValue, 'service' | 'instance' | 'labels'>): Labels {
  const labels: Labels = {};
  for (const [key, value] of Object.entries(series.labels)) if (value !== '') labels[key] = value;
  if (series.service) labels.service = series.service;
  if (series.instance) labels.instance = series.instance;
  return labels;
}
