/**
 * Parsing of a metrics POST body into what the route needs across the insert: TabSeparated rows (the batch's one
 * serialization), the rejected items, and the realtime cache's latest values — never the sample objects, so a
 * request waiting for its group commit holds no object graph. Runs on the request's thread for small bodies and on
 * a parse thread (api/parse-pool.ts) for large ones.
 */
import { sampleTsv } from '../core/sample-row';
import { describeFaults, readExposition } from '../core/prom-text';
import { toSamples } from '../core/prom-samples';
import { decodeWriteRequest, RemoteWriteError, snappyDecode } from '../core/remote-write';
import { decodeMetricsRequest, metricsRequestFromJson, OtlpError } from '../core/otlp';
import { otlpMetricSamples } from '../core/otlp-metrics';
import { latestValues, type LatestValues } from '../core/realtime';
import { DEFAULT_INGEST_LIMITS, flattenIngestBody, type FlattenResult, type Rejection } from '../core/samples';


/** ParseJob is one body to parse, as the route received it. */
export interface ParseJob {
  body: Uint8Array;
  format: 'json' | 'prometheus' | 'openmetrics' | 'remote-write' | 'otlp-protobuf' | 'otlp-json';
  /** Stamps samples that carry no timestamp. */
  now: number;
  /** Service and instance for text samples without those labels (query parameters). */
  service?: string;
  instance?: string;
  /** Stamped on every row (with the row's position) when the request carries an Idempotency-Key. */
  ingestId?: string;
  /** The retention's cut-off: older samples are refused (the tables' TTL would drop them on arrival). */
  oldestMs?: number;
}

/** ParsedBody is a parsed body: `rows` holds `count` TabSeparated rows of performance_events as UTF-8. */
export interface ParsedBody {
  rows: Uint8Array;
  count: number;
  rejected: Rejection[];
  latest: LatestValues;
  /** Earliest and latest sample second (0 when there is no sample): where a retry looks for rows already stored. */
  fromSecond: number;
  toSecond: number;
  /** OTLP: data points refused before they became samples (delta temporality, malformed histograms, no time). */
  refusedPoints?: number;
}

/** BodyParseError says the body as a whole is not parseable (a 400 naming `body`); `kind` says as what. */
export class BodyParseError extends Error {
  constructor(
    message: string,
    readonly kind: 'json' | 'exposition' | 'remote-write' | 'otlp',
  ) {
    super(message);
    this.name = 'BodyParseError';
  }
}

function flattenText(job: ParseJob, bytes: Uint8Array): FlattenResult {
  const parsed = readExposition(bytes, job.format === 'openmetrics' ? 'application/openmetrics-text' : undefined);
  // The spec's rule (and Prometheus' for a scrape): an invalid exposition is refused in its entirety.
  if (parsed.errors.length > 0) throw new BodyParseError(`${describeFaults(parsed)}; nothing was stored`, 'exposition');
  const identity = { ...(job.service ? { service: job.service } : {}), ...(job.instance ? { instance: job.instance } : {}) };
  const converted = toSamples(parsed.samples, identity, job.now, { ...DEFAULT_INGEST_LIMITS, ...(job.oldestMs !== undefined ? { oldestMs: job.oldestMs } : {}) });
  return {
    samples: converted.samples,
    rejected: converted.errors.map((e) => ({ index: e.index, field: `sample ${e.index}`, error: e.error })),
  };
}

/** The largest remote-write body decompressed (Prometheus sends at most a few MB per request by default). */
const REMOTE_WRITE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * flattenRemoteWrite decodes a remote-write body (snappy + protobuf) into stored samples: the service from the
 * `service` or `job` label (the `job` label kept, so PromQL over the series finds it), the instance from
 * `instance`. Staleness markers and NaN values are not stored (counted, not rejected: Prometheus would not retry).
 */
function flattenRemoteWrite(job: ParseJob): FlattenResult {
  let request;
  try {
    request = decodeWriteRequest(snappyDecode(job.body, REMOTE_WRITE_MAX_BYTES));
  } catch (err) {
    if (err instanceof RemoteWriteError) throw new BodyParseError(`not a remote-write request: ${err.message}`, 'remote-write');
    throw err;
  }
  const parsed = [];
  for (const series of request.series) {
    const { __name__: name = '', ...labels } = series.labels;
    for (const s of series.samples) if (!Number.isNaN(s.value)) parsed.push({ name, labels, value: s.value, timestampMs: s.timestampMs });
  }
  const identity = { ...(job.service ? { service: job.service } : {}), ...(job.instance ? { instance: job.instance } : {}) };
  const converted = toSamples(parsed, identity, job.now, { ...DEFAULT_INGEST_LIMITS, ...(job.oldestMs !== undefined ? { oldestMs: job.oldestMs } : {}) }, { keepJob: true });
  return { samples: converted.samples, rejected: converted.errors.map((e) => ({ index: e.index, field: `sample ${e.index}`, error: e.error })) };
}

/**
 * flattenOtlp decodes an OTLP metrics request (protobuf or JSON) into stored samples (core/otlp-metrics.ts): the
 * service is the resource's service.name (else ?service=), the job label kept as Prometheus' OTLP receiver sets it.
 */
function flattenOtlp(job: ParseJob): FlattenResult & { refusedPoints: number } {
  let request;
  try {
    if (job.format === 'otlp-protobuf') request = decodeMetricsRequest(job.body);
    else {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(job.body));
      } catch (err) {
        throw new OtlpError(`body is not valid JSON: ${(err as Error).message}`);
      }
      request = metricsRequestFromJson(value);
    }
  } catch (err) {
    if (err instanceof OtlpError) throw new BodyParseError(err.message, 'otlp');
    throw err;
  }
  const converted = otlpMetricSamples(request);
  const identity = { ...(job.service ? { service: job.service } : {}), ...(job.instance ? { instance: job.instance } : {}) };
  const stored = toSamples(converted.samples, identity, job.now, { ...DEFAULT_INGEST_LIMITS, ...(job.oldestMs !== undefined ? { oldestMs: job.oldestMs } : {}) }, { keepJob: true });
  return {
    samples: stored.samples,
    rejected: [...converted.errors.map((error) => ({ index: -1, field: 'dataPoints', error })), ...stored.errors.map((e) => ({ index: e.index, field: `sample ${e.index}`, error: e.error }))],
    refusedPoints: converted.rejected,
  };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** parseBody turns a metrics body into rows, rejections and latest values; throws BodyParseError on malformed JSON. */
export function parseBody(job: ParseJob): ParsedBody {
  let result: FlattenResult & { refusedPoints?: number };
  if (job.format === 'remote-write') {
    result = flattenRemoteWrite(job);
  } else if (job.format === 'otlp-protobuf' || job.format === 'otlp-json') {
    result = flattenOtlp(job);
  } else if (job.format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(job.body));
    } catch (err) {
      throw new BodyParseError(`body is not valid JSON: ${(err as Error).message}`, 'json');
    }
    result = flattenIngestBody(value, job.now, { ...DEFAULT_INGEST_LIMITS, ...(job.oldestMs !== undefined ? { oldestMs: job.oldestMs } : {}) });
  } else {
    result = flattenText(job, job.body);
  }
  const { samples, rejected } = result;
  const rows = new Array<string>(samples.length);
  const ingestId = job.ingestId ?? '';
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i]!;
    rows[i] = sampleTsv(sample, ingestId, ingestId ? i : 0);
    if (sample.timestampMs < fromMs) fromMs = sample.timestampMs;
    if (sample.timestampMs > toMs) toMs = sample.timestampMs;
  }
  const seconds = (ms: number) => (Number.isFinite(ms) ? Math.floor(ms / 1000) : 0);
  // TextEncoder gives the rows their own ArrayBuffer, which a parse thread can transfer rather than copy.
  return {
    rows: encoder.encode(rows.join('')),
    count: samples.length,
    rejected,
    latest: latestValues(samples),
    fromSecond: seconds(fromMs),
    toSecond: seconds(toMs),
    ...(result.refusedPoints !== undefined ? { refusedPoints: result.refusedPoints } : {}),
  };
}
