/**
 * Traces: POST /v1/traces takes OTLP/HTTP span exports (protobuf or JSON, optionally gzip) into the spans table,
 * answered once stored with OTLP's partial success naming the spans refused; GET /api/v1/public/monitoring/traces
 * searches a service's traces and …/traces/{trace_id} reads one, each scoped to the caller's services. The RED
 * metrics of the spans are derived by the `span-metrics` job (activities/traces.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { oldestStorableMs } from '../../core/config';
import { parseDuration } from '../../core/duration';
import { ApiError, storageUnavailable } from '../../core/errors';
import { decodeTraceRequest, OtlpError, partialSuccess, traceRequestFromJson } from '../../core/otlp';
import { spanRows } from '../../core/otlp-traces';
import { createSpanStore } from '../../store/spans';
import type { AppDeps } from '../deps';
import { otlpAnswer, otlpBody } from '../otlp-http';
import { assertServiceScope } from '../plugins/auth';
import { errorResponses, readRoute, readStorage, timeRange } from '../schemas';

const SpanSchema = Type.Object({
  trace_id: Type.String(),
  span_id: Type.String(),
  parent_span_id: Type.String(),
  service: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  status_code: Type.String(),
  status_message: Type.String(),
  start: Type.String(),
  duration_ms: Type.Number(),
  attributes: Type.Record(Type.String(), Type.String()),
  resource: Type.Record(Type.String(), Type.String()),
  scope: Type.String(),
  events: Type.Integer(),
  links: Type.Integer(),
});

const TraceSummarySchema = Type.Object({
  trace_id: Type.String(),
  start: Type.String(),
  duration_ms: Type.Number({ description: "the longest of the searched service's spans in the trace" }),
  root_name: Type.String(),
  spans: Type.Integer(),
  errors: Type.Integer(),
  services: Type.Array(Type.String()),
});

const TRACE_ID = '^[0-9a-fA-F]{32}$';
/** Attribute values longer than this are cut (a stack trace in an attribute is kept, a megabyte is not). */
const MAX_ATTRIBUTE_LENGTH = 4096;

export function traceRoutes(deps: AppDeps): FastifyPluginAsync {
  const spans = createSpanStore({ clickhouse: deps.clickhouse, database: deps.config.clickhouse.database });
  const scope = (request: { apiKey?: { role: string; services?: readonly string[] } }) => (request.apiKey?.role === 'viewer' ? (request.apiKey.services ?? []) : undefined);

  return async (app) => {
    app.removeContentTypeParser(['application/json']);
    app.addContentTypeParser(['application/json', 'application/x-protobuf'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    app.post<{ Querystring: { service?: string } }>(
      '/v1/traces',
      {
        config: { access: 'ingest' },
        schema: {
          description: 'OTLP/HTTP trace export (ExportTraceServiceRequest, protobuf or JSON, optionally gzip).',
          querystring: Type.Object({ service: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'service of resources without service.name' })) }),
        },
      },
      async (request, reply) =>
        otlpAnswer(request, reply, async (json) => {
          const body = otlpBody(request, deps.config.monitoring.maxBodyBytes * 8);
          let decoded;
          try {
            decoded = json ? traceRequestFromJson(JSON.parse(body.toString('utf8'))) : decodeTraceRequest(body);
          } catch (err) {
            // (RangeError: JSON nested beyond what JSON.parse can hold)
            if (err instanceof OtlpError || err instanceof SyntaxError || err instanceof RangeError) throw new ApiError(400, 'bad_request', err.message, 'body');
            throw err;
          }
          const now = Date.now();
          const { rows, rejected, errors } = spanRows(decoded, now, { oldestMs: oldestStorableMs(deps.config, now), maxAttributeLength: MAX_ATTRIBUTE_LENGTH }, request.query.service);
          if (rows.length === 0 && rejected > 0) throw new ApiError(400, 'validation_failed', `no span could be stored: ${errors.join('; ')}`, 'body');
          try {
            await deps.telemetry.timed('clickhouse', 'insert_spans', () => spans.insertSpans(rows));
          } catch (err) {
            request.log.error({ err }, 'insert into spans failed');
            throw storageUnavailable();
          }
          const message = errors.join('; ');
          return json ? partialSuccess(rejected, message, true, 'rejectedSpans') : partialSuccess(rejected, message, false);
        }),
    );

    readRoute<{ service?: string; from?: string; to?: string; min_duration?: string; limit?: number }>(
      app,
      '/api/v1/public/monitoring/traces',
      {
        access: 'public',
        description: "Traces with a span of the service (or of any of the caller's services) in the range, newest first.",
        querystring: Type.Object({
          service: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          from: Type.Optional(Type.String()),
          to: Type.Optional(Type.String()),
          min_duration: Type.Optional(Type.String({ description: 'only spans at least this long, e.g. 250ms or 2s' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })),
        }),
        response: Type.Object({ traces: Type.Array(TraceSummarySchema) }),
      },
      async (request) => {
        const { fromMs, toMs } = timeRange(request.query, Date.now(), 3_600_000);
        let minDurationNs = 0;
        if (request.query.min_duration !== undefined) {
          try {
            minDurationNs = Math.round(parseDuration(request.query.min_duration) * 1e6);
          } catch (err) {
            throw new ApiError(400, 'validation_failed', `min_duration: ${(err as Error).message}`, 'querystring.min_duration');
          }
        }
        if (request.query.service) assertServiceScope(request, request.query.service);
        const services = request.query.service ? [request.query.service] : scope(request);
        const traces = await readStorage(deps, request.log, 'find_traces', 'traces', (signal) => spans.findTraces({ ...(services ? { services } : {}), fromMs, toMs, minDurationNs, limit: request.query.limit ?? 20 }, signal));
        return { traces };
      },
    );

    app.get<{ Params: { trace_id: string } }>(
      '/api/v1/public/monitoring/traces/:trace_id',
      {
        config: { access: 'public' },
        schema: {
          description: "A trace's spans in start order (a viewer sees its services' spans only).",
          params: Type.Object({ trace_id: Type.String({ pattern: TRACE_ID }) }),
          response: { 200: Type.Object({ trace_id: Type.String(), spans: Type.Array(SpanSchema) }), ...errorResponses(400, 401, 403, 404, 503) },
        },
      },
      async (request) => {
        const traceId = request.params.trace_id.toLowerCase();
        const found = await readStorage(deps, request.log, 'trace_spans', 'trace', (signal) => spans.traceSpans(traceId, scope(request), signal));
        if (found.length === 0) throw new ApiError(404, 'not_found', `no trace ${traceId} (or none of its spans is of a service this key may read)`, 'trace_id');
        return { trace_id: traceId, spans: found };
      },
    );
  };
}
