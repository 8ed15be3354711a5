import type { Sample } from './types';

/**
 * LatestValues holds, per service, the latest value of each series field of a batch (what the realtime cache keeps):
 * the service's own series (no instance) and each instance's, and when each instance last reported (the dashboard's
 * instances and healthy instances).
 */
export type LatestValues = Map<string, ServiceLatest>;

/** FieldValues are the latest readings of series fields. */
export type FieldValues = Map<string, { ts: number; value: number }>;

/** ServiceLatest is one service's part of LatestValues. */
export interface ServiceLatest {
  /** Series without an instance (business metrics, aggregates). */
  fields: FieldValues;
  /** Each instance's series. */
  perInstance: Map<string, FieldValues>;
  instances: Map<string, number>;
}

/** seriesField names a series inside its service's realtime hash: the metric name, plus its sorted labels if any. */
export function seriesField(sample: Sample): string {
  const keys = Object.keys(sample.labels);
  if (keys.length === 0) return sample.name;
  keys.sort();
  return `${sample.name}{${keys.map((k) => `${k}=${JSON.stringify(sample.labels[k])}`).join(',')}}`;
}

/**
 * latestValues reduces samples to the latest reading per service and series (a batch may carry several of one
 * series). It is small next to the batch, so a caller can keep it while the batch itself is released.
 */
export function latestValues(samples: Iterable<Sample>, into: LatestValues = new Map()): LatestValues {
  for (const sample of samples) {
    let latest = into.get(sample.service);
    if (!latest) into.set(sample.service, (latest = { fields: new Map(), perInstance: new Map(), instances: new Map() }));
    const { instances, perInstance } = latest;
    let fields = latest.fields;
    if (sample.instance) {
      if ((instances.get(sample.instance) ?? -Infinity) < sample.timestampMs) instances.set(sample.instance, sample.timestampMs);
      fields = perInstance.get(sample.instance) ?? new Map();
      perInstance.set(sample.instance, fields);
    }
    const field = seriesField(sample);
    const seen = fields.get(field);
    if (!seen || seen.ts <= sample.timestampMs) fields.set(field, { ts: sample.timestampMs, value: sample.value });
  }
  return into;
}

/** mergeFields keeps, per field, the later of two readings (a tie goes to `from`, the later write). */
function mergeFields(into: FieldValues, from: FieldValues): void {
  for (const [field, reading] of from) {
    const seen = into.get(field);
    if (!seen || seen.ts <= reading.ts) into.set(field, reading);
  }
}

/**
 * mergeLatest folds `from` into `into` as if their samples had been reduced together: the latest reading per service
 * and series, each instance's latest report. `into` is changed and returned; `from`'s maps may be taken over.
 */
export function mergeLatest(into: LatestValues, from: LatestValues): LatestValues {
  for (const [service, latest] of from) {
    const target = into.get(service);
    if (!target) {
      into.set(service, latest);
      continue;
    }
    mergeFields(target.fields, latest.fields);
    for (const [instance, fields] of latest.perInstance) {
      const own = target.perInstance.get(instance);
      if (own) mergeFields(own, fields);
      else target.perInstance.set(instance, fields);
    }
    for (const [instance, ts] of latest.instances) if ((target.instances.get(instance) ?? -Infinity) < ts) target.instances.set(instance, ts);
  }
  return into;
}

/** Aggregation is how a service's value of a series follows from its instances' values. */
export type Aggregation = 'sum' | 'max' | 'mean';

/**
 * aggregationOf says how instances combine for a series, from its metric name's conventions: counts, totals, rates
 * and sizes add up (`_total`, `_count`, `_sum`, `_bytes`, `_per_second`, `_per_sec`, `connections`, `queue_depth`, …); latencies
 * and quantiles take the worst instance (`_ms`, `_seconds`, `_p95`, `latency`, `duration`) — a mean of p95s is no
 * p95, and the service's p95 is at most the worst instance's —; everything else (percentages, ratios, utilisation)
 * is the mean of the instances.
 */
export function aggregationOf(field: string): Aggregation {
  const metric = field.split('{', 1)[0]!;
  if (/(_total|_count|_sum|_bytes|_per_second|_per_sec|_per_minute|_rps|connections|queue_depth|queue_length|_size|_inflight|_in_flight)$/.test(metric)) return 'sum';
  if (/(_ms|_seconds|latency|duration)$/.test(metric) || /_p\d+(_|$)/.test(metric)) return 'max';
  return 'mean';
}

/** InstanceReading is one instance's cached series and when it last reported. */
export interface InstanceReading {
  instance: string;
  metrics: Record<string, number>;
  lastUpdatedMs: number;
}

/**
 * serviceMetrics derives a service's values from its own series and its live instances' (see aggregationOf); a
 * series the service reports itself wins over the instances' aggregate.
 */
export function serviceMetrics(own: Record<string, number>, instances: readonly InstanceReading[]): Record<string, number> {
  const values = new Map<string, number[]>();
  for (const { metrics } of instances) {
    for (const [field, value] of Object.entries(metrics)) {
      const list = values.get(field) ?? [];
      list.push(value);
      values.set(field, list);
    }
  }
  const out: Record<string, number> = {};
  for (const [field, list] of values) {
    const how = aggregationOf(field);
    const sum = list.reduce((a, b) => a + b, 0);
    // A mean shows rounded to three decimals, not as 98.23333333333333.
    out[field] = how === 'sum' ? sum : how === 'max' ? Math.max(...list) : Math.round((sum / list.length) * 1000) / 1000;
  }
  return { ...out, ...own };
}
