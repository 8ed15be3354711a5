/**
 * OTLP (OpenTelemetry Protocol, https://opentelemetry.io/docs/specs/otlp/) requests as this module reads them:
 * `ExportTraceServiceRequest` and `ExportMetricsServiceRequest`, from protobuf (opentelemetry-proto v1) or from
 * OTLP/JSON (lowerCamelCase names, hex trace and span ids, 64-bit integers as strings or numbers, enums as integers;
 * the proto3 JSON mapping's original snake_case names and enum names are accepted too). Both decode into one model,
 * so everything downstream is written once. Attribute values become strings as the Prometheus compatibility
 * specification says (strings as they are, booleans and numbers in decimal, arrays and maps as JSON).
 */
import { ProtobufError, ProtobufReader, ProtobufWriter } from './protobuf';

/** OtlpError says a body is not an OTLP request at all (a 400 naming `body`; the client must not retry it). */
export class OtlpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpError';
  }
}

/** Attributes are OTLP key-values with their values as strings. */
export type Attributes = Record<string, string>;

/** SpanKind numbers as OTLP defines them. */
export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
/** StatusCode numbers as OTLP defines them. */
export const STATUS_CODES = ['unset', 'ok', 'error'] as const;

/** OtlpSpan is one span, its ids in lowercase hex ('' when absent) and its times in nanoseconds since the epoch. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  statusCode: number;
  statusMessage: string;
  events: number;
  links: number;
}

/** OtlpScope is the instrumentation scope of a group of spans or metrics. */
export interface OtlpScope {
  name: string;
  version: string;
}

/** ResourceSpans groups spans by resource and scope, as the request does. */
export interface ResourceSpans {
  resource: Attributes;
  scopes: Array<{ scope: OtlpScope; spans: OtlpSpan[] }>;
}

interface PointBase {
  attributes: Attributes;
  startNs: bigint;
  timeNs: bigint;
  /** DataPointFlags: bit 0 is FLAG_NO_RECORDED_VALUE (Prometheus' staleness). */
  flags: number;
}

/** NumberPoint is a gauge's or sum's data point. */
export interface NumberPoint extends PointBase {
  value: number;
}

/** HistogramPoint is an explicit-bucket histogram's data point (bucketCounts has bounds.length + 1 entries). */
export interface HistogramPoint extends PointBase {
  count: number;
  sum?: number;
  bucketCounts: number[];
  bounds: number[];
}

/** ExponentialBuckets are one side of an exponential histogram: counts from index `offset` upwards. */
export interface ExponentialBuckets {
  offset: number;
  counts: number[];
}

/** ExponentialHistogramPoint is an exponential histogram's data point (base 2^(2^-scale)). */
export interface ExponentialHistogramPoint extends PointBase {
  count: number;
  sum?: number;
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: ExponentialBuckets;
  negative: ExponentialBuckets;
}

/** SummaryPoint is a summary's data point. */
export interface SummaryPoint extends PointBase {
  count: number;
  sum: number;
  quantiles: Array<{ quantile: number; value: number }>;
}

/** AggregationTemporality as OTLP numbers it. */
export const TEMPORALITY = { unspecified: 0, delta: 1, cumulative: 2 } as const;

/** OtlpMetric is one metric of a request with its data points, by kind. */
export type OtlpMetric = { name: string; description: string; unit: string } & (
  | { kind: 'gauge'; points: NumberPoint[] }
  | { kind: 'sum'; temporality: number; monotonic: boolean; points: NumberPoint[] }
  | { kind: 'histogram'; temporality: number; points: HistogramPoint[] }
  | { kind: 'exponential_histogram'; temporality: number; points: ExponentialHistogramPoint[] }
  | { kind: 'summary'; points: SummaryPoint[] }
  | { kind: 'empty'; points: [] }
);

/** ResourceMetrics groups metrics by resource and scope, as the request does. */
export interface ResourceMetrics {
  resource: Attributes;
  scopes: Array<{ scope: OtlpScope; metrics: OtlpMetric[] }>;
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf

const hex = (bytes: Uint8Array) => {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
};

/** MAX_VALUE_DEPTH bounds how deep attribute values (arrays, maps) nest: a body cannot exhaust the stack. */
const MAX_VALUE_DEPTH = 16;

function readAnyValue(r: ProtobufReader, depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new ProtobufError(`attribute values nest deeper than ${MAX_VALUE_DEPTH}`);
  let value: unknown = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) value = r.string('an attribute value');
    else if (field === 2 && wire === 0) value = r.varint() !== 0;
    else if (field === 3 && wire === 0) value = r.int64();
    else if (field === 4 && wire === 1) value = r.double();
    else if (field === 5 && wire === 2) {
      const array = r.message();
      const values: unknown[] = [];
      while (!array.done) {
        const t = array.tag();
        if (t.field === 1 && t.wire === 2) values.push(readAnyValue(array.message(), depth + 1));
        else array.skip(t.wire);
      }
      value = values;
    } else if (field === 6 && wire === 2) {
      const list = r.message();
      const entries: Record<string, unknown> = {};
      while (!list.done) {
        const t = list.tag();
        if (t.field === 1 && t.wire === 2) {
          const [k, v] = readKeyValue(list.message(), depth + 1);
          entries[k] = v;
        } else list.skip(t.wire);
      }
      value = entries;
    } else if (field === 7 && wire === 2) value = btoa(String.fromCharCode(...r.bytes()));
    else r.skip(wire);
  }
  return value;
}

function readKeyValue(r: ProtobufReader, depth = 0): [string, unknown] {
  let key = '';
  let value: unknown = '';
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) key = r.string('an attribute key');
    else if (field === 2 && wire === 2) value = readAnyValue(r.message(), depth);
    else r.skip(wire);
  }
  return [key, value];
}

function addAttribute(into: Attributes, r: ProtobufReader): void {
  const [k, v] = readKeyValue(r);
  into[k] = attributeText(v);
}

/** readResource reads a Resource's attributes. */
function readResource(r: ProtobufReader): Attributes {
  const attributes: Attributes = {};
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) addAttribute(attributes, r.message());
    else r.skip(wire);
  }
  return attributes;
}

function readScope(r: ProtobufReader): OtlpScope {
  const scope = { name: '', version: '' };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) scope.name = r.string('a scope name');
    else if (field === 2 && wire === 2) scope.version = r.string('a scope version');
    else r.skip(wire);
  }
  return scope;
}

function readSpan(r: ProtobufReader): OtlpSpan {
  const span: OtlpSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startNs: 0n, endNs: 0n, attributes: {}, statusCode: 0, statusMessage: '', events: 0, links: 0 };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) span.traceId = hex(r.bytes());
    else if (field === 2 && wire === 2) span.spanId = hex(r.bytes());
    else if (field === 4 && wire === 2) span.parentSpanId = hex(r.bytes());
    else if (field === 5 && wire === 2) span.name = r.string('a span name');
    else if (field === 6 && wire === 0) span.kind = r.varint();
    else if (field === 7 && wire === 1) span.startNs = r.fixed64();
    else if (field === 8 && wire === 1) span.endNs = r.fixed64();
    else if (field === 9 && wire === 2) addAttribute(span.attributes, r.message());
    else if (field === 11 && wire === 2) {
      span.events++;
      r.skip(wire);
    } else if (field === 13 && wire === 2) {
      span.links++;
      r.skip(wire);
    } else if (field === 15 && wire === 2) {
      const status = r.message();
      while (!status.done) {
        const t = status.tag();
        if (t.field === 2 && t.wire === 2) span.statusMessage = status.string('a status message');
        else if (t.field === 3 && t.wire === 0) span.statusCode = status.varint();
        else status.skip(t.wire);
      }
    } else r.skip(wire);
  }
  return span;
}

/** decodeTraceRequest reads an ExportTraceServiceRequest from protobuf. */
export function decodeTraceRequest(buf: Uint8Array): ResourceSpans[] {
  return protobufRequest(buf, (r) => {
    const out: ResourceSpans = { resource: {}, scopes: [] };
    while (!r.done) {
      const { field, wire } = r.tag();
      if (field === 1 && wire === 2) out.resource = readResource(r.message());
      else if (field === 2 && wire === 2) {
        const s = r.message();
        const group = { scope: { name: '', version: '' }, spans: [] as OtlpSpan[] };
        while (!s.done) {
          const t = s.tag();
          if (t.field === 1 && t.wire === 2) group.scope = readScope(s.message());
          else if (t.field === 2 && t.wire === 2) group.spans.push(readSpan(s.message()));
          else s.skip(t.wire);
        }
        out.scopes.push(group);
      } else r.skip(wire);
    }
    return out;
  });
}

function readPointBase(field: number, wire: number, r: ProtobufReader, point: PointBase, attributesField: number, flagsField: number): boolean {
  if (field === attributesField && wire === 2) addAttribute(point.attributes, r.message());
  else if (field === 2 && wire === 1) point.startNs = r.fixed64();
  else if (field === 3 && wire === 1) point.timeNs = r.fixed64();
  else if (field === flagsField && wire === 0) point.flags = r.varint();
  else return false;
  return true;
}

const base = (): PointBase => ({ attributes: {}, startNs: 0n, timeNs: 0n, flags: 0 });

function readNumberPoint(r: ProtobufReader): NumberPoint {
  const p: NumberPoint = { ...base(), value: 0 };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (readPointBase(field, wire, r, p, 7, 8)) continue;
    if (field === 4 && wire === 1) p.value = r.double();
    else if (field === 6 && wire === 1) p.value = r.sfixed64();
    else r.skip(wire);
  }
  return p;
}

function readHistogramPoint(r: ProtobufReader): HistogramPoint {
  const p: HistogramPoint = { ...base(), count: 0, bucketCounts: [], bounds: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (readPointBase(field, wire, r, p, 9, 10)) continue;
    if (field === 4 && wire === 1) p.count = Number(r.fixed64());
    else if (field === 5 && wire === 1) p.sum = r.double();
    else if (field === 6) r.fixed64s(wire, p.bucketCounts);
    else if (field === 7) r.doubles(wire, p.bounds);
    else r.skip(wire);
  }
  return p;
}

function readBuckets(r: ProtobufReader): ExponentialBuckets {
  const b: ExponentialBuckets = { offset: 0, counts: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) b.offset = r.sint32();
    else if (field === 2) r.varints(wire, b.counts);
    else r.skip(wire);
  }
  return b;
}

function readExponentialPoint(r: ProtobufReader): ExponentialHistogramPoint {
  const p: ExponentialHistogramPoint = { ...base(), count: 0, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 0, counts: [] }, negative: { offset: 0, counts: [] } };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (readPointBase(field, wire, r, p, 1, 10)) continue;
    if (field === 4 && wire === 1) p.count = Number(r.fixed64());
    else if (field === 5 && wire === 1) p.sum = r.double();
    else if (field === 6 && wire === 0) p.scale = r.sint32();
    else if (field === 7 && wire === 1) p.zeroCount = Number(r.fixed64());
    else if (field === 8 && wire === 2) p.positive = readBuckets(r.message());
    else if (field === 9 && wire === 2) p.negative = readBuckets(r.message());
    else if (field === 14 && wire === 1) p.zeroThreshold = r.double();
    else r.skip(wire);
  }
  return p;
}

function readSummaryPoint(r: ProtobufReader): SummaryPoint {
  const p: SummaryPoint = { ...base(), count: 0, sum: 0, quantiles: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (readPointBase(field, wire, r, p, 7, 8)) continue;
    if (field === 4 && wire === 1) p.count = Number(r.fixed64());
    else if (field === 5 && wire === 1) p.sum = r.double();
    else if (field === 6 && wire === 2) {
      const q = r.message();
      const entry = { quantile: 0, value: 0 };
      while (!q.done) {
        const t = q.tag();
        if (t.field === 1 && t.wire === 1) entry.quantile = q.double();
        else if (t.field === 2 && t.wire === 1) entry.value = q.double();
        else q.skip(t.wire);
      }
      p.quantiles.push(entry);
    } else r.skip(wire);
  }
  return p;
}

/** readData reads a Gauge/Sum/Histogram/… message: its points (field 1), temporality (2) and monotonicity (3). */
function readData<P>(r: ProtobufReader, point: (r: ProtobufReader) => P): { points: P[]; temporality: number; monotonic: boolean } {
  const out = { points: [] as P[], temporality: 0, monotonic: false };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) out.points.push(point(r.message()));
    else if (field === 2 && wire === 0) out.temporality = r.varint();
    else if (field === 3 && wire === 0) out.monotonic = r.varint() !== 0;
    else r.skip(wire);
  }
  return out;
}

function readMetric(r: ProtobufReader): OtlpMetric {
  const head = { name: '', description: '', unit: '' };
  let metric: OtlpMetric | undefined;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) head.name = r.string('a metric name');
    else if (field === 2 && wire === 2) head.description = r.string('a metric description');
    else if (field === 3 && wire === 2) head.unit = r.string('a metric unit');
    else if (field === 5 && wire === 2) metric = { ...head, kind: 'gauge', points: readData(r.message(), readNumberPoint).points };
    else if (field === 7 && wire === 2) {
      const d = readData(r.message(), readNumberPoint);
      metric = { ...head, kind: 'sum', temporality: d.temporality, monotonic: d.monotonic, points: d.points };
    } else if (field === 9 && wire === 2) {
      const d = readData(r.message(), readHistogramPoint);
      metric = { ...head, kind: 'histogram', temporality: d.temporality, points: d.points };
    } else if (field === 10 && wire === 2) {
      const d = readData(r.message(), readExponentialPoint);
      metric = { ...head, kind: 'exponential_histogram', temporality: d.temporality, points: d.points };
    } else if (field === 11 && wire === 2) metric = { ...head, kind: 'summary', points: readData(r.message(), readSummaryPoint).points };
    else r.skip(wire);
  }
  // The name, description and unit may follow the data in the bytes.
  return metric ? { ...metric, ...head } : { ...head, kind: 'empty', points: [] };
}

/** decodeMetricsRequest reads an ExportMetricsServiceRequest from protobuf. */
export function decodeMetricsRequest(buf: Uint8Array): ResourceMetrics[] {
  return protobufRequest(buf, (r) => {
    const out: ResourceMetrics = { resource: {}, scopes: [] };
    while (!r.done) {
      const { field, wire } = r.tag();
      if (field === 1 && wire === 2) out.resource = readResource(r.message());
      else if (field === 2 && wire === 2) {
        const s = r.message();
        const group = { scope: { name: '', version: '' }, metrics: [] as OtlpMetric[] };
        while (!s.done) {
          const t = s.tag();
          if (t.field === 1 && t.wire === 2) group.scope = readScope(s.message());
          else if (t.field === 2 && t.wire === 2) group.metrics.push(readMetric(s.message()));
          else s.skip(t.wire);
        }
        out.scopes.push(group);
      } else r.skip(wire);
    }
    return out;
  });
}

/** protobufRequest reads the repeated field 1 of a request (resource_spans, resource_metrics) with `read`. */
function protobufRequest<T>(buf: Uint8Array, read: (r: ProtobufReader) => T): T[] {
  try {
    const top = new ProtobufReader(buf);
    const out: T[] = [];
    while (!top.done) {
      const { field, wire } = top.tag();
      if (field === 1 && wire === 2) out.push(read(top.message()));
      else top.skip(wire);
    }
    return out;
  } catch (err) {
    if (err instanceof ProtobufError) throw new OtlpError(`not an OTLP protobuf request: ${err.message}`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** get reads a field by its lowerCamelCase name or its proto name. */
function get(o: Json, camel: string): unknown {
  if (camel in o) return o[camel];
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return o[snake];
}

function list(o: Json, camel: string, path: string): unknown[] {
  const v = get(o, camel);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpError(`${path}.${camel} must be an array`);
  return v;
}

function object(o: Json, camel: string, path: string): Json {
  const v = get(o, camel);
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new OtlpError(`${path}.${camel} must be an object`);
  return v;
}

function text(o: Json, camel: string, path: string): string {
  const v = get(o, camel);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new OtlpError(`${path}.${camel} must be a string`);
  return v;
}

/** jsonInteger reads a 64-bit integer sent as a string or a number. */
function jsonBigInt(o: Json, camel: string, path: string): bigint {
  const v = get(o, camel);
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.trunc(v));
  throw new OtlpError(`${path}.${camel} must be an integer (a number or a string of digits)`);
}

const jsonInteger = (o: Json, camel: string, path: string) => Number(jsonBigInt(o, camel, path));

/** jsonDouble reads a double sent as a number or as "NaN", "Infinity", "-Infinity". */
function jsonDouble(o: Json, camel: string, path: string): number | undefined {
  const v = get(o, camel);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new OtlpError(`${path}.${camel} must be a number`);
}

/** jsonEnum reads an enum sent as its number or as its name (`SPAN_KIND_SERVER`). */
function jsonEnum(o: Json, camel: string, path: string, names: readonly string[], prefix: string): number {
  const v = get(o, camel);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v.replace(prefix, '').toLowerCase());
    if (i >= 0) return i;
  }
  throw new OtlpError(`${path}.${camel} must be one of ${names.map((n) => `${prefix}${n.toUpperCase()}`).join(', ')} or its number`);
}

function jsonId(o: Json, camel: string, path: string, bytes: number): string {
  const v = text(o, camel, path);
  if (v === '') return '';
  // OTLP/JSON sends ids as hex, not base64 (the one exception to the proto3 JSON mapping).
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v)) throw new OtlpError(`${path}.${camel} must be ${bytes * 2} hex digits`);
  return v.toLowerCase();
}

function jsonAnyValue(v: unknown, depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpError(`attribute values nest deeper than ${MAX_VALUE_DEPTH}`);
  if (!isObject(v)) return '';
  if ('stringValue' in v || 'string_value' in v) return String(get(v, 'stringValue'));
  if ('boolValue' in v || 'bool_value' in v) return get(v, 'boolValue') === true;
  if ('intValue' in v || 'int_value' in v) return String(get(v, 'intValue'));
  if ('doubleValue' in v || 'double_value' in v) return jsonDouble(v, 'doubleValue', 'value');
  if ('arrayValue' in v || 'array_value' in v) return list(object(v, 'arrayValue', 'value'), 'values', 'value').map((x) => jsonAnyValue(x, depth + 1));
  if ('kvlistValue' in v || 'kvlist_value' in v) {
    const out: Record<string, unknown> = {};
    for (const kv of list(object(v, 'kvlistValue', 'value'), 'values', 'value')) if (isObject(kv)) out[text(kv, 'key', 'value')] = jsonAnyValue(get(kv, 'value'), depth + 1);
    return out;
  }
  if ('bytesValue' in v || 'bytes_value' in v) return String(get(v, 'bytesValue'));
  return '';
}

function jsonAttributes(o: Json, camel: string, path: string): Attributes {
  const out: Attributes = {};
  list(o, camel, path).forEach((kv, i) => {
    if (!isObject(kv)) throw new OtlpError(`${path}.${camel}[${i}] must be an object`);
    out[text(kv, 'key', `${path}.${camel}[${i}]`)] = attributeText(jsonAnyValue(get(kv, 'value')));
  });
  return out;
}

function jsonScope(o: Json, path: string): OtlpScope {
  const scope = object(o, 'scope', path);
  return { name: text(scope, 'name', `${path}.scope`), version: text(scope, 'version', `${path}.scope`) };
}

function jsonItems<T>(body: unknown, field: string, read: (item: Json, path: string) => T): T[] {
  if (!isObject(body)) throw new OtlpError('the body must be a JSON object');
  return list(body, field, 'body').map((item, i) => {
    const path = `${field}[${i}]`;
    if (!isObject(item)) throw new OtlpError(`${path} must be an object`);
    return read(item, path);
  });
}

/** traceRequestFromJson reads an ExportTraceServiceRequest from OTLP/JSON (already parsed). */
export function traceRequestFromJson(body: unknown): ResourceSpans[] {
  return jsonItems(body, 'resourceSpans', (rs, path) => ({
    resource: jsonAttributes(object(rs, 'resource', path), 'attributes', `${path}.resource`),
    scopes: list(rs, 'scopeSpans', path).map((ss, j) => {
      const sp = `${path}.scopeSpans[${j}]`;
      if (!isObject(ss)) throw new OtlpError(`${sp} must be an object`);
      return {
        scope: jsonScope(ss, sp),
        spans: list(ss, 'spans', sp).map((s, k) => {
          const p = `${sp}.spans[${k}]`;
          if (!isObject(s)) throw new OtlpError(`${p} must be an object`);
          const status = object(s, 'status', p);
          return {
            traceId: jsonId(s, 'traceId', p, 16),
            spanId: jsonId(s, 'spanId', p, 8),
            parentSpanId: jsonId(s, 'parentSpanId', p, 8),
            name: text(s, 'name', p),
            kind: jsonEnum(s, 'kind', p, SPAN_KINDS, 'SPAN_KIND_'),
            startNs: jsonBigInt(s, 'startTimeUnixNano', p),
            endNs: jsonBigInt(s, 'endTimeUnixNano', p),
            attributes: jsonAttributes(s, 'attributes', p),
            statusCode: jsonEnum(status, 'code', `${p}.status`, STATUS_CODES, 'STATUS_CODE_'),
            statusMessage: text(status, 'message', `${p}.status`),
            events: list(s, 'events', p).length,
            links: list(s, 'links', p).length,
          };
        }),
      };
    }),
  }));
}

function jsonPointBase(p: Json, path: string): PointBase {
  return { attributes: jsonAttributes(p, 'attributes', path), startNs: jsonBigInt(p, 'startTimeUnixNano', path), timeNs: jsonBigInt(p, 'timeUnixNano', path), flags: jsonInteger(p, 'flags', path) };
}

const TEMPORALITY_NAMES = ['unspecified', 'delta', 'cumulative'] as const;

function jsonMetric(m: Json, path: string): OtlpMetric {
  const head = { name: text(m, 'name', path), description: text(m, 'description', path), unit: text(m, 'unit', path) };
  const points = <T>(data: Json, dataPath: string, read: (p: Json, pp: string) => T): T[] =>
    list(data, 'dataPoints', dataPath).map((p, i) => {
      if (!isObject(p)) throw new OtlpError(`${dataPath}.dataPoints[${i}] must be an object`);
      return read(p, `${dataPath}.dataPoints[${i}]`);
    });
  const numberPoint = (p: Json, pp: string): NumberPoint => ({ ...jsonPointBase(p, pp), value: jsonDouble(p, 'asDouble', pp) ?? jsonInteger(p, 'asInt', pp) });
  const temporality = (d: Json, dp: string) => jsonEnum(d, 'aggregationTemporality', dp, TEMPORALITY_NAMES, 'AGGREGATION_TEMPORALITY_');
  const buckets = (b: Json, bp: string): ExponentialBuckets => ({ offset: jsonInteger(b, 'offset', bp), counts: list(b, 'bucketCounts', bp).map((c) => Number(c)) });
  if (get(m, 'gauge') !== undefined) {
    const d = object(m, 'gauge', path);
    return { ...head, kind: 'gauge', points: points(d, `${path}.gauge`, numberPoint) };
  }
  if (get(m, 'sum') !== undefined) {
    const d = object(m, 'sum', path);
    return { ...head, kind: 'sum', temporality: temporality(d, `${path}.sum`), monotonic: get(d, 'isMonotonic') === true, points: points(d, `${path}.sum`, numberPoint) };
  }
  if (get(m, 'histogram') !== undefined) {
    const d = object(m, 'histogram', path);
    return {
      ...head,
      kind: 'histogram',
      temporality: temporality(d, `${path}.histogram`),
      points: points(d, `${path}.histogram`, (p, pp) => ({
        ...jsonPointBase(p, pp),
        count: jsonInteger(p, 'count', pp),
        ...(get(p, 'sum') !== undefined ? { sum: jsonDouble(p, 'sum', pp)! } : {}),
        bucketCounts: list(p, 'bucketCounts', pp).map((c) => Number(c)),
        bounds: list(p, 'explicitBounds', pp).map((c) => Number(c)),
      })),
    };
  }
  if (get(m, 'exponentialHistogram') !== undefined) {
    const d = object(m, 'exponentialHistogram', path);
    return {
      ...head,
      kind: 'exponential_histogram',
      temporality: temporality(d, `${path}.exponentialHistogram`),
      points: points(d, `${path}.exponentialHistogram`, (p, pp) => ({
        ...jsonPointBase(p, pp),
        count: jsonInteger(p, 'count', pp),
        ...(get(p, 'sum') !== undefined ? { sum: jsonDouble(p, 'sum', pp)! } : {}),
        scale: jsonInteger(p, 'scale', pp),
        zeroCount: jsonInteger(p, 'zeroCount', pp),
        zeroThreshold: jsonDouble(p, 'zeroThreshold', pp) ?? 0,
        positive: buckets(object(p, 'positive', pp), `${pp}.positive`),
        negative: buckets(object(p, 'negative', pp), `${pp}.negative`),
      })),
    };
  }
  if (get(m, 'summary') !== undefined) {
    const d = object(m, 'summary', path);
    return {
      ...head,
      kind: 'summary',
      points: points(d, `${path}.summary`, (p, pp) => ({
        ...jsonPointBase(p, pp),
        count: jsonInteger(p, 'count', pp),
        sum: jsonDouble(p, 'sum', pp) ?? 0,
        quantiles: list(p, 'quantileValues', pp).map((q, i) => {
          if (!isObject(q)) throw new OtlpError(`${pp}.quantileValues[${i}] must be an object`);
          return { quantile: jsonDouble(q, 'quantile', pp) ?? 0, value: jsonDouble(q, 'value', pp) ?? 0 };
        }),
      })),
    };
  }
  return { ...head, kind: 'empty', points: [] };
}

/** metricsRequestFromJson reads an ExportMetricsServiceRequest from OTLP/JSON (already parsed). */
export function metricsRequestFromJson(body: unknown): ResourceMetrics[] {
  return jsonItems(body, 'resourceMetrics', (rm, path) => ({
    resource: jsonAttributes(object(rm, 'resource', path), 'attributes', `${path}.resource`),
    scopes: list(rm, 'scopeMetrics', path).map((sm, j) => {
      const sp = `${path}.scopeMetrics[${j}]`;
      if (!isObject(sm)) throw new OtlpError(`${sp} must be an object`);
      return {
        scope: jsonScope(sm, sp),
        metrics: list(sm, 'metrics', sp).map((m, k) => {
          if (!isObject(m)) throw new OtlpError(`${sp}.metrics[${k}] must be an object`);
          return jsonMetric(m, `${sp}.metrics[${k}]`);
        }),
      };
    }),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Values and answers

/** attributeText is an attribute value as a label value (the Prometheus compatibility specification's rule). */
export function attributeText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? '';
}

/**
 * partialSuccess is an Export*ServiceResponse: empty when everything was accepted, else its `partial_success` with
 * the number rejected (`rejected_spans` / `rejected_data_points`, field 1) and why (`error_message`, field 2).
 */
export function partialSuccess(rejected: number, message: string, json: true, field: 'rejectedSpans' | 'rejectedDataPoints'): Json;
export function partialSuccess(rejected: number, message: string, json: false): Uint8Array;
export function partialSuccess(rejected: number, message: string, json: boolean, field?: 'rejectedSpans' | 'rejectedDataPoints'): Json | Uint8Array {
  if (json) return rejected === 0 && message === '' ? {} : { partialSuccess: { [field!]: String(rejected), errorMessage: message } };
  if (rejected === 0 && message === '') return new Uint8Array(0);
  const inner = new ProtobufWriter();
  if (rejected > 0) inner.uint(1, rejected);
  if (message) inner.string(2, message);
  return new ProtobufWriter().bytes(1, inner.finish()).finish();
}

/** GRPC_CODES used in OTLP/HTTP error bodies (google.rpc.Status.code). */
export const GRPC_CODES = { invalidArgument: 3, resourceExhausted: 8, unauthenticated: 16, permissionDenied: 7, unavailable: 14, internal: 13 } as const;

/** statusBody is an OTLP/HTTP error body: a google.rpc.Status with its code and message. */
export function statusBody(code: number, message: string, json: boolean): Json | Uint8Array {
  if (json) return { code, message };
  return new ProtobufWriter().uint(1, code).string(2, message).finish();
}
