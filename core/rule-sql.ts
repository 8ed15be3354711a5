import { QueryParams, sqlIdentifier } from './escape';
import type { Expr, LabelMatcher } from './promql';
import type { Rule } from './rules';
import type { Labels } from './types';

/**
 * Compiles the PromQL subset (core/promql.ts) to ClickHouse SQL for current servers (>= 24.8): every value a query
 * parameter (core/escape.ts QueryParams), no window functions, arrays and lambdas for counter resets.
 *
 * Every compiled expression is a subquery with the same five columns — `service`, `instance`, `label_keys`,
 * `label_values` (the series' identity, as performance_events stores it) and `value` (Float64) — so selectors,
 * functions, aggregations and arithmetic compose by nesting. A rule group becomes one query: each rule's subquery
 * tagged with its index, joined by UNION ALL.
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

function matcherSql(matcher: LabelMatcher, params: QueryParams): string {
  const column =
    matcher.label === 'service' || matcher.label === 'service_name'
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

/**
 * ruleGroupSql is one group's evaluation: every rule's expression at `nowMs`, each row tagged with the index of its
 * rule in `rules`, non-finite values (a division by zero traffic) dropped. Rules with the same expression (a warning
 * and a critical threshold on one metric, say) share one subquery, fanned out to each with ARRAY JOIN. A rule with
 * open alerts gets all its series back — the caller needs the clear ones to resolve those alerts —; any other rule
 * only its breaching series, so a quiet group of a thousand rules over a thousand series each returns next to nothing.
 */
export function ruleGroupSql(rules: readonly Rule[], window: EvaluationWindow, params: QueryParams, allSeries: readonly boolean[] = []): string {
  const byExpression = new Map<string, number[]>();
  rules.forEach((rule, index) => {
    const key = JSON.stringify(rule.condition.expr);
    byExpression.set(key, [...(byExpression.get(key) ?? []), index]);
  });
  const keep = (index: number) => {
    const { op, threshold } = rules[index]!.condition;
    return allSeries[index] ? `rule = ${index}` : `(rule = ${index} AND value ${op === '==' ? '=' : op} ${params.float(threshold)})`;
  };
  return [...byExpression.values()]
    .map((indices) => {
      const expr = compileExpr(rules[indices[0]!]!.condition.expr, window, params);
      const rule = indices.length === 1 ? `toUInt32(${indices[0]}) AS rule` : 'rule';
      const fanOut = indices.length === 1 ? '' : ` ARRAY JOIN CAST([${indices.join(', ')}] AS Array(UInt32)) AS rule`;
      return `SELECT ${rule}, service, instance, label_keys, label_values, value FROM (${expr})${fanOut} WHERE isFinite(value) AND (${indices.map(keep).join(' OR ')})`;
    })
    .join('\nUNION ALL\n');
}

/** seriesLabels is the label set identifying a series: its labels with values, service and instance when set. */
export function seriesLabels(series: Pick<SeriesValue, 'service' | 'instance' | 'labels'>): Labels {
  const labels: Labels = {};
  for (const [key, value] of Object.entries(series.labels)) if (value !== '') labels[key] = value;
  if (series.service) labels.service = series.service;
  if (series.instance) labels.instance = series.instance;
  return labels;
}
