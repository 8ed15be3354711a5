import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteAccess } from '../core/auth';
import { parseRange, TimeRangeError } from '../core/dashboard';
import { ApiError } from '../core/errors';
import type { QueryGate } from './query-gate';
import type { Telemetry } from './telemetry';

/** ErrorBody is the one error shape of the API. */
export const ErrorBody = Type.Object(
  { error: Type.String(), message: Type.String(), field: Type.Optional(Type.String()) },
  { $id: 'ErrorBody' },
);

/** errorResponses adds the shared error responses to a route's response schemas. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody]));
}

/** ReadRouteSpec is what a read route declares: who may call it, what it does, what it takes and answers. */
export interface ReadRouteSpec {
  access: RouteAccess;
  description: string;
  querystring?: TSchema;
  response: TSchema;
  /** The error statuses it may answer (default 400, 401, 403, 429, 503). */
  errors?: number[];
}

/** readRoute declares a GET route the way every read of the API is declared (access, OpenAPI schema, shared errors). */
export function readRoute<Q>(app: FastifyInstance, url: string, spec: ReadRouteSpec, handler: (request: FastifyRequest<{ Querystring: Q }>, reply: FastifyReply) => Promise<unknown>): void {
  app.get<{ Querystring: Q }>(
    url,
    {
      config: { access: spec.access },
      schema: {
        description: spec.description,
        ...(spec.querystring ? { querystring: spec.querystring } : {}),
        response: { 200: spec.response, ...errorResponses(...(spec.errors ?? [400, 401, 403, 429, 503])) },
      },
    },
    handler,
  );
}

/** ServiceParams is the `{service_name}` path parameter. */
export const ServiceParams = Type.Object({
  service_name: Type.String({ minLength: 1, maxLength: 256 }),
});

/** Nullable makes a schema accept null too. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Realtime is the seed's realtime metrics cache entry. */
export const Realtime = Type.Object({
  cpu_usage: Nullable(Type.Number()),
  memory_usage: Nullable(Type.Number()),
  response_time_p95: Nullable(Type.Number()),
  error_rate: Nullable(Type.Number()),
  last_updated: Type.String(),
  ttl: Type.Integer(),
  metrics: Type.Record(Type.String(), Type.Number(), { description: "The service's values: its instances' combined — counts and rates summed, latencies the worst instance's, the rest averaged — and its own series" }),
  instances: Type.Array(Type.Object({ instance: Type.String(), metrics: Type.Record(Type.String(), Type.Number()), last_updated: Type.String() }), {
    description: 'Each instance that reported within the cache TTL, with its own values',
  }),
});

/** ActiveAlertSchema is one entry of a service's active alerts. */
export const ActiveAlertSchema = Type.Object({
  alert_id: Type.String(),
  fingerprint: Type.String(),
  rule: Type.String(),
  severity: Type.String(),
  status: Type.String(),
  service: Type.String(),
  instance: Type.String(),
  metric: Type.String(),
  threshold: Type.Number(),
  current_value: Type.Number(),
  duration: Type.Integer(),
  started_at: Type.String(),
  last_evaluation: Type.String(),
  summary: Type.String(),
  workflow_id: Type.String(),
  workflow_url: Type.String(),
  acknowledged_by: Type.Optional(Type.String()),
});

/** expectedVersion reads `If-Match: <version>` (optimistic locking of versioned admin objects); undefined without it. */
export function expectedVersion(headers: { 'if-match'?: string | string[] | undefined }, what: string): number | undefined {
  const ifMatch = headers['if-match'];
  if (ifMatch === undefined) return undefined;
  const version = Number(String(ifMatch).replaceAll('"', ''));
  if (!Number.isInteger(version) || version < 0) throw new ApiError(400, 'bad_request', `If-Match must be a ${what} version`, 'If-Match');
  return version;
}

/** listParam splits a comma-separated query value, refusing an empty or malformed item with the field named. */
export function listParam(value: string | undefined, field: string, pattern?: RegExp, max = 50): string[] | undefined {
  if (value === undefined) return undefined;
  const items = [...new Set(value.split(',').map((v) => v.trim()))];
  if (items.some((v) => v === '')) throw new ApiError(400, 'validation_failed', `${field} has an empty item`, `querystring.${field}`);
  if (items.length > max) throw new ApiError(400, 'validation_failed', `${field} lists more than ${max} items`, `querystring.${field}`);
  const bad = pattern ? items.find((v) => !pattern.test(v)) : undefined;
  if (bad !== undefined) throw new ApiError(400, 'validation_failed', `${field} item ${JSON.stringify(bad)} is not a valid name`, `querystring.${field}`);
  return items;
}

/** timeRange reads a route's `from` and `to` (ISO-8601, epoch ms or now-<n>), a bad one a 400 naming it. */
export function timeRange(query: { from?: string; to?: string }, nowMs: number, defaultMs: number): { fromMs: number; toMs: number } {
  try {
    return parseRange(query.from, query.to, nowMs, defaultMs);
  } catch (err) {
    if (err instanceof TimeRangeError) throw new ApiError(400, 'validation_failed', `${err.field}: ${err.message}`, `querystring.${err.field}`);
    throw err;
  }
}

/**
 * storageReadError is what a failed ClickHouse read answers: the query gate's own 503 (too many queries, timeout)
 * as it is, anything else logged and answered as the storage's 503 with Retry-After.
 */
export function storageReadError(err: unknown, log: FastifyBaseLogger, what: string): ApiError {
  if (err instanceof ApiError) return err;
  log.warn({ err }, `${what} read failed`);
  return new ApiError(503, 'storage_unavailable', 'metrics storage is unavailable; retry later', undefined, 5);
}

/**
 * readStorage runs one ClickHouse read of a route: through the query gate (bounded concurrency and time), timed as
 * `operation` in the module's metrics, a failure answered as storageReadError names `what`.
 */
export function readStorage<T>(
  deps: { queryGate: QueryGate; telemetry: Telemetry },
  log: FastifyBaseLogger,
  operation: string,
  what: string,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  return deps.queryGate
    .run((signal) => deps.telemetry.timed('clickhouse', operation, () => read(signal)))
    .catch((err: unknown) => {
      throw storageReadError(err, log, what);
    });
}
