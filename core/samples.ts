import type { Labels, Sample } from './types';
import { isRecord } from './guards';

/**
 * Flattening of the ingest body into samples. Naming convention (README "Metric naming"):
 * - every numeric field of an envelope's `metrics` is one series named after its key;
 * - `jvm_metrics` fields get the `jvm_` prefix (heap_used_bytes → jvm_heap_used_bytes);
 * - a nested map becomes one series per entry with the map's dimension as a label:
 *   `api_usage_by_tier.free` → api_usage_by_tier{tier="free"}, `table_sizes.market_data` → table_size_bytes{table="market_data"},
 *   any other map `m.k` → m{key="k"};
 * - business metrics without a service_name belong to the service "business";
 * - database metrics belong to the service named by `instance`, labelled database_type.
 */

/** Rejection names one invalid part of an ingest body: which item, which field, and why. */
export interface Rejection {
  index: number;
  field: string;
  error: string;
}

/** FlattenResult is what survives validation (samples) and what did not (rejected). */
export interface FlattenResult {
  samples: Sample[];
  rejected: Rejection[];
}

/**
 * IngestLimits bounds the labels of one sample (the sample count per request is the route's to check) and how old a
 * sample may be: `oldestMs` is the retention's cut-off, before which the tables' TTLs would drop a row at once.
 */
export interface IngestLimits {
  maxLabels: number;
  maxLabelLength: number;
  oldestMs?: number;
}

/** DEFAULT_INGEST_LIMITS are the limits used when the caller gives none. */
export const DEFAULT_INGEST_LIMITS: IngestLimits = { maxLabels: 32, maxLabelLength: 1024 };

/** ENVELOPE_KINDS are the seed's four metric envelopes. */
export const ENVELOPE_KINDS = ['system_metrics', 'application_metrics', 'business_metrics', 'database_metrics'] as const;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAP_DIMENSIONS: Record<string, { name: string; label: string }> = {
  table_sizes: { name: 'table_size_bytes', label: 'table' },
};

class ItemError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}


function requireString(obj: Record<string, unknown>, key: string, path: string, limits: IngestLimits): string {
  const value = obj[key];
  if (typeof value !== 'string' || value.length === 0) throw new ItemError(`${path}.${key}`, 'required non-empty string');
  if (value.length > limits.maxLabelLength) {
    throw new ItemError(`${path}.${key}`, `longer than ${limits.maxLabelLength} characters`);
  }
  return value;
}

function optionalString(obj: Record<string, unknown>, key: string, path: string, limits: IngestLimits): string | undefined {
  return obj[key] === undefined ? undefined : requireString(obj, key, path, limits);
}

/**
 * The timestamps a sample or event may carry: from 2000-01-01 — or the retention's cut-off, if later — to a day
 * ahead of the receiving clock. A row the storage cannot hold would fail the insert of the whole batch it shares
 * with other requests (found by the bad-input fuzzer), and one older than the retention would be dropped by the
 * tables' TTL as soon as it landed, so both are refused here in every input format, naming the field.
 */
export const MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
export const MAX_FUTURE_MS = 86_400_000;

/** timestampProblem says why an instant cannot be stored, or undefined when it can. */
export function timestampProblem(ms: number, now: number, oldestMs = MIN_TIMESTAMP_MS): string | undefined {
  const oldest = Math.max(MIN_TIMESTAMP_MS, oldestMs);
  if (!Number.isFinite(ms) || ms < oldest || ms > now + MAX_FUTURE_MS) {
    return `timestamp out of range: from ${new Date(oldest).toISOString().slice(0, 10)}${oldest > MIN_TIMESTAMP_MS ? ' (the retention)' : ''} to 24 hours from now`;
  }
  return undefined;
}

/** parseTimestamp reads an RFC 3339 string or epoch milliseconds; anything else, or an instant outside the storable window, is an error naming the field. */
export function parseTimestamp(value: unknown, field: string, now: number, oldestMs?: number): number {
  if (value === undefined) return now;
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) ms = Math.round(value);
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) ms = Date.parse(value);
  if (ms === undefined || !Number.isFinite(ms)) throw new ItemError(field, 'expected an RFC 3339 timestamp such as 2025-07-26T10:30:00Z, or epoch milliseconds');
  const problem = timestampProblem(ms, now, oldestMs);
  if (problem) throw new ItemError(field, problem);
  return ms;
}

function mapDimension(mapKey: string): { name: string; label: string } {
  const known = MAP_DIMENSIONS[mapKey];
  if (known) return known;
  const by = /^(.+)_by_([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(mapKey);
  return by ? { name: mapKey, label: by[2]! } : { name: mapKey, label: 'key' };
}

interface EnvelopeContext {
  index: number;
  path: string;
  timestampMs: number;
  service: string;
  instance: string;
  labels: Labels;
  out: FlattenResult;
}

function pushMetrics(ctx: EnvelopeContext, metrics: Record<string, unknown>, path: string, prefix: string, nested: boolean): void {
  for (const [key, value] of Object.entries(metrics)) {
    const field = `${path}.${key}`;
    const name = prefix + key;
    if (!METRIC_NAME.test(name)) {
      ctx.out.rejected.push({ index: ctx.index, field, error: 'metric name must match [a-zA-Z_:][a-zA-Z0-9_:]*' });
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      ctx.out.samples.push({ timestampMs: ctx.timestampMs, service: ctx.service, instance: ctx.instance, name, value, labels: ctx.labels });
    } else if (nested && isRecord(value)) {
      const dim = mapDimension(key);
      for (const [entry, entryValue] of Object.entries(value)) {
        if (typeof entryValue === 'number' && Number.isFinite(entryValue)) {
          ctx.out.samples.push({
            timestampMs: ctx.timestampMs,
            service: ctx.service,
            instance: ctx.instance,
            name: prefix + dim.name,
            value: entryValue,
            labels: { ...ctx.labels, [dim.label]: entry },
          });
        } else {
          ctx.out.rejected.push({ index: ctx.index, field: `${field}.${entry}`, error: 'expected a finite number' });
        }
      }
    } else {
      ctx.out.rejected.push({ index: ctx.index, field, error: 'expected a finite number' });
    }
  }
}

function flattenEnvelope(kind: string, body: unknown, index: number, path: string, now: number, limits: IngestLimits, out: FlattenResult): void {
  if (!isRecord(body)) throw new ItemError(path, 'expected an object');
  if (body.timestamp === undefined) throw new ItemError(`${path}.timestamp`, 'required');
  const timestampMs = parseTimestamp(body.timestamp, `${path}.timestamp`, now, limits.oldestMs);
  if (!isRecord(body.metrics)) throw new ItemError(`${path}.metrics`, 'required object of numbers');
  let service: string;
  let instance: string;
  let labels: Labels = {};
  if (kind === 'database_metrics') {
    const databaseType = requireString(body, 'database_type', path, limits);
    service = requireString(body, 'instance', path, limits);
    instance = service;
    labels = { database_type: databaseType };
  } else if (kind === 'business_metrics') {
    service = optionalString(body, 'service_name', path, limits) ?? 'business';
    instance = optionalString(body, 'instance_id', path, limits) ?? '';
  } else {
    service = requireString(body, 'service_name', path, limits);
    instance = optionalString(body, 'instance_id', path, limits) ?? '';
  }
  const ctx: EnvelopeContext = { index, path, timestampMs, service, instance, labels, out };
  const nested = kind === 'business_metrics' || kind === 'database_metrics';
  pushMetrics(ctx, body.metrics, `${path}.metrics`, '', nested);
  if (kind === 'system_metrics' && body.jvm_metrics !== undefined) {
    if (!isRecord(body.jvm_metrics)) throw new ItemError(`${path}.jvm_metrics`, 'expected an object of numbers');
    pushMetrics(ctx, body.jvm_metrics, `${path}.jvm_metrics`, 'jvm_', false);
  }
}

function flattenGenericSample(raw: unknown, path: string, now: number, limits: IngestLimits, out: FlattenResult): void {
  if (!isRecord(raw)) throw new ItemError(path, 'expected an object with name, value, labels, timestamp');
  const name = raw.name;
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new ItemError(`${path}.name`, 'required metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*');
  }
  if (typeof raw.value !== 'number' || !Number.isFinite(raw.value)) throw new ItemError(`${path}.value`, 'expected a finite number');
  const rawLabels = raw.labels ?? {};
  if (!isRecord(rawLabels)) throw new ItemError(`${path}.labels`, 'expected an object of strings');
  const labels: Labels = {};
  let service: string | undefined;
  let instance = '';
  const entries = Object.entries(rawLabels);
  if (entries.length > limits.maxLabels) throw new ItemError(`${path}.labels`, `more than ${limits.maxLabels} labels`);
  for (const [key, value] of entries) {
    if (!LABEL_NAME.test(key)) throw new ItemError(`${path}.labels.${key}`, 'label name must match [a-zA-Z_][a-zA-Z0-9_]*');
    if (key.startsWith('__')) throw new ItemError(`${path}.labels.${key}`, 'label names starting with __ are reserved');
    if (typeof value !== 'string') throw new ItemError(`${path}.labels.${key}`, 'expected a string');
    if (value.length > limits.maxLabelLength) throw new ItemError(`${path}.labels.${key}`, `longer than ${limits.maxLabelLength} characters`);
    if (key === 'service' || key === 'service_name') service = value;
    else if (key === 'instance' || key === 'instance_id') instance = value;
    else labels[key] = value;
  }
  if (!service) throw new ItemError(`${path}.labels.service`, 'required: the service the sample belongs to');
  const timestampMs = parseTimestamp(raw.timestamp, `${path}.timestamp`, now, limits.oldestMs);
  out.samples.push({ timestampMs, service, instance, name, value: raw.value, labels });
}

function flattenItem(item: unknown, index: number, path: string, now: number, limits: IngestLimits, out: FlattenResult): void {
  if (!isRecord(item)) throw new ItemError(path, `expected an object with one of ${ENVELOPE_KINDS.join(', ')} or samples`);
  const keys = Object.keys(item);
  if (keys.length !== 1) {
    throw new ItemError(path, `expected exactly one of ${ENVELOPE_KINDS.join(', ')}, samples; got ${keys.length ? keys.join(', ') : 'none'}`);
  }
  const kind = keys[0]!;
  if (kind === 'samples') {
    if (!Array.isArray(item.samples)) throw new ItemError(`${path}.samples`, 'expected an array');
    item.samples.forEach((sample, i) => {
      try {
        flattenGenericSample(sample, `${path}.samples[${i}]`, now, limits, out);
      } catch (err) {
        if (!(err instanceof ItemError)) throw err;
        out.rejected.push({ index, field: err.field, error: err.message });
      }
    });
  } else if ((ENVELOPE_KINDS as readonly string[]).includes(kind)) {
    flattenEnvelope(kind, item[kind], index, `${path}.${kind}`, now, limits, out);
  } else {
    throw new ItemError(`${path}.${kind}`, `unknown envelope; expected one of ${ENVELOPE_KINDS.join(', ')}, samples`);
  }
}

/**
 * flattenIngestBody turns a metrics POST body (one envelope, an array of them, or {samples: [...]}) into samples,
 * keeping every valid sample and naming every invalid part. `now` stamps samples that carry no timestamp.
 */
export function flattenIngestBody(body: unknown, now: number, limits: IngestLimits = DEFAULT_INGEST_LIMITS): FlattenResult {
  const out: FlattenResult = { samples: [], rejected: [] };
  const items = Array.isArray(body) ? body : [body];
  const indexed = Array.isArray(body);
  items.forEach((item, index) => {
    const before = out.samples.length;
    try {
      flattenItem(item, index, indexed ? `body[${index}]` : 'body', now, limits, out);
    } catch (err) {
      if (!(err instanceof ItemError)) throw err;
      out.samples.length = before;
      out.rejected.push({ index, field: err.field, error: err.message });
    }
  });
  return out;
}
