import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { QueueFullError } from '../../activities/sample-writer';
import { ApiError, nothingValid, storageUnavailable } from '../../core/errors';
import { parsePromText, toSamples } from '../../core/prom-text';
import { flattenIngestBody, type FlattenResult } from '../../core/samples';
import type { AppDeps } from '../app';
import { idempotent } from '../idempotent';
import { errorResponses } from '../schemas';

const Accepted = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), field: Type.String(), error: Type.String() })),
});

const TEXT_TYPES = ['text/plain', 'application/openmetrics-text'];

interface IngestQuery {
  service?: string;
  instance?: string;
}

function parseBody(request: FastifyRequest<{ Querystring: IngestQuery }>, now: number): FlattenResult {
  if (typeof request.body !== 'string') return flattenIngestBody(request.body, now);
  const openMetrics = (request.headers['content-type'] ?? '').startsWith('application/openmetrics-text') || undefined;
  const parsed = parsePromText(request.body, openMetrics);
  const { service, instance } = request.query;
  const converted = toSamples(parsed.samples, { ...(service ? { service } : {}), ...(instance ? { instance } : {}) }, now);
  return {
    samples: converted.samples,
    rejected: [
      ...parsed.errors.map((e) => ({ index: e.line - 1, field: `line ${e.line}`, error: e.error })),
      ...converted.errors.map((e) => ({ index: e.index, field: `sample ${e.index}`, error: e.error })),
    ],
  };
}

/**
 * metricsRoutes serves POST /api/v1/internal/monitoring/metrics: JSON envelopes or Prometheus/OpenMetrics text,
 * answered 202 only once the batch holding the samples is stored in ClickHouse; an Idempotency-Key makes a retry a
 * no-op that returns the first answer.
 */
export function metricsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.addContentTypeParser(TEXT_TYPES, { parseAs: 'string' }, (_request, body, done) => done(null, body));

    app.post<{ Querystring: IngestQuery }>(
      '/api/v1/internal/monitoring/metrics',
      {
        config: { access: 'ingest' },
        schema: {
          querystring: Type.Object({
            service: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'service of text samples without a service/job label' })),
            instance: Type.Optional(Type.String({ maxLength: 256 })),
          }),
          // String first: with Fastify's array coercion a text body would otherwise validate as a one-element array.
          body: Type.Union([Type.String(), Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())]),
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 409, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const now = Date.now();
        const { samples, rejected } = parseBody(request, now);
        if (samples.length > deps.config.monitoring.maxSamplesPerRequest) {
          throw new ApiError(413, 'payload_too_large', `more than ${deps.config.monitoring.maxSamplesPerRequest} samples in one request; split the batch`, 'body');
        }
        if (samples.length === 0) {
          throw nothingValid(rejected, 'samples');
        }
        const response = await idempotent(deps.idempotency, request, reply, async () => {
          try {
            await deps.writer.write(samples);
          } catch (err) {
            if (err instanceof QueueFullError) {
              request.log.warn({ queued: err.queuedRows }, 'ingest queue full');
              throw new ApiError(503, 'ingest_queue_full', 'ingest queue is full; nothing was stored, retry later', undefined, 1);
            }
            request.log.error({ err }, 'insert into performance_events failed');
            throw storageUnavailable();
          }
          // The realtime cache is best-effort: the samples are durable, so a Redis failure only degrades health.
          await deps.redisActivities.writeRealtime(samples, now).catch((err: unknown) => request.log.warn({ err }, 'realtime cache write failed'));
          return { accepted: samples.length, rejected };
        });
        return reply.code(202).send(response);
      },
    );
  };
}
