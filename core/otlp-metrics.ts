/**
 * OTLP metrics as Prometheus-style series, the way OpenTelemetry's "Prometheus and OpenMetrics Compatibility"
 * specification maps them (https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/) and
 * Prometheus' own OTLP receiver does by default (underscore escaping, with unit and type suffixes):
 * - names: characters outside [a-zA-Z0-9_:] become `_` (runs collapsed), the unit is appended as a word
 *   (`s` → `_seconds`, `By` → `_bytes`, `m/s` → `_meters_per_second`, `{requests}` annotations dropped), a gauge of
 *   unit `1` gets `_ratio`, a monotonic sum `_total`;
 * - gauge → one sample; cumulative monotonic sum → a counter; non-monotonic sum → a gauge; histogram → `_bucket`
 *   with cumulative `le`, `_count`, `_sum`; summary → `{quantile}`, `_count`, `_sum`; an exponential histogram → the
 *   same classic buckets at its exact bucket bounds (this store holds float samples, not native histograms);
 * - delta temporality is refused point by point, as Prometheus does without its delta feature flags: a delta is
 *   only a counter once something accumulates it, and each API replica would hold a different part of the stream;
 * - the resource: `job` = `service.namespace/service.name`, `instance` = `service.instance.id`, the service is
 *   `service.name`; every other resource attribute goes to one `target_info` series per resource;
 * - point attributes → labels (invalid characters → `_`, a leading digit gets `key_`, colliding keys' values joined
 *   by `;` in key order); a point flagged "no recorded value" is a staleness marker, not stored.
 */
import type { Labels } from './types';
import type { PromSample } from './prom-text';
import { TEMPORALITY, type Attributes, type ExponentialHistogramPoint, type HistogramPoint, type NumberPoint, type OtlpMetric, type ResourceMetrics, type SummaryPoint } from './otlp';

const UNIT_WORDS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};
const PER_UNIT_WORDS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const escapeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]+/g, '_').replace(/_{2,}/g, '_');

/** unitWords splits a unit into its main and its per-unit words ('' for none; `{…}` annotations and `1` are none). */
function unitWords(unit: string): { main: string; per: string } {
  const plain = unit.replace(/\{[^}]*\}/g, '').trim();
  const [main = '', per = ''] = plain.split('/', 2);
  const word = (w: string) => escapeName(w).replace(/^_+|_+$/g, '');
  return { main: main === '' || main === '1' ? '' : word(UNIT_WORDS[main] ?? main), per: per === '' ? '' : word(PER_UNIT_WORDS[per] ?? per) };
}

/** unitSuffix is a unit as the words a Prometheus name ends with ('' for none). */
export function unitSuffix(unit: string): string {
  const { main, per } = unitWords(unit);
  return [main, per && `per_${per}`].filter(Boolean).join('_');
}

/**
 * metricName is an OTLP metric's Prometheus name, as Prometheus' OTLP translator builds it: escaped, the unit's
 * words appended unless the name already holds them as words, `ratio` for a gauge of unit 1, and `total` moved to
 * the end of a counter's name.
 */
export function metricName(name: string, unit: string, type: 'gauge' | 'counter' | 'histogram' | 'summary'): string {
  let escaped = escapeName(name);
  if (/^[0-9]/.test(escaped)) escaped = `_${escaped}`;
  const tokens = escaped.split('_');
  const has = (words: string) => {
    const w = words.split('_');
    return tokens.some((_, i) => w.every((x, j) => tokens[i + j] === x));
  };
  const { main, per } = unitWords(unit);
  let out = tokens.filter((t, i) => !(type === 'counter' && t === 'total' && i > 0)).join('_');
  if (main && !has(main)) out += `_${main}`;
  if (per && !has(`per_${per}`)) out += `_per_${per}`;
  if (type === 'gauge' && unit.trim() === '1' && !has('ratio')) out += '_ratio';
  if (type === 'counter') out += '_total';
  return out;
}

/** labelName is an attribute key as a label name. */
export function labelName(key: string): string {
  let out = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(out)) out = `key_${out}`;
  else if (/^_[^_]/.test(out) || out === '_') out = `key${out}`;
  return out;
}

/** attributeLabels turns attributes into labels; keys that collide once escaped have their values joined by `;`. */
export function attributeLabels(attributes: Attributes): Labels {
  const out: Labels = {};
  for (const key of Object.keys(attributes).sort()) {
    const name = labelName(key);
    out[name] = name in out ? `${out[name]};${attributes[key]}` : attributes[key]!;
  }
  return out;
}

/** formatBound is a bucket bound as Prometheus writes `le` (Go's shortest float form; +Inf). */
export function formatBound(bound: number): string {
  if (bound === Infinity) return '+Inf';
  if (bound === -Infinity) return '-Inf';
  return String(bound);
}

/** RESOURCE_LABELS are the resource attributes that become job and instance rather than target_info labels. */
const RESOURCE_IDENTITY = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** OtlpConversion is what became samples, and each data point that could not, with why. */
export interface OtlpConversion {
  samples: PromSample[];
  /** Data points refused (each counts once in the answer's rejected_data_points). */
  rejected: number;
  errors: string[];
  /** Points that were staleness markers (flagged "no recorded value"): neither stored nor refused. */
  stale: number;
}

/** identityLabels are a resource's job, instance and service labels. */
export function identityLabels(resource: Attributes): Labels {
  const name = resource['service.name'];
  const namespace = resource['service.namespace'];
  const out: Labels = {};
  if (name) {
    out.service = name;
    out.job = namespace ? `${namespace}/${name}` : name;
  }
  if (resource['service.instance.id']) out.instance = resource['service.instance.id'];
  return out;
}

const NO_RECORDED_VALUE = 1;

/**
 * exponentialBuckets are an exponential histogram's cumulative classic buckets: each bucket's exact upper bound
 * (base^(index+1) for positive buckets, -base^index for negative ones, the zero threshold for the zero bucket).
 */
export function exponentialBuckets(p: ExponentialHistogramPoint): Array<{ le: number; count: number }> {
  const base = 2 ** (2 ** -p.scale);
  const out: Array<{ le: number; count: number }> = [];
  let cumulative = 0;
  // Negative buckets from the most negative: bucket i holds (-base^(i+1), -base^i].
  for (let i = p.negative.counts.length - 1; i >= 0; i--) {
    cumulative += p.negative.counts[i]!;
    out.push({ le: -(base ** (p.negative.offset + i)), count: cumulative });
  }
  if (p.zeroCount > 0 || out.length > 0 || p.positive.counts.length > 0) {
    cumulative += p.zeroCount;
    out.push({ le: p.zeroThreshold, count: cumulative });
  }
  for (let i = 0; i < p.positive.counts.length; i++) {
    cumulative += p.positive.counts[i]!;
    out.push({ le: base ** (p.positive.offset + i + 1), count: cumulative });
  }
  out.push({ le: Infinity, count: p.count });
  return out;
}

/** otlpMetricSamples maps an OTLP metrics request to Prometheus-style samples (timestamps in milliseconds). */
export function otlpMetricSamples(request: ResourceMetrics[]): OtlpConversion {
  const out: OtlpConversion = { samples: [], rejected: 0, errors: [], stale: 0 };
  const refuse = (metric: OtlpMetric, why: string, points = 1) => {
    out.rejected += points;
    if (out.errors.length < 10) out.errors.push(`${metric.name || '(no name)'}: ${why}`);
  };
  for (const rm of request) {
    const identity = identityLabels(rm.resource);
    let latestMs = 0;
    for (const { metrics } of rm.scopes) {
      for (const metric of metrics) {
        if (metric.kind === 'empty') continue;
        if (metric.name === '') {
          refuse(metric, 'a metric without a name', metric.points.length);
          continue;
        }
        if ('temporality' in metric && metric.temporality !== TEMPORALITY.cumulative) {
          const which = metric.temporality === TEMPORALITY.delta ? 'delta' : 'unspecified';
          refuse(metric, `${which} temporality is not stored; export cumulative temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)`, metric.points.length);
          continue;
        }
        for (const point of metric.points) {
          if ((point.flags & NO_RECORDED_VALUE) !== 0) {
            out.stale++;
            continue;
          }
          if (point.timeNs <= 0n) {
            refuse(metric, 'a data point without time_unix_nano');
            continue;
          }
          const timestampMs = Number(point.timeNs / 1_000_000n);
          latestMs = Math.max(latestMs, timestampMs);
          const labels = { ...attributeLabels(point.attributes), ...identity };
          const push = (name: string, value: number, extra?: Labels) => out.samples.push({ name, labels: extra ? { ...labels, ...extra } : labels, value, timestampMs });
          switch (metric.kind) {
            case 'gauge':
              push(metricName(metric.name, metric.unit, 'gauge'), (point as NumberPoint).value);
              break;
            case 'sum':
              push(metricName(metric.name, metric.unit, metric.monotonic ? 'counter' : 'gauge'), (point as NumberPoint).value);
              break;
            case 'histogram': {
              const p = point as HistogramPoint;
              const name = metricName(metric.name, metric.unit, 'histogram');
              if (p.bucketCounts.length !== 0 && p.bucketCounts.length !== p.bounds.length + 1) {
                refuse(metric, `${p.bucketCounts.length} bucket counts for ${p.bounds.length} bounds (must be bounds + 1)`);
                continue;
              }
              let cumulative = 0;
              p.bounds.forEach((bound, i) => {
                cumulative += p.bucketCounts[i] ?? 0;
                push(`${name}_bucket`, cumulative, { le: formatBound(bound) });
              });
              push(`${name}_bucket`, p.count, { le: '+Inf' });
              push(`${name}_count`, p.count);
              if (p.sum !== undefined) push(`${name}_sum`, p.sum);
              break;
            }
            case 'exponential_histogram': {
              const p = point as ExponentialHistogramPoint;
              const name = metricName(metric.name, metric.unit, 'histogram');
              for (const b of exponentialBuckets(p)) push(`${name}_bucket`, b.count, { le: formatBound(b.le) });
              push(`${name}_count`, p.count);
              if (p.sum !== undefined) push(`${name}_sum`, p.sum);
              break;
            }
            case 'summary': {
              const p = point as SummaryPoint;
              const name = metricName(metric.name, metric.unit, 'summary');
              for (const q of p.quantiles) push(name, q.value, { quantile: formatBound(q.quantile) });
              push(`${name}_count`, p.count);
              push(`${name}_sum`, p.sum);
              break;
            }
          }
        }
      }
    }
    const rest = Object.entries(rm.resource).filter(([k]) => !RESOURCE_IDENTITY.has(k));
    if (latestMs > 0 && rest.length > 0) out.samples.push({ name: 'target_info', labels: { ...attributeLabels(Object.fromEntries(rest)), ...identity }, value: 1, timestampMs: latestMs });
  }
  return out;
}
