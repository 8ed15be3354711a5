/**
 * Benchmark data: realistic samples of 50 services × 4 instances × 60 metrics at 15 s spacing, as JSON
 * ingest bodies, Prometheus text bodies and TabSeparated rows of the same samples.
 */
import { sampleTsv } from '../core/sample-row';
import type { Sample } from '../core/types';

const BASE_METRICS = [
  'cpu_usage_percent', 'memory_usage_percent', 'memory_usage_bytes', 'disk_usage_percent', 'network_in_bytes_per_sec',
  'network_out_bytes_per_sec', 'open_file_descriptors', 'thread_count', 'garbage_collection_time_ms', 'jvm_heap_used_bytes',
  'jvm_heap_committed_bytes', 'jvm_non_heap_used_bytes', 'jvm_gc_collections_total', 'jvm_gc_time_total_ms', 'requests_total',
  'requests_per_second', 'response_time_p50_ms', 'response_time_p95_ms', 'response_time_p99_ms', 'error_rate_percent',
  'active_connections', 'queue_depth', 'cache_hit_rate_percent', 'predictions_generated', 'model_inference_time_p95_ms',
  'feature_fetch_time_p95_ms',
];

/** METRICS are the 60 metric names of every instance. */
export const METRICS = [...BASE_METRICS, ...Array.from({ length: 60 - BASE_METRICS.length }, (_, i) => `custom_metric_${String(i).padStart(2, '0')}`)];
/** SERVICES and INSTANCES_PER_SERVICE shape the fleet. */
export const SERVICES = Array.from({ length: 50 }, (_, i) => `service-${String(i).padStart(2, '0')}`);
export const INSTANCES_PER_SERVICE = 4;
/** SERIES is how many samples one 15-second scrape of the fleet yields. */
export const SERIES = SERVICES.length * INSTANCES_PER_SERVICE * METRICS.length;

/** scrapeSamples yields the samples of scrape number `k` (15 s after scrape k-1), in fleet order. */
export function scrapeSamples(k: number, t0Ms: number): Sample[] {
  const out: Sample[] = [];
  const ts = t0Ms + k * 15_000;
  for (let s = 0; s < SERVICES.length; s++) {
    for (let i = 0; i < INSTANCES_PER_SERVICE; i++) {
      const instance = `${SERVICES[s]}-${i}`;
      for (let m = 0; m < METRICS.length; m++) {
        const base = ((s * 7 + i * 3 + m * 11) % 90) + 5;
        out.push({ timestampMs: ts, service: SERVICES[s]!, instance, name: METRICS[m]!, value: Math.round((base + Math.sin(k / 10 + m) * 4) * 100) / 100, labels: {} });
      }
    }
  }
  return out;
}

/** jsonBody writes samples as a {"samples": [...]} ingest body. */
export function jsonBody(samples: Sample[]): string {
  return JSON.stringify({
    samples: samples.map((s) => ({ name: s.name, value: s.value, timestamp: s.timestampMs, labels: { service: s.service, instance: s.instance } })),
  });
}

/**
 * envelopesBody writes samples as an array of the seed's system_metrics envelopes, one per instance and scrape (how
 * a service pushes its own metrics); samples must come in fleet order, as scrapeSamples yields them.
 */
export function envelopesBody(samples: Sample[]): string {
  const envelopes: Array<{ system_metrics: { timestamp: string; service_name: string; instance_id: string; metrics: Record<string, number> } }> = [];
  let current: (typeof envelopes)[number]['system_metrics'] | undefined;
  let currentKey = '';
  for (const s of samples) {
    const key = `${s.service}\u0000${s.instance}\u0000${s.timestampMs}`;
    if (!current || key !== currentKey) {
      current = { timestamp: new Date(s.timestampMs).toISOString(), service_name: s.service, instance_id: s.instance, metrics: {} };
      currentKey = key;
      envelopes.push({ system_metrics: current });
    }
    current.metrics[s.name] = s.value;
  }
  return JSON.stringify(envelopes);
}

/** promBody writes samples as Prometheus text 0.0.4 with millisecond timestamps. */
export function promBody(samples: Sample[]): string {
  let out = '';
  // A family's lines come in one group (the format's rule): samples sorted by name, in their order otherwise.
  const grouped = samples.map((s, i) => [s, i] as const).sort(([a, i], [b, j]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : i - j));
  for (const [s] of grouped) out += `${s.name}{service="${s.service}",instance="${s.instance}"} ${s.value} ${s.timestampMs}\n`;
  return out;
}

/** tsvBody writes samples as TabSeparated rows of performance_events. */
export function tsvBody(samples: Sample[]): string {
  let out = '';
  for (const s of samples) out += sampleTsv(s);
  return out;
}

/** chunk splits samples into bodies of at most `size`. */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
