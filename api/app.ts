import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Type } from '@sinclair/typebox';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type Redis from 'ioredis';
import type { Client } from '@temporalio/client';
import { createAlertCommands } from '../activities/alerts';
import { createClickHouseStore } from '../store/clickhouse';
import { createTrendActivities } from '../activities/trends';
import { createSloActivities } from '../activities/slo';
import { createBusinessStore } from '../store/business';
import { fromRoot } from '../store/paths';
import { createDashboardQueries } from '../store/dashboard';
import { createReportActivities } from '../activities/report';
import { linkSecret } from '../store/ack-links';
import { IdempotencyStore } from '../store/idempotency';
import { createRedisStore } from '../store/redis';
import { SampleWriter } from '../store/sample-writer';
import type { ApiKey, RouteAccess } from '../core/auth';
import type { Config } from '../core/config';
import { ApiError } from '../core/errors';
import type { Rule } from '../core/rules';
import { KeyRing } from './keys';
import { ParsePool } from './parse-pool';
import { QueryGate } from './query-gate';
import { Telemetry } from './telemetry';
import { registerAuth } from './plugins/auth';
import { alertActionRoutes } from './routes/alert-actions';
import { capacityRoutes } from './routes/capacity';
import { trendRoutes } from './routes/trends';
import { sloRoutes } from './routes/slo';
import { businessRoutes } from './routes/business';
import { dashboardRoutes } from './routes/dashboard';
import { pageRoutes } from './routes/page';
import { reportRoutes } from './routes/reports';
import { eventsRoutes } from './routes/events';
import { integrationRoutes } from './routes/integrations';
import { metricsRoutes } from './routes/metrics';
import { policyRoutes } from './routes/policies';
import { ruleRoutes } from './routes/rules';
import { selfMetricsRoutes } from './routes/self-metrics';
import { silenceRoutes } from './routes/silences';
import { serviceRoutes } from './routes/services';
import { ErrorBody } from './schemas';

/** RouteEntry is one route of the app and the access class it declared. */
export interface RouteEntry {
  method: string;
  url: string;
  access: RouteAccess | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: readonly RouteEntry[];
  }
}

/** AppInput is what the API is built from; the caller owns (and closes) the clients. */
export interface AppInput {
  config: Config;
  keys: readonly ApiKey[];
  clickhouse: ClickHouseClient;
  redis: Redis;
  /** A Temporal client for alert actions; without it those routes answer 503. */
  temporal?: Client;
  /** The current alert rules (health thresholds); a function so a reload applies without a restart. */
  rules: () => readonly Rule[];
  logger?: boolean;
  /**
   * The compiled parse thread script (default: parse-worker.js beside this module, which exists when running
   * from dist/); without one, bodies are parsed on the request thread. inlineBelowBytes: see ParsePoolOptions.
   */
  parsePool?: { workerFile?: string; inlineBelowBytes?: number };
}

/** AppDeps is what route plugins receive. */
export interface AppDeps {
  config: Config;
  clickhouseActivities: ReturnType<typeof createClickHouseStore>;
  redisActivities: ReturnType<typeof createRedisStore>;
  dashboardQueries: ReturnType<typeof createDashboardQueries>;
  reports: ReturnType<typeof createReportActivities>;
  trends: ReturnType<typeof createTrendActivities>;
  slo: ReturnType<typeof createSloActivities>;
  business: ReturnType<typeof createBusinessStore>;
  /** Bounds the read queries of the dashboard and performance routes (MONITORING_MAX_CONCURRENT_QUERIES, _QUERY_TIMEOUT). */
  queryGate: QueryGate;
  /** The API's /metrics registry and its timer of ClickHouse, Redis and Temporal calls. */
  telemetry: Telemetry;
  writer: SampleWriter;
  parsePool: ParsePool;
  redis: Redis;
  temporal: Client | undefined;
  /** Signs and verifies e-mail action links (shared with the worker through ALERT_LINK_SECRET or its file). */
  linkSecret: string;
  idempotency: IdempotencyStore;
  alertCommands: ReturnType<typeof createAlertCommands> | undefined;
  rules: () => readonly Rule[];
}

function errorField(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const context = err.validationContext ?? 'body';
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  const pointer = `${first.instancePath}${missing ? `/${missing}` : ''}`;
  return pointer ? `${context}${pointer.replaceAll('/', '.')}` : context;
}

function createParsePool(config: Config, options: AppInput['parsePool'] = {}): ParsePool {
  const workerFile = options.workerFile ?? path.join(__dirname, 'parse-worker.js');
  const threads = existsSync(workerFile) ? (config.monitoring.parseThreads ?? Math.max(1, os.availableParallelism() - 1)) : 0;
  return new ParsePool({ threads, workerFile, inlineBelowBytes: options.inlineBelowBytes ?? 64 * 1024 });
}

/** redactUrl hides the value of a `token` query parameter (an e-mail link's credential) in a logged URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
}

/** buildApp assembles the Fastify app (without listening): auth, error shape, routes. */
export async function buildApp(input: AppInput): Promise<FastifyInstance> {
  const { config } = input;
  const app = Fastify({
    logger: input.logger ?? false,
    bodyLimit: config.monitoring.maxBodyBytes,
    // Credentials stay out of the logs: the Authorization header, and the signed token of an e-mail link's URL.
    ...(input.logger
      ? {
          logger: {
            redact: ['req.headers.authorization'],
            serializers: {
              req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), hostname: req.hostname, remoteAddress: req.ip }),
            },
          },
        }
      : {}),
  });
  app.addSchema(ErrorBody);

  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterSeconds) void reply.header('Retry-After', String(err.retryAfterSeconds));
      if (err.statusCode >= 500) request.log.error({ err }, err.message);
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
    }
    if (err.validation) {
      const field = errorField(err);
      return reply.code(400).send({ error: 'validation_failed', message: err.message, ...(field ? { field } : {}) });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      const code =
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
          ? 'invalid_json'
          : status === 413
            ? 'payload_too_large'
            : status === 415
              ? 'unsupported_media_type'
              : 'bad_request';
      const field = code === 'invalid_json' || code === 'payload_too_large' ? 'body' : status === 415 ? 'Content-Type' : undefined;
      return reply.code(status).send({ error: code, message: err.message, ...(field ? { field } : {}) });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // The API's description is public (it holds no data): /docs and its assets need no key.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...(route.config ?? {}), access: 'open' };
  });
  // Every route with its access class (the authorization matrix test walks it).
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routeTable.push({ method, url: route.url, access: (route.config as { access?: RouteAccess } | undefined)?.access });
    }
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'performance-monitoring', version: '0.1.0', description: 'Monitoring and alerting for the trading platform. Every route but /healthz, /docs and the signed action links needs `Authorization: Bearer <token>`; roles: service (ingest, internal reads), viewer (public reads of its services, acting on their alerts), admin (everything).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerAuth(app, new KeyRing(input.keys));

  // Per key (or per address before a key is known) and per minute; ingestion is bounded by its queue instead.
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

  const deps: AppDeps = {
    config,
    clickhouseActivities: createClickHouseStore({ clickhouse: input.clickhouse, database: config.clickhouse.database }),
    redisActivities: createRedisStore({ redis: input.redis, realtimeTtlSeconds: config.monitoring.cacheTtlSeconds }),
    dashboardQueries: createDashboardQueries({
      clickhouse: input.clickhouse,
      database: config.clickhouse.database,
      queryTimeoutMs: config.monitoring.queryTimeoutMs,
      ...(config.clickhouse.cluster ? { cluster: config.clickhouse.cluster } : {}),
    }),
    reports: createReportActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database, queryTimeoutMs: config.monitoring.queryTimeoutMs }),
    trends: createTrendActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database }),
    business: createBusinessStore({ clickhouse: input.clickhouse, database: config.clickhouse.database, pricesPath: fromRoot(config.businessPath) }),
    slo: createSloActivities({ clickhouse: input.clickhouse, database: config.clickhouse.database, redis: input.redis, taskQueue: config.temporal.taskQueue, sloPath: fromRoot(config.sloPath) }),
    queryGate: new QueryGate(config.monitoring.maxConcurrentQueries, config.monitoring.queryTimeoutMs),
    telemetry: new Telemetry(),
    writer: new SampleWriter(input.clickhouse, config.clickhouse.database, {
      batchSize: config.monitoring.batchSize,
      flushIntervalMs: config.monitoring.batchFlushIntervalMs,
      maxQueuedRows: config.monitoring.maxQueuedRows,
      maxConcurrentInserts: config.monitoring.maxConcurrentInserts,
    }),
    parsePool: createParsePool(config, input.parsePool),
    redis: input.redis,
    temporal: input.temporal,
    linkSecret: linkSecret(config),
    idempotency: new IdempotencyStore(input.redis, config.monitoring.idempotencyTtlSeconds),
    alertCommands: input.temporal ? createAlertCommands(input.temporal) : undefined,
    rules: input.rules,
  };
  // Samples accepted before close are written before the clients close.
  app.addHook('onClose', async () => {
    await deps.writer.flush();
    await deps.parsePool.close();
  });

  app.get(
    '/healthz',
    {
      config: { access: 'open' },
      schema: {
        response: {
          200: Type.Object({
            status: Type.String(),
            checks: Type.Object({ clickhouse: Type.String(), redis: Type.String() }),
          }),
        },
      },
    },
    async () => {
      const [clickhouse, redis] = await Promise.all([
        deps.telemetry.timed('clickhouse', 'ping', () => input.clickhouse.ping()).then((r) => (r.success ? 'ok' : 'down')),
        deps.telemetry.timed('redis', 'ping', () => input.redis.ping()).then(
          () => 'ok',
          () => 'down',
        ),
      ]);
      return { status: clickhouse === 'ok' && redis === 'ok' ? 'ok' : 'degraded', checks: { clickhouse, redis } };
    },
  );

  // Registered on the root instance, not as an encapsulated plugin, so its onResponse hook sees every route.
  await selfMetricsRoutes(deps)(app, {});
  await app.register(metricsRoutes(deps));
  await app.register(eventsRoutes(deps));
  await app.register(serviceRoutes(deps));
  await app.register(alertActionRoutes(deps));
  await app.register(integrationRoutes(deps));
  await app.register(silenceRoutes(deps));
  await app.register(policyRoutes(deps));
  await app.register(ruleRoutes(deps));
  await app.register(dashboardRoutes(deps));
  await app.register(capacityRoutes(deps));
  await app.register(trendRoutes(deps));
  await app.register(sloRoutes(deps));
  await app.register(businessRoutes(deps));
  await app.register(pageRoutes);
  await app.register(reportRoutes(deps));
  return app;
}
