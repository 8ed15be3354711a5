import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { QueueFullError, RowsRefusedError, rowsExcept } from '../../store/sample-writer';
import { ApiError, nothingValid, storageUnavailable } from '../../core/errors';
import { oldestStorableMs } from '../../core/config';
import type { AppDeps } from '../deps';
import { idempotent, ingestIdentity, nothingStored } from '../idempotent';
import { BodyParseError, type ParseJob } from '../ingest-parse';
import type { Rejection } from '../../core/samples';
import { errorResponses } from '../schemas';
import { partialSuccess } from '../../core/otlp';
import { otlpAnswer, otlpBody } from '../otlp-http';

const Accepted = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), field: Type.String(), error: Type.String() })),
});

interface IngestQuery {
  service?: string;
  instance?: string;
}

function formatOf(contentType: string | undefined): ParseJob['format'] {
  if (contentType?.startsWith('application/openmetrics-text')) return 'openmetrics';
  if (contentType?.startsWith('text/plain')) return 'prometheus';
  return 'json';
}

/**
 * metricsRoutes serves POST /api/v1/internal/monitoring/metrics: JSON envelopes or Prometheus/OpenMetrics text,
 * answered 202 only once the batch holding the samples is stored in ClickHouse; an Idempotency-Key makes a retry a
 * no-op that returns the first answer. Bodies arrive as bytes and are parsed by the parse pool (on a parse thread
 * when large) straight into the batch's TabSeparated rows.
 */
export function metricsRoutes(deps: AppDeps): FastifyPluginAsync {
  /**
   * ingest parses a body (on the parse pool), stores its samples through the group commit and answers what was
   * accepted and rejected; an Idempotency-Key makes a retry a no-op that returns the first answer.
   */
  const ingest = async (request: FastifyRequest, reply: FastifyReply, format: ParseJob['format'], service?: string, instance?: string): Promise<{ accepted: number; rejected: Rejection[]; refusedPoints?: number }> => {
    const now = Date.now();
    const ingestId = ingestIdentity(request);
    let parsed;
    try {
      parsed = await deps.parsePool.parse({
        body: request.body as Buffer,
        format,
        now,
        oldestMs: oldestStorableMs(deps.config, now),
        ...(service ? { service } : {}),
        ...(instance ? { instance } : {}),
        ...(ingestId ? { ingestId } : {}),
      });
    } catch (err) {
      if (err instanceof BodyParseError) throw new ApiError(400, ({ json: 'invalid_json', exposition: 'invalid_exposition', 'remote-write': 'bad_request', otlp: 'bad_request' } as const)[err.kind], err.message, 'body');
      throw err;
    }
    // The route keeps only the rows (bytes off the JS heap), the rejections and the latest values.
    request.body = undefined;
    const { rows, count, rejected, latest, fromSecond, toSecond, refusedPoints } = parsed;
    if (count > deps.config.monitoring.maxSamplesPerRequest) {
      throw new ApiError(413, 'payload_too_large', `more than ${deps.config.monitoring.maxSamplesPerRequest} samples in one request; split the batch`, 'body');
    }
    if (count === 0) {
      // A remote-write batch of only staleness markers or NaN values, or an OTLP export without data points (or of
      // staleness markers only), holds nothing to store, and is no error.
      if ((format === 'remote-write' || format === 'otlp-protobuf' || format === 'otlp-json') && rejected.length === 0) return { accepted: 0, rejected };
      throw nothingValid(rejected, 'samples');
    }
    return idempotent(deps.idempotency, request, reply, async (recovering) => {
      try {
        let missing = { rows, count };
        if (recovering) {
          // An earlier attempt under this key may have stored some or all rows before its process died.
          const stored = await deps.clickhouseStore.storedIngestSeqs(ingestId!, fromSecond, toSecond);
          missing = rowsExcept(rows, stored);
          request.log.info({ stored: stored.size, missing: missing.count }, 'idempotent retry recovered');
        }
        await deps.writer.writeRows(missing.rows, missing.count);
      } catch (err) {
        if (err instanceof QueueFullError) {
          request.log.warn({ queued: err.queuedRows }, 'ingest queue full');
          throw nothingStored(new ApiError(503, 'ingest_queue_full', 'ingest queue is full; nothing was stored, retry later', undefined, 1));
        }
        if (err instanceof RowsRefusedError) {
          // ClickHouse refused this request's own rows, inserted alone: the request is at fault, not storage.
          const which = err.row === undefined ? 'a sample' : `accepted sample ${err.row}${err.metric ? ` (${err.metric})` : ''}`;
          throw nothingStored(new ApiError(400, 'validation_failed', `storage cannot hold ${which}: ${err.reason}; nothing was stored`, 'body'));
        }
        request.log.error({ err }, 'insert into performance_events failed');
        throw storageUnavailable();
      }
      // The realtime cache is best-effort: the samples are durable, so a Redis failure only degrades health.
      await deps.redisStore.writeLatest(latest, now).catch((err: unknown) => request.log.warn({ err }, 'realtime cache write failed'));
      return { accepted: count, rejected, ...(refusedPoints !== undefined ? { refusedPoints } : {}) };
    });
  };

  return async (app) => {
    // In this plugin only: JSON too is taken as bytes, for the parse pool.
    app.removeContentTypeParser(['application/json']);
    app.addContentTypeParser(['application/json', 'text/plain', 'application/openmetrics-text'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    app.post<{ Querystring: IngestQuery }>(
      '/api/v1/internal/monitoring/metrics',
      {
        config: { access: 'ingest' },
        // The body is read as bytes (JSON envelopes, {"samples": [...]}, Prometheus or OpenMetrics text) and
        // validated item by item by the parser, which names each rejected item's field.
        schema: {
          querystring: Type.Object({
            service: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'service of text samples without a service/job label' })),
            instance: Type.Optional(Type.String({ maxLength: 256 })),
          }),
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 409, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const { service, instance } = request.query;
        const response = await ingest(request, reply, formatOf(request.headers['content-type']), service, instance);
        return reply.code(202).send(response);
      },
    );

    // Prometheus remote write 1.0: snappy-compressed protobuf WriteRequests (core/remote-write.ts), answered 204
    // once stored; 400 for a body that is not one (Prometheus drops it), 503 with Retry-After while storage cannot
    // take it (Prometheus retries). Auth as Prometheus' remote_write sends it: `authorization` (Bearer) or basic_auth.
    app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    app.post<{ Querystring: IngestQuery }>(
      '/api/v1/write',
      {
        config: { access: 'ingest' },
        schema: {
          querystring: Type.Object({
            service: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'service of series without a service/job label' })),
            instance: Type.Optional(Type.String({ maxLength: 256 })),
          }),
          response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const encoding = request.headers['content-encoding'];
        if (encoding !== undefined && encoding !== 'snappy') throw new ApiError(415, 'unsupported_media_type', `Content-Encoding ${encoding}: remote write bodies are snappy-compressed`, 'content-encoding');
        const { service, instance } = request.query;
        await ingest(request, reply, 'remote-write', service, instance);
        return reply.code(204).send();
      },
    );

    // OTLP/HTTP metrics (core/otlp-metrics.ts): what any OpenTelemetry SDK or Collector exports with only this
    // endpoint and an Authorization header; answered once stored, points it cannot hold named in the partial success.
    app.post<{ Querystring: IngestQuery }>(
      '/v1/metrics',
      {
        config: { access: 'ingest' },
        schema: {
          description: 'OTLP/HTTP metrics export (ExportMetricsServiceRequest, protobuf or JSON, optionally gzip).',
          querystring: Type.Object({
            service: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'service of resources without service.name' })),
            instance: Type.Optional(Type.String({ maxLength: 256 })),
          }),
        },
      },
      async (request, reply) =>
        otlpAnswer(request, reply, async (json) => {
          request.body = otlpBody(request, deps.config.monitoring.maxBodyBytes * 8);
          const { service, instance } = request.query;
          const { rejected, refusedPoints = 0 } = await ingest(request, reply, json ? 'otlp-json' : 'otlp-protobuf', service, instance);
          // toSamples' refusals are per sample (a histogram point is several); counted as points all the same.
          const refusedSamples = rejected.filter((r) => r.index >= 0).length;
          const message = rejected.slice(0, 5).map((r) => r.error).join('; ');
          return json ? partialSuccess(refusedPoints + refusedSamples, message, true, 'rejectedDataPoints') : partialSuccess(refusedPoints + refusedSamples, message, false);
        }),
    );
  };
}
