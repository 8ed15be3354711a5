/**
 * The reads behind Prometheus' query API (api/routes/prometheus.ts): an expression at one instant or at each step
 * of a range (compiled by core/rule-sql.ts, one subquery per instant; values that are not finite — a division by
 * zero — are left out, as the rule evaluation does; at most STEPS_PER_QUERY instants a query and
 * QUERIES_IN_FLIGHT queries at once), and the series, label names and label values stored in a time range (from the
 * 1-minute rollup: one row per series per minute, not one per sample). Every value reaches SQL as a parameter.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { QueryParams, sqlIdentifier } from '../core/escape';
import type { Expr, LabelMatcher } from '../core/promql';
import { compileExpr, matcherSql, type SeriesValue } from '../core/rule-sql';
import { inFlight } from './clickhouse';

const STEPS_PER_QUERY = 50;
const QUERIES_IN_FLIGHT = 4;

interface Row {
  step: number;
  service: string;
  instance: string;
  label_keys: string[];
  label_values: string[];
  value: number;
}

const seriesOf = (row: Omit<Row, 'step'>): SeriesValue => ({
  service: row.service,
  instance: row.instance,
  labels: Object.fromEntries(row.label_keys.map((k, i) => [k, row.label_values[i] ?? ''])),
  value: Number(row.value),
});

/**
 * evaluateAt evaluates a vector expression at each of `times` and returns the series of each instant, in order.
 * `signal` aborts the queries (the caller's timeout).
 */
export async function evaluateAt(
  clickhouse: ClickHouseClient,
  database: string,
  expr: Expr,
  times: readonly number[],
  lookbackMs: number,
  signal?: AbortSignal,
): Promise<SeriesValue[][]> {
  const out: SeriesValue[][] = times.map(() => []);
  const chunks: number[][] = [];
  for (let k = 0; k < times.length; k += STEPS_PER_QUERY) chunks.push(times.slice(k, k + STEPS_PER_QUERY).map((_, j) => k + j));
  await inFlight(chunks, QUERIES_IN_FLIGHT, async (steps) => {
    const params = new QueryParams();
    const query = steps
      .map((step) => `SELECT toUInt32(${step}) AS step, service, instance, label_keys, label_values, value FROM (${compileExpr(expr, { database, nowMs: times[step]!, lookbackMs }, params)}) WHERE isFinite(value)`)
      .join('\nUNION ALL\n');
    const result = await clickhouse.query({
      query,
      query_params: params.values,
      format: 'JSONEachRow',
      clickhouse_settings: { max_query_size: String(Math.max(262_144, query.length + 1024)), max_ast_elements: '5000000', max_expanded_ast_elements: '5000000' },
      ...(signal ? { abort_signal: signal } : {}),
    });
    for (const row of await result.json<Row>()) out[Number(row.step)]!.push(seriesOf(row));
  });
  return out;
}

/** SeriesSelector is one `match[]` selector: a metric name (or none) and its matchers. */
export interface SeriesSelector {
  metric?: string;
  matchers: LabelMatcher[];
}

/** where selects the rollup rows of [fromMs, toMs] matching any selector, within the caller's services. */
function where(selectors: readonly SeriesSelector[], fromMs: number, toMs: number, services: readonly string[] | undefined, params: QueryParams): string {
  const terms = [`bucket >= toStartOfMinute(${params.timeMs(fromMs)})`, `bucket <= ${params.timeMs(toMs)}`];
  if (services !== undefined) terms.push(`service_name IN ${params.strings(services)}`);
  if (selectors.length > 0) {
    terms.push(
      `(${selectors
        .map((s) => `(${[...(s.metric ? [`metric_name = ${params.string(s.metric)}`] : []), ...s.matchers.map((m) => matcherSql(m, params))].join(' AND ') || '1'})`)
        .join(' OR ')})`,
    );
  }
  return terms.join(' AND ');
}

/** findSeries lists the series (metric name and label set) with samples in [fromMs, toMs] matching the selectors. */
export async function findSeries(
  clickhouse: ClickHouseClient,
  database: string,
  selectors: readonly SeriesSelector[],
  fromMs: number,
  toMs: number,
  services: readonly string[] | undefined,
  limit: number,
): Promise<Array<{ name: string } & Pick<SeriesValue, 'service' | 'instance' | 'labels'>>> {
  const params = new QueryParams();
  const rows = await (
    await clickhouse.query({
      query: `SELECT DISTINCT metric_name AS name, service_name AS service, instance_id AS instance, CAST(mapKeys(labels), 'Array(String)') AS label_keys, mapValues(labels) AS label_values
        FROM ${sqlIdentifier(database)}.performance_rollup_1m WHERE ${where(selectors, fromMs, toMs, services, params)}
        ORDER BY name, service, instance, label_keys, label_values LIMIT ${params.int(limit)}`,
      query_params: params.values,
      format: 'JSONEachRow',
    })
  ).json<{ name: string; service: string; instance: string; label_keys: string[]; label_values: string[] }>();
  return rows.map(({ name, ...r }) => {
    const { service, instance, labels } = seriesOf({ ...r, value: 0 });
    return { name, service, instance, labels };
  });
}

/** labelNames lists the label names of the series in [fromMs, toMs] (matching the selectors, if any), sorted. */
export async function labelNames(clickhouse: ClickHouseClient, database: string, selectors: readonly SeriesSelector[], fromMs: number, toMs: number, services: readonly string[] | undefined): Promise<string[]> {
  const params = new QueryParams();
  const rows = await (
    await clickhouse.query({
      query: `SELECT DISTINCT arrayJoin(arrayConcat(['__name__'], if(service_name = '', [], ['service']), if(instance_id = '', [], ['instance']), CAST(mapKeys(labels), 'Array(String)'))) AS name
        FROM ${sqlIdentifier(database)}.performance_rollup_1m WHERE ${where(selectors, fromMs, toMs, services, params)} ORDER BY name`,
      query_params: params.values,
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  return rows.map((r) => r.name);
}

/** labelValues lists the values of one label in [fromMs, toMs] (matching the selectors, if any), sorted. */
export async function labelValues(
  clickhouse: ClickHouseClient,
  database: string,
  label: string,
  selectors: readonly SeriesSelector[],
  fromMs: number,
  toMs: number,
  services: readonly string[] | undefined,
): Promise<string[]> {
  const params = new QueryParams();
  const column = label === '__name__' ? 'metric_name' : label === 'service' ? 'service_name' : label === 'instance' ? 'instance_id' : `labels[${params.string(label)}]`;
  const rows = await (
    await clickhouse.query({
      query: `SELECT DISTINCT toString(${column}) AS value FROM ${sqlIdentifier(database)}.performance_rollup_1m
        WHERE ${where(selectors, fromMs, toMs, services, params)} AND value != '' ORDER BY value`,
      query_params: params.values,
      format: 'JSONEachRow',
    })
  ).json<{ value: string }>();
  return rows.map((r) => r.value);
}
