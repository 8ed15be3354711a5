/**
 * Spans as this module stores them (the `spans` table, db/010), and the RED metrics derived from them: for each
 * service's entry spans (kind SERVER or CONSUMER: a request it served or a message it handled), per fixed window,
 * the request rate, the error rate and the latency quantiles — under the seed's application metric names, so the
 * seed's rules, the dashboard and the SLOs work on a traced service that sends nothing else:
 *   service-wide:  requests_per_second, error_rate_percent, response_time_p50_ms / _p95_ms / _p99_ms
 *   per route:     route_requests_per_second, route_error_rate_percent, route_response_time_p50_ms / _p95_ms / _p99_ms
 *                  with a `route` label (`http.route`, else the span's name)
 * each labelled `source="traces"`. A span is an error when its status is ERROR, or when it served an HTTP 5xx.
 */
import type { Labels, Sample } from './types';
import { SPAN_KINDS, STATUS_CODES, type Attributes, type OtlpSpan, type ResourceSpans } from './otlp';
import { timestampProblem } from './samples';

/** SpanRow is one row of the spans table (JSONEachRow), times in nanoseconds as DateTime64(9) text. */
export interface SpanRow {
  start_time: string;
  duration_ns: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service_name: string;
  name: string;
  kind: string;
  status_code: string;
  status_message: string;
  is_error: number;
  route: string;
  attributes: Attributes;
  resource: Attributes;
  scope_name: string;
  events: number;
  links: number;
}

/** SpanConversion is the rows to store and each span refused, with why. */
export interface SpanConversion {
  rows: SpanRow[];
  rejected: number;
  errors: string[];
}

const NS_PER_MS = 1_000_000n;

/** nanosText formats nanoseconds since the epoch as ClickHouse's DateTime64(9) text in UTC. */
export function nanosText(ns: bigint): string {
  const ms = ns / NS_PER_MS;
  const iso = new Date(Number(ms)).toISOString();
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** httpStatus is the HTTP status a span records (the current and the older semantic conventions' attribute). */
function httpStatus(attributes: Attributes): number {
  return Number(attributes['http.response.status_code'] ?? attributes['http.status_code'] ?? 0);
}

/** isErrorSpan says whether a span counts as a failed request. */
export function isErrorSpan(span: Pick<OtlpSpan, 'statusCode' | 'kind' | 'attributes'>): boolean {
  if (span.statusCode === 2) return true;
  // A server answering 5xx failed even when its instrumentation left the status unset (client spans: 4xx too, but
  // a client span is not a request this service served).
  return SPAN_KINDS[span.kind] === 'server' && httpStatus(span.attributes) >= 500;
}

/**
 * spanRows validates spans and turns them into rows: ids of the right length and not all zeros, an end not before
 * the start, a start the store can hold. `service` names the spans of a resource without `service.name`.
 */
export function spanRows(request: ResourceSpans[], nowMs: number, limits: { oldestMs?: number; maxAttributeLength: number }, service?: string): SpanConversion {
  const out: SpanConversion = { rows: [], rejected: 0, errors: [] };
  const refuse = (span: OtlpSpan, why: string) => {
    out.rejected++;
    if (out.errors.length < 10) out.errors.push(`span ${span.spanId || '(no id)'} of trace ${span.traceId || '(no id)'}: ${why}`);
  };
  const clip = (attributes: Attributes): Attributes => {
    let clipped: Attributes | undefined;
    for (const [k, v] of Object.entries(attributes)) {
      if (v.length <= limits.maxAttributeLength) continue;
      clipped ??= { ...attributes };
      clipped[k] = v.slice(0, limits.maxAttributeLength);
    }
    return clipped ?? attributes;
  };
  for (const rs of request) {
    const serviceName = rs.resource['service.name'] || service || 'unknown_service';
    const resource = clip(rs.resource);
    for (const { scope, spans } of rs.scopes) {
      for (const span of spans) {
        if (span.traceId.length !== 32 || span.traceId === ZERO_TRACE) {
          refuse(span, 'trace_id must be 16 bytes, not all zero');
          continue;
        }
        if (span.spanId.length !== 16 || span.spanId === ZERO_SPAN) {
          refuse(span, 'span_id must be 8 bytes, not all zero');
          continue;
        }
        if (span.parentSpanId !== '' && span.parentSpanId.length !== 16) {
          refuse(span, 'parent_span_id must be 8 bytes or empty');
          continue;
        }
        if (span.endNs < span.startNs) {
          refuse(span, 'end_time_unix_nano is before start_time_unix_nano');
          continue;
        }
        const problem = timestampProblem(Number(span.startNs / NS_PER_MS), nowMs, limits.oldestMs);
        if (span.startNs === 0n || problem) {
          refuse(span, `start_time_unix_nano: ${problem ?? 'missing'}`);
          continue;
        }
        const attributes = clip(span.attributes);
        out.rows.push({
          start_time: nanosText(span.startNs),
          duration_ns: (span.endNs - span.startNs).toString(),
          trace_id: span.traceId,
          span_id: span.spanId,
          parent_span_id: span.parentSpanId === ZERO_SPAN ? '' : span.parentSpanId,
          service_name: serviceName,
          name: span.name,
          kind: SPAN_KINDS[span.kind] ?? 'unspecified',
          status_code: STATUS_CODES[span.statusCode] ?? 'unset',
          status_message: span.statusMessage,
          is_error: isErrorSpan(span) ? 1 : 0,
          route: attributes['http.route'] || span.name,
          attributes,
          resource,
          scope_name: scope.name,
          events: span.events,
          links: span.links,
        });
      }
    }
  }
  return out;
}

/** RED_WINDOW_MS is the window RED metrics are computed over: the seed's 15-second collection interval. */
export const RED_WINDOW_MS = 15_000;
/** RED_LAG_MS is how long after a window ends it is computed: spans are exported in batches (5 s by default). */
export const RED_LAG_MS = 30_000;
/** RED_INGEST_PREFIX starts the ingest_id of RED rows: `red/<window start ms>`, one insert per window. */
export const RED_INGEST_PREFIX = 'red/';

/** RedAggregate is one window's entry-span counts and latency quantiles (ms), for a service or one of its routes. */
export interface RedAggregate {
  windowStartMs: number;
  service: string;
  /** Undefined for the service as a whole. */
  route?: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** redSamples turns a window's aggregates into samples, stamped at the window's end. */
export function redSamples(aggregates: readonly RedAggregate[], windowMs = RED_WINDOW_MS): Sample[] {
  const samples: Sample[] = [];
  for (const a of aggregates) {
    if (a.requests === 0) continue;
    const prefix = a.route === undefined ? '' : 'route_';
    const labels: Labels = a.route === undefined ? { source: 'traces' } : { route: a.route, source: 'traces' };
    const at = a.windowStartMs + windowMs;
    const push = (name: string, value: number) => samples.push({ timestampMs: at, service: a.service, instance: '', name: `${prefix}${name}`, value, labels });
    push('requests_per_second', a.requests / (windowMs / 1000));
    push('error_rate_percent', (100 * a.errors) / a.requests);
    push('response_time_p50_ms', a.p50Ms);
    push('response_time_p95_ms', a.p95Ms);
    push('response_time_p99_ms', a.p99Ms);
  }
  return samples;
}

/** redWindows lists the windows due at `nowMs`, from the one after the last done (or `earliestMs`) on. */
export function redWindows(lastDoneStartMs: number | undefined, nowMs: number, earliestMs: number, windowMs = RED_WINDOW_MS, lagMs = RED_LAG_MS): { fromMs: number; toMs: number } | undefined {
  const first = Math.max(lastDoneStartMs === undefined ? -Infinity : lastDoneStartMs + windowMs, Math.floor(earliestMs / windowMs) * windowMs);
  const end = Math.floor((nowMs - lagMs) / windowMs) * windowMs;
  return end > first ? { fromMs: first, toMs: end } : undefined;
}
