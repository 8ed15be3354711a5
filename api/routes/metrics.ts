import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError, storageUnavailable } from '../../core/errors';
import { flattenIngestBody } from '../../core/samples';
import type { AppDeps } from '../app';
import { errorResponses } from '../schemas';

const Accepted = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), field: Type.String(), error: Type.String() })),
});

/** metricsRoutes serves POST /api/v1/internal/monitoring/metrics: validate, store durably, then cache the latest values. */
export function metricsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/api/v1/internal/monitoring/metrics',
      {
        config: { access: 'ingest' },
        schema: {
          summary: 'Submit metrics: seed envelopes (one or an array) or {"samples": [...]}',
          body: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())]),
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const now = Date.now();
        const { samples, rejected } = flattenIngestBody(request.body, now);
        if (samples.length === 0) {
          const first = rejected[0];
          throw new ApiError(400, 'validation_failed', first ? `${first.field}: ${first.error}` : 'no samples in body', first?.field ?? 'body');
        }
        try {
          await deps.clickhouseActivities.insertSamples(samples);
        } catch (err) {
          request.log.error({ err }, 'insert into performance_events failed');
          throw storageUnavailable();
        }
        // The realtime cache is best-effort: the samples are already durable, so a Redis failure only degrades health.
        await deps.redisActivities.writeRealtime(samples, now).catch((err: unknown) => request.log.warn({ err }, 'realtime cache write failed'));
        return reply.code(202).send({ accepted: samples.length, rejected });
      },
    );
  };
}
