import type { Sample } from './types';

/** LatestValues holds, per service, the latest value of each series field of a batch (what the realtime cache keeps). */
export type LatestValues = Map<string, Map<string, { ts: number; value: number }>>;

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
    let fields = into.get(sample.service);
    if (!fields) into.set(sample.service, (fields = new Map()));
    const field = seriesField(sample);
    const seen = fields.get(field);
    if (!seen || seen.ts <= sample.timestampMs) fields.set(field, { ts: sample.timestampMs, value: sample.value });
  }
  return into;
}
