import { createHash, randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError, nothingValid, storageUnavailable } from '../../core/errors';
import { validateEvents } from '../../core/events';
import { oldestStorableMs } from '../../core/config';
import type { AppDeps } from '../deps';
import { idempotent, ingestIdentity } from '../idempotent';
import { errorResponses } from '../schemas';

const Accepted = Type.Object({
  accepted: Type.Integer(),
  event_ids: Type.Array(Type.String()),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), field: Type.String(), error: Type.String() })),
});

/** derivedEventId is the UUID-shaped id of the event at `position` of a keyed request (same key, same ids). */
export function derivedEventId(ingestId: string, position: number): string {
  const h = createHash('sha256').update(`${ingestId}:${position}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

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
        // With an Idempotency-Key, an event without its own id gets one derived from the key and its position, so a
        // retry after the API died recognises what landed.
        const ingestId = ingestIdentity(request);
        let position = 0;
        const newId = ingestId ? () => derivedEventId(ingestId, position++) : randomUUID;
        const { events, rejected } = validateEvents(request.body, Date.now(), newId, oldestStorableMs(deps.config, Date.now()));
        if (events.length === 0) {
          throw nothingValid(rejected, 'events');
        }
        if (events.length > deps.config.monitoring.maxSamplesPerRequest) {
          throw new ApiError(413, 'payload_too_large', `more than ${deps.config.monitoring.maxSamplesPerRequest} events in one request`, 'body');
        }
        const response = await idempotent(deps.idempotency, request, reply, async (recovering) => {
          try {
            let missing = events;
            if (recovering) {
              let from = Infinity;
              let to = -Infinity;
              for (const e of events) {
                from = Math.min(from, Math.floor(e.timestampMs / 1000));
                to = Math.max(to, Math.floor(e.timestampMs / 1000));
              }
              const stored = await deps.clickhouseStore.storedEventIds(events.map((e) => e.eventId), from, to);
              missing = events.filter((e) => !stored.has(e.eventId));
              request.log.info({ stored: stored.size, missing: missing.length }, 'idempotent retry recovered');
            }
            await deps.clickhouseStore.insertEvents(missing);
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
