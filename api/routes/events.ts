import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError, nothingValid, storageUnavailable } from '../../core/errors';
import { validateEvents } from '../../core/events';
import type { AppDeps } from '../app';
import { idempotent } from '../idempotent';
import { errorResponses } from '../schemas';

const Accepted = Type.Object({
  accepted: Type.Integer(),
  event_ids: Type.Array(Type.String()),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), field: Type.String(), error: Type.String() })),
});

/** eventsRoutes serves POST /api/v1/internal/monitoring/events: business events with their context into ClickHouse. */
export function eventsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/api/v1/internal/monitoring/events',
      {
        config: { access: 'ingest' },
        schema: {
          body: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())]),
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 409, 413, 415, 503) },
        },
      },
      async (request, reply) => {
        const { events, rejected } = validateEvents(request.body, Date.now(), randomUUID);
        if (events.length === 0) {
          throw nothingValid(rejected, 'events');
        }
        if (events.length > deps.config.monitoring.maxSamplesPerRequest) {
          throw new ApiError(413, 'payload_too_large', `more than ${deps.config.monitoring.maxSamplesPerRequest} events in one request`, 'body');
        }
        const response = await idempotent(deps.idempotency, request, reply, async () => {
          try {
            await deps.clickhouseActivities.insertEvents(events);
          } catch (err) {
            request.log.error({ err }, 'insert into business_events failed');
            throw storageUnavailable();
          }
          return { accepted: events.length, event_ids: events.map((e) => e.eventId), rejected };
        });
        return reply.code(202).send(response);
      },
    );
  };
}
