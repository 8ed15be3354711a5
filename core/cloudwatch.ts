/**
 * AWS CloudWatch in: the pure parts of the collector (activities/cloudwatch.ts) and of the Metric Streams endpoint.
 * - config/cloudwatch.yaml: region, period, delay, how far back a run catches up, and per namespace the metrics
 *   (or all ListMetrics finds), the dimension names a metric must have, the statistics and the service they belong to;
 * - names as the Prometheus CloudWatch exporters write them: `aws_<namespace>_<metric>_<statistic>` in snake case
 *   (`AWS/EC2` CPUUtilization Average → aws_ec2_cpuutilization_average), dimensions as snake-case labels, `region`;
 * - GetMetricData batches (500 queries a call, CloudWatch's limit) and the periods a run fetches;
 * - Metric Streams records as Kinesis Data Firehose delivers them: JSON lines, or OpenTelemetry 1.0 (length-prefixed
 *   ExportMetricsServiceRequests of summaries).
 */
import type { Labels, Sample } from './types';
import { parseDuration } from './duration';
import { decodeMetricsRequest } from './otlp';
import { ProtobufReader } from './protobuf';

/** CloudWatchNamespace is one namespace the collector reads. */
export interface CloudWatchNamespace {
  namespace: string;
  /** Metric names; empty: every metric ListMetrics finds in the namespace. */
  metrics: string[];
  /** When given, only metrics whose dimensions are exactly these names (in any order). */
  dimensions?: string[];
  statistics: string[];
  service: string;
}

/** CloudWatchConfig is config/cloudwatch.yaml. */
export interface CloudWatchConfig {
  region: string;
  periodMs: number;
  /** How long after a period ends it is fetched (CloudWatch publishes late). */
  delayMs: number;
  /** How far back a run after an outage fetches. */
  maxCatchupMs: number;
  namespaces: CloudWatchNamespace[];
}

const STATISTICS = /^(Average|Sum|Minimum|Maximum|SampleCount|[pt]m?\d{1,2}(\.\d+)?|IQM|TM\(.+\)|TC\(.+\)|TS\(.+\)|WM\(.+\)|PR\(.+\))$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** parseCloudWatchConfig reads the `cloudwatch:` section; faults name their field. An absent section is no namespace. */
export function parseCloudWatchConfig(doc: unknown): CloudWatchConfig {
  const cw = isRecord(doc) && isRecord(doc.cloudwatch) ? doc.cloudwatch : {};
  const duration = (v: unknown, field: string, fallback: number) => {
    if (v === undefined) return fallback;
    try {
      return parseDuration(String(v));
    } catch (err) {
      throw new Error(`cloudwatch.${field}: ${(err as Error).message}`);
    }
  };
  const periodMs = duration(cw.period, 'period', 60_000);
  if (periodMs < 60_000 || periodMs % 60_000 !== 0) throw new Error('cloudwatch.period: a whole number of minutes (CloudWatch periods of standard metrics)');
  if (cw.namespaces !== undefined && !Array.isArray(cw.namespaces)) throw new Error('cloudwatch.namespaces: expected a list');
  const namespaces = ((cw.namespaces as unknown[] | undefined) ?? []).map((n, i) => {
    const at = `cloudwatch.namespaces[${i}]`;
    if (!isRecord(n) || typeof n.namespace !== 'string' || !n.namespace) throw new Error(`${at}.namespace: required`);
    const list = (v: unknown, name: string) => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)) throw new Error(`${at}.${name}: expected a list of names`);
      return v as string[];
    };
    const statistics = list(n.statistics, 'statistics') ?? ['Average'];
    const bad = statistics.find((s) => !STATISTICS.test(s));
    if (bad) throw new Error(`${at}.statistics: "${bad}" is not a CloudWatch statistic (Average, Sum, Minimum, Maximum, SampleCount, p99, …)`);
    const dimensions = list(n.dimensions, 'dimensions');
    return {
      namespace: n.namespace,
      metrics: list(n.metrics, 'metrics') ?? [],
      ...(dimensions ? { dimensions } : {}),
      statistics,
      service: typeof n.service === 'string' && n.service ? n.service : defaultService(n.namespace),
    };
  });
  return { region: String(cw.region ?? 'us-east-1'), periodMs, delayMs: duration(cw.delay, 'delay', 120_000), maxCatchupMs: duration(cw.max_catchup, 'max_catchup', 3 * 3_600_000), namespaces };
}

/** defaultService is the service of a namespace's series when its configuration names none (AWS/EC2 → aws-ec2). */
export const defaultService = (namespace: string) => `aws-${snake(namespace.replace(/^AWS\//, '')).replace(/_/g, '-')}`;

/** serviceOfNamespace is the configured service of a namespace, else its default. */
export const serviceOfNamespace = (config: Pick<CloudWatchConfig, 'namespaces'>, namespace: string) => config.namespaces.find((n) => n.namespace === namespace)?.service ?? defaultService(namespace);

/** snake is a CloudWatch name in snake case as the exporters write it (RequestCount → request_count, AWS/EC2 → aws_ec2). */
export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** metricSeriesName is the stored name of a namespace's metric and statistic. */
export function metricSeriesName(namespace: string, metric: string, statistic: string): string {
  return `${snake(namespace)}_${snake(metric)}_${snake(statistic.replace('.', '_'))}`;
}

/** CloudWatchMetric is a metric with its dimensions, as ListMetrics returns it. */
export interface CloudWatchMetric {
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: string }>;
}

/** wanted says whether a listed metric is one the namespace's configuration reads. */
export function wanted(config: CloudWatchNamespace, metric: CloudWatchMetric): boolean {
  if (config.metrics.length > 0 && !config.metrics.includes(metric.MetricName)) return false;
  if (!config.dimensions) return true;
  const names = metric.Dimensions.map((d) => d.Name).sort();
  return names.length === config.dimensions.length && [...config.dimensions].sort().every((n, i) => names[i] === n);
}

/** CloudWatchQuery is one GetMetricData query: a metric and statistic, with what its results become. */
export interface CloudWatchQuery {
  id: string;
  metric: CloudWatchMetric;
  statistic: string;
  service: string;
}

/** GET_METRIC_DATA_MAX_QUERIES is CloudWatch's limit of queries in one GetMetricData call. */
export const GET_METRIC_DATA_MAX_QUERIES = 500;

/** queriesOf lists every (metric, statistic) query, in batches a GetMetricData call takes. */
export function queriesOf(metrics: ReadonlyArray<{ config: CloudWatchNamespace; metric: CloudWatchMetric }>): CloudWatchQuery[][] {
  const all: CloudWatchQuery[] = [];
  for (const { config, metric } of metrics) for (const statistic of config.statistics) all.push({ id: `q${all.length}`, metric, statistic, service: config.service });
  const batches: CloudWatchQuery[][] = [];
  for (let i = 0; i < all.length; i += GET_METRIC_DATA_MAX_QUERIES) batches.push(all.slice(i, i + GET_METRIC_DATA_MAX_QUERIES).map((q, j) => ({ ...q, id: `q${j}` })));
  return batches;
}

/** periodsDue is the range of whole periods a run at `nowMs` fetches: from the watermark (or one period back) to now − delay. */
export function periodsDue(config: Pick<CloudWatchConfig, 'periodMs' | 'delayMs' | 'maxCatchupMs'>, watermarkMs: number | undefined, nowMs: number): { fromMs: number; toMs: number } | undefined {
  const toMs = Math.floor((nowMs - config.delayMs) / config.periodMs) * config.periodMs;
  const earliest = Math.floor((toMs - config.maxCatchupMs) / config.periodMs) * config.periodMs;
  const fromMs = Math.max(watermarkMs ?? toMs - config.periodMs, earliest);
  return toMs > fromMs ? { fromMs, toMs } : undefined;
}

/** dimensionLabels are a metric's dimensions as labels (snake-case names) with its region. */
export function dimensionLabels(dimensions: ReadonlyArray<{ Name: string; Value: string }>, region: string): Labels {
  const labels: Labels = { region };
  for (const d of dimensions) labels[snake(d.Name) || 'dimension'] = d.Value;
  return labels;
}

/** resultSamples turns one query's result (timestamps and values) into samples. */
export function resultSamples(query: CloudWatchQuery, region: string, timestamps: readonly Date[], values: readonly number[]): Sample[] {
  const name = metricSeriesName(query.metric.Namespace, query.metric.MetricName, query.statistic);
  const labels = dimensionLabels(query.metric.Dimensions, region);
  return timestamps.map((t, i) => ({ timestampMs: t.getTime(), service: query.service, instance: '', name, value: values[i]!, labels }));
}

// ---------------------------------------------------------------------------------------------------------------
// Metric Streams (Kinesis Data Firehose HTTP endpoint delivery)

/** FirehoseRequest is Kinesis Data Firehose's HTTP endpoint request body. */
export interface FirehoseRequest {
  requestId: string;
  timestamp: number;
  records: Array<{ data: string }>;
}

/** parseFirehoseRequest checks a Firehose delivery's shape; faults name the field. */
export function parseFirehoseRequest(body: unknown): FirehoseRequest {
  if (!isRecord(body)) throw new Error('body: expected a Firehose request object');
  if (typeof body.requestId !== 'string' || !body.requestId) throw new Error('requestId: required');
  if (typeof body.timestamp !== 'number') throw new Error('timestamp: required (epoch milliseconds)');
  if (!Array.isArray(body.records)) throw new Error('records: expected a list');
  body.records.forEach((r, i) => {
    if (!isRecord(r) || typeof r.data !== 'string') throw new Error(`records[${i}].data: base64 string required`);
  });
  return body as unknown as FirehoseRequest;
}

/** StreamDatum is one metric stream value: a metric's statistics over one minute. */
export interface StreamDatum {
  namespace: string;
  metricName: string;
  dimensions: Array<{ Name: string; Value: string }>;
  region: string;
  accountId: string;
  timestampMs: number;
  values: Record<string, number>;
}

/** STREAM_STATISTICS maps the metric stream's value keys to CloudWatch's statistic names. */
const STREAM_STATISTICS: Record<string, string> = { max: 'Maximum', min: 'Minimum', sum: 'Sum', count: 'SampleCount' };

/** streamSamples turns metric stream values into samples named like the collector's (with Average from sum / count). */
export function streamSamples(data: readonly StreamDatum[], serviceOf: (namespace: string) => string): Sample[] {
  const out: Sample[] = [];
  for (const d of data) {
    const labels = { ...dimensionLabels(d.dimensions, d.region), ...(d.accountId ? { account_id: d.accountId } : {}) };
    const push = (statistic: string, value: number) => {
      if (Number.isFinite(value)) out.push({ timestampMs: d.timestampMs, service: serviceOf(d.namespace), instance: '', name: metricSeriesName(d.namespace, d.metricName, statistic), value, labels });
    };
    for (const [key, value] of Object.entries(d.values)) push(STREAM_STATISTICS[key] ?? key, value);
    if (d.values.count !== undefined && d.values.count > 0 && d.values.sum !== undefined) push('Average', d.values.sum / d.values.count);
  }
  return out;
}

/** jsonStreamRecord reads a record of the JSON output format: one metric value per line. */
export function jsonStreamRecord(text: string): StreamDatum[] {
  const out: StreamDatum[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`line ${i + 1}: not JSON`);
    }
    if (!isRecord(v) || typeof v.namespace !== 'string' || typeof v.metric_name !== 'string' || typeof v.timestamp !== 'number' || !isRecord(v.value)) {
      throw new Error(`line ${i + 1}: expected namespace, metric_name, timestamp and value`);
    }
    const dims = isRecord(v.dimensions) ? v.dimensions : {};
    out.push({
      namespace: v.namespace,
      metricName: v.metric_name,
      dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value: String(Value) })),
      region: String(v.region ?? ''),
      accountId: String(v.account_id ?? ''),
      timestampMs: v.timestamp,
      values: Object.fromEntries(Object.entries(v.value).filter(([, x]) => typeof x === 'number')) as Record<string, number>,
    });
  });
  return out;
}

/**
 * otelStreamRecord reads a record of the OpenTelemetry 1.0 output format: length-prefixed (varint)
 * ExportMetricsServiceRequests, each metric a summary (quantile 0 = min, 1 = max, sum, count) whose data point
 * attributes are Namespace, MetricName and Dimensions, and whose resource says cloud.region and cloud.account.id.
 */
export function otelStreamRecord(bytes: Uint8Array): StreamDatum[] {
  const out: StreamDatum[] = [];
  const reader = new ProtobufReader(bytes);
  while (!reader.done) {
    const message = reader.bytes();
    for (const rm of decodeMetricsRequest(message)) {
      for (const { metrics } of rm.scopes) {
        for (const metric of metrics) {
          if (metric.kind !== 'summary') continue;
          for (const p of metric.points) {
            const dims = p.attributes.Dimensions ? (JSON.parse(p.attributes.Dimensions) as Record<string, unknown>) : {};
            const values: Record<string, number> = { sum: p.sum, count: p.count };
            for (const q of p.quantiles) {
              if (q.quantile === 0) values.min = q.value;
              else if (q.quantile === 1) values.max = q.value;
              else values[`p${Math.round(q.quantile * 10000) / 100}`] = q.value;
            }
            out.push({
              namespace: p.attributes.Namespace ?? '',
              metricName: p.attributes.MetricName ?? metric.name,
              dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value: String(Value) })),
              region: rm.resource['cloud.region'] ?? '',
              accountId: rm.resource['cloud.account.id'] ?? '',
              timestampMs: Number(p.timeNs / 1_000_000n),
              values,
            });
          }
        }
      }
    }
  }
  return out;
}
