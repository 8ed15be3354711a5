/**
 * The reads behind Prometheus' query API (api/routes/prometheus.ts): the raw points each selector of a query needs
 * (core/promql-engine.ts selectorSpans says which and over which span; one query per selector, at most
 * QUERIES_IN_FLIGHT at once), which the in-memory evaluator then evaluates as Prometheus does; and the series, label
 * names and label values stored in a time range (from the 1-minute rollup: one row per series per minute, not one
 * per sample). Every value reaches SQL as a parameter.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { dateTime64Text, QueryParams, sqlIdentifier } from '../core/escape';
import { PromqlError, type LabelMatcher } from '../core/promql';
import { Evaluator, selectorSpans, type Queryable, type Sample, type SelectorSpan, type SeriesLabels, type StoredSeries } from '../core/promql-engine';
import { candidatesOf } from '../core/promql-rule';
import { matcherSql, type EvaluationWindow, type SeriesValue } from '../core/rule-sql';
import type { RecordingRule, Rule } from '../core/rules';
import { inFlight } from './clickhouse';

const QUERIES_IN_FLIGHT = 4;

const seriesOf = (row: { service: string; instance: string; label_keys: string[]; label_values: string[]; value: number }): SeriesValue => ({
  service: row.service,
  instance: row.instance,
  labels: Object.fromEntries(row.label_keys.map((k, i) => [k, row.label_values[i] ?? ''])),
  value: Number(row.value),
});

/** TooManySamplesError: a query would read more points than it may (Prometheus' query.max-samples). */
export class TooManySamplesError extends Error {
  constructor(readonly limit: number) {
    super(`query processing would load too many samples into memory (more than ${limit}); narrow the selectors or the time range`);
    this.name = 'TooManySamplesError';
  }
}

/** chFloat reads a Float64 of ClickHouse's JSON output (non-finite values come quoted: "inf", "-inf", "nan"). */
function chFloat(value: number | string): number {
  if (typeof value === 'number') return value;
  if (/^\+?inf/i.test(value)) return Infinity;
  if (/^-inf/i.test(value)) return -Infinity;
  return Number(value);
}

/** PrefetchedQueryable answers each selector (by its matchers) with the points fetched for it. */
class PrefetchedQueryable implements Queryable {
  constructor(private readonly bySelector: Map<readonly LabelMatcher[], StoredSeries[]>) {}

  select(matchers: readonly LabelMatcher[]): StoredSeries[] {
    return this.bySelector.get(matchers) ?? [];
  }
}

/**
 * fetchSelectors reads the points of every selector span from performance_events — the series' label sets (metric
 * name as __name__, service and instance as labels) and their (time, value) points in order — and returns them as
 * the evaluator's storage. More than `maxSamples` points in all is refused (TooManySamplesError).
 */
export async function fetchSelectors(
  clickhouse: ClickHouseClient,
  database: string,
  spans: readonly SelectorSpan[],
  maxSamples: number,
  signal?: AbortSignal,
): Promise<Queryable> {
  const bySelector = new Map<readonly LabelMatcher[], StoredSeries[]>();
  let total = 0;
  await inFlight(spans, QUERIES_IN_FLIGHT, async (span) => {
    const params = new QueryParams();
    const where = [
      `timestamp > ${params.timeMs(span.fromMs)}`,
      `timestamp <= ${params.timeMs(span.toMs)}`,
      ...span.node.matchers.map((m) => matcherSql(m, params)),
    ].join(' AND ');
    const result = await clickhouse.query({
      query: `SELECT metric_name AS name, service_name AS service, instance_id AS instance,
          CAST(mapKeys(labels), 'Array(String)') AS label_keys, mapValues(labels) AS label_values,
          arraySort(groupArray((toUnixTimestamp64Milli(timestamp), metric_value))) AS points
        FROM ${sqlIdentifier(database)}.performance_events WHERE ${where}
        GROUP BY name, service, instance, label_keys, label_values`,
      query_params: params.values,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0, output_format_json_quote_denormals: 1 },
      ...(signal ? { abort_signal: signal } : {}),
    });
    const rows = await result.json<{ name: string; service: string; instance: string; label_keys: string[]; label_values: string[]; points: Array<[number, number | string]> }>();
    const series: StoredSeries[] = [];
    for (const row of rows) {
      total += row.points.length;
      if (total > maxSamples) throw new TooManySamplesError(maxSamples);
      const labels: SeriesLabels = { __name__: row.name };
      row.label_keys.forEach((k, i) => {
        if (row.label_values[i]) labels[k] = row.label_values[i]!;
      });
      if (row.service && labels.job !== row.service) labels.service = row.service;
      if (row.instance) labels.instance = row.instance;
      series.push({ labels, t: row.points.map((p) => Number(p[0])), v: row.points.map((p) => chFloat(p[1])) });
    }
    bySelector.set(span.node.matchers, series);
  });
  return new PrefetchedQueryable(bySelector);
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

/** RuleEvaluationError names a PromQL rule whose evaluation failed (e.g. a many-to-many match at run time). */
export class RuleEvaluationError extends Error {
  constructor(
    readonly rule: string,
    cause: Error,
  ) {
    super(`rule ${rule}: ${cause.message}`, { cause });
    this.name = 'RuleEvaluationError';
  }
}

/**
 * evaluatePromqlRules evaluates rules in full PromQL (Rule.promql) at the window's instant, each rule's selectors
 * read once, and returns each rule's series: the result's as breaching, its candidates' (core/promql-rule.ts) that
 * the result left out as clear. Values that are not finite are left out, as the SQL path does. A rule that fails
 * to evaluate yields no series and is reported to `onError` (the others go on).
 */
export async function evaluatePromqlRules(
  clickhouse: ClickHouseClient,
  rules: readonly Rule[],
  window: EvaluationWindow,
  onError: (err: RuleEvaluationError) => void = () => undefined,
  maxSamples = 5_000_000,
): Promise<SeriesValue[][]> {
  const out: SeriesValue[][] = rules.map(() => []);
  await inFlight(
    rules.map((rule, index) => ({ rule, index })),
    QUERIES_IN_FLIGHT,
    async ({ rule, index }) => {
      const node = rule.promql!;
      try {
        const options = { lookbackMs: window.lookbackMs };
        const storage = await fetchSelectors(clickhouse, window.database, selectorSpans(node, window.nowMs, window.nowMs, options), maxSamples);
        const evaluator = new Evaluator(storage, window.nowMs, window.nowMs, options);
        const result = (evaluator.instantQuery(node, window.nowMs) as { samples: Sample[] }).samples;
        const candidates = candidatesOf(node);
        const firing = new Set<string>();
        for (const s of result) {
          if (!Number.isFinite(s.v)) continue;
          const series = seriesValue(s.labels, s.v, true);
          firing.add(identity(series));
          out[index]!.push(series);
        }
        if (candidates) {
          for (const s of (evaluator.instantQuery(candidates, window.nowMs) as { samples: Sample[] }).samples) {
            if (!Number.isFinite(s.v)) continue;
            const series = seriesValue(s.labels, s.v, false);
            if (!firing.has(identity(series))) out[index]!.push(series);
          }
        }
      } catch (err) {
        if (err instanceof PromqlError || err instanceof TooManySamplesError) onError(new RuleEvaluationError(rule.name, err));
        else throw err;
      }
    },
  );
  return out;
}

/** seriesValue is a result sample as a rule's series: service and instance apart, __name__ dropped. */
function seriesValue(labels: SeriesLabels, value: number, breaching: boolean): SeriesValue {
  const { __name__: _name, service = '', instance = '', ...rest } = labels;
  return { service, instance, labels: rest, value, breaching };
}

const identity = (s: SeriesValue) => JSON.stringify([s.service, s.instance, Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1))]);

/**
 * evaluateRecordingRules evaluates a group's recording rules in order at the window's instant (a record may read an
 * earlier one's samples of this very evaluation) and writes each result sample as a series named after the record,
 * with its labels (service and instance to their columns). A retried evaluation writes nothing twice: a record that
 * already has samples at this instant is skipped. A rule that fails to evaluate is reported to `onError` and the
 * others go on. Returns how many samples were written.
 */
export async function evaluateRecordingRules(
  clickhouse: ClickHouseClient,
  records: readonly RecordingRule[],
  window: EvaluationWindow,
  onError: (err: RuleEvaluationError) => void = () => undefined,
  maxSamples = 5_000_000,
  /** The group's limit: a record of more series fails (nothing of it written). 0: none. */
  limit = 0,
): Promise<number> {
  let written = 0;
  const table = `${sqlIdentifier(window.database)}.performance_events`;
  for (const rule of records) {
    try {
      const options = { lookbackMs: window.lookbackMs };
      const storage = await fetchSelectors(clickhouse, window.database, selectorSpans(rule.promql, window.nowMs, window.nowMs, options), maxSamples);
      const value = new Evaluator(storage, window.nowMs, window.nowMs, options).instantQuery(rule.promql, window.nowMs);
      const samples = value.type === 'scalar' ? [{ labels: {}, v: value.v }] : value.type === 'vector' ? value.samples : [];
      const rows = new Map<string, Record<string, unknown>>();
      for (const s of samples) {
        if (!Number.isFinite(s.v)) continue;
        const { __name__: _name, service = '', instance = '', ...rest } = { ...s.labels, ...rule.labels };
        const key = JSON.stringify([service, instance, Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1))]);
        if (rows.has(key)) throw new PromqlError(`vector contains metrics with the same labelset after applying rule labels`, 0);
        const labels = Object.fromEntries(Object.keys(rest).sort().map((k) => [k, rest[k]!]));
        rows.set(key, { timestamp: dateTime64Text(window.nowMs), service_name: service, instance_id: instance, event_type: 'metric', metric_name: rule.record, metric_value: s.v, labels });
      }
      if (rows.size === 0) continue;
      if (limit > 0 && rows.size > limit) throw new PromqlError(`exceeded limit of ${limit} with ${rows.size} series`, 0);
      const params = new QueryParams();
      const [{ n }] = await (
        await clickhouse.query({
          query: `SELECT count() AS n FROM ${table} WHERE metric_name = ${params.string(rule.record)} AND timestamp = ${params.timeMs(window.nowMs)}`,
          query_params: params.values,
          format: 'JSONEachRow',
        })
      ).json<{ n: number | string }>();
      if (Number(n) > 0) continue;
      await clickhouse.insert({ table, format: 'JSONEachRow', values: [...rows.values()] });
      written += rows.size;
    } catch (err) {
      if (err instanceof PromqlError || err instanceof TooManySamplesError) onError(new RuleEvaluationError(rule.record, err));
      else throw err;
    }
  }
  return written;
}
