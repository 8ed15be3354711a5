import type { Sample } from './types';

/**
 * LatestValues holds, per service, the latest value of each series field of a batch (what the realtime cache keeps)
 * and when each of its instances last reported (the dashboard's instances and healthy instances).
 */
export type LatestValues = Map<string, ServiceLatest>;

/** ServiceLatest is one service's part of LatestValues. */
export interface ServiceLatest {
  fields: Map<string, { ts: number; value: number }>;
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
    if (!latest) into.set(sample.service, (latest = { fields: new Map(), instances: new Map() }));
    const { fields, instances } = latest;
    if (sample.instance && (instances.get(sample.instance) ?? -Infinity) < sample.timestampMs) instances.set(sample.instance, sample.timestampMs);
    const field = seriesField(sample);
    const seen = fields.get(field);
    if (!seen || seen.ts <= sample.timestampMs) fields.set(field, { ts: sample.timestampMs, value: sample.value });
  }
  return into;
}
