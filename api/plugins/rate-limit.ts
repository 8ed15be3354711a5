/**
 * Rate limits per key (or per address before a key is known) and per minute, answered 429 with Retry-After;
 * ingestion and the open routes are exempt (ingestion is bounded by its queue instead).
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../core/config';
import { ApiError } from '../../core/errors';

/** registerRateLimit adds the per-key limit of MONITORING_RATE_LIMIT_PER_MINUTE (anonymous: _ANONYMOUS_). */
export async function registerRateLimit(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    timeWindow: 60_000,
    max: (request) => (request.apiKey ? config.monitoring.rateLimitPerMinute : config.monitoring.anonymousRateLimitPerMinute),
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.name}` : `ip:${request.ip}`),
    allowList: (request) => ['ingest', 'open'].includes(request.routeOptions.config.access ?? ''),
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `more than ${context.max} requests in ${context.after}; retry after that`, undefined, Math.max(1, Math.ceil(context.ttl / 1000))),
  });

}
