import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  activeStrategies,
  businessTiles,
  dashboardAlerts,
  DASHBOARD_SECTIONS,
  overallHealth,
  OVERVIEW_METRICS,
  parseRange,
  pickResolution,
  serviceHealthRow,
  systemOverview,
  TimeRangeError,
  type DashboardData,
  type DashboardSection,
  type ServiceState,
} from '../../core/dashboard';
import { ApiError } from '../../core/errors';
import { serviceHealth } from '../../core/health';
import type { Series } from '../../activities/dashboard';
import type { AppDeps } from '../app';
import { assertServiceScope } from '../plugins/auth';
import { SharedResult } from '../query-gate';
import { errorResponses, Nullable } from '../schemas';

const HealthStatus = Type.Union([Type.Literal('healthy'), Type.Literal('warning'), Type.Literal('critical'), Type.Literal('unknown')]);
const NullableNumber = Nullable(Type.Number());

const DashboardSchema = Type.Object({
  dashboard_data: Type.Object({
    timestamp: Type.String(),
    window: Type.Object({ from: Type.String(), to: Type.String() }),
    overall_system_health: HealthStatus,
    degraded: Type.Array(Type.String(), { description: 'data sources that could not be read (realtime_cache, storage); their parts are empty or null' }),
    system_overview: Type.Optional(
      Type.Object({
        total_requests_per_minute: NullableNumber,
        average_response_time_ms: NullableNumber,
        error_rate_percent: NullableNumber,
        active_users: NullableNumber,
        system_uptime_percent: NullableNumber,
      }),
    ),
    service_health: Type.Optional(
      Type.Array(
        Type.Object({
          service_name: Type.String(),
          status: HealthStatus,
          cpu_usage: NullableNumber,
          memory_usage: NullableNumber,
          response_time_p95: NullableNumber,
          error_rate: NullableNumber,
          instances: Type.Integer(),
          healthy_instances: Type.Integer(),
          reasons: Type.Array(Type.String()),
        }),
      ),
    ),
    business_metrics: Type.Optional(
      Type.Object({
        prediction_accuracy: NullableNumber,
        daily_predictions: NullableNumber,
        active_strategies: NullableNumber,
        profitable_trades_percent: NullableNumber,
      }),
    ),
    alerts: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          severity: Type.String(),
          service: Type.String(),
          message: Type.String(),
          timestamp: Type.String(),
          status: Type.String(),
          current_value: Type.Number(),
          threshold: Type.Number(),
          workflow_id: Type.String(),
          workflow_url: Type.String(),
          acknowledged_by: Type.Optional(Type.String()),
        }),
      ),
    ),
    temporal_ui: Type.String({ description: 'the Temporal Web UI of the namespace: every alert and scheduled job' }),
  }),
});

const TimeParam = Type.String({ maxLength: 40, description: 'ISO-8601 time, epoch milliseconds, or now / now-15m (s, m, h, d)' });
const DashboardQuery = Type.Object(
  {
    type: Type.Optional(Type.Union(DASHBOARD_SECTIONS.map((s) => Type.Literal(s)), { description: 'the sections to include (default all)' })),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
  },
  { additionalProperties: false },
);

const METRIC_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
const PerformanceQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services (default: every service of the key)' })),
    metric: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated metric names (default: CPU, memory, p95, error rate, request rate)' })),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    step: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'bucket width in seconds (widened to keep at most 720 points)' })),
  },
  { additionalProperties: false },
);
const PerformanceSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  resolution: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')]),
  step_seconds: Type.Integer(),
  series: Type.Array(
    Type.Object({
      service: Type.String(),
      metric: Type.String(),
      points: Type.Array(Type.Object({ t: Type.Integer({ description: 'bucket start, seconds since the epoch' }), avg: Type.Number(), min: Type.Number(), max: Type.Number(), p95: Type.Number() })),
    }),
  ),
});

const OverviewSchema = Type.Object({
  timestamp: Type.String(),
  overall_system_health: HealthStatus,
  services: Type.Object({ total: Type.Integer(), by_status: Type.Record(Type.String(), Type.Integer()) }),
  alerts: Type.Object({ total: Type.Integer(), by_severity: Type.Record(Type.String(), Type.Integer()), by_status: Type.Record(Type.String(), Type.Integer()) }),
  storage: Type.Array(Type.Object({ table: Type.String(), rows: Type.Number(), bytes: Type.Number() })),
  ingest: Type.Object({ queued_rows: Type.Integer(), batches: Type.Integer(), rows: Type.Integer(), failed_batches: Type.Integer() }),
  queries: Type.Object({ in_flight: Type.Integer(), queued: Type.Integer(), refused: Type.Integer(), timed_out: Type.Integer(), max_concurrent: Type.Integer(), timeout_ms: Type.Integer() }),
  degraded: Type.Array(Type.String()),
  temporal_ui: Type.String(),
});

const DEFAULT_METRICS = ['cpu_usage_percent', 'memory_usage_percent', 'response_time_p95_ms', 'error_rate_percent', 'requests_per_second'];

/** listParam splits a comma-separated query value, refusing an empty or malformed item with the field named. */
function listParam(value: string | undefined, field: string, pattern?: RegExp, max = 50): string[] | undefined {
  if (value === undefined) return undefined;
  const items = [...new Set(value.split(',').map((v) => v.trim()))];
  if (items.some((v) => v === '')) throw new ApiError(400, 'validation_failed', `${field} has an empty item`, `querystring.${field}`);
  if (items.length > max) throw new ApiError(400, 'validation_failed', `${field} lists more than ${max} items`, `querystring.${field}`);
  const bad = pattern ? items.find((v) => !pattern.test(v)) : undefined;
  if (bad !== undefined) throw new ApiError(400, 'validation_failed', `${field} item ${JSON.stringify(bad)} is not a valid name`, `querystring.${field}`);
  return items;
}

function range(query: { from?: string; to?: string }, nowMs: number, defaultMs: number) {
  try {
    return parseRange(query.from, query.to, nowMs, defaultMs);
  } catch (err) {
    if (err instanceof TimeRangeError) throw new ApiError(400, 'validation_failed', `${err.field}: ${err.message}`, `querystring.${err.field}`);
    throw err;
  }
}

/**
 * dashboardRoutes serves the dashboard data (`dashboard_data`), performance series and the admin overview, each
 * limited to the caller's services: a viewer's listed services, every reporting service for admins. Live values
 * come from Redis and the window's aggregates from the rollups and recent raw samples, through the query gate; one
 * answer per scope is shared for MONITORING_DASHBOARD_CACHE (2 s; the page refreshes every 5 s). A source that cannot be read degrades its part (named in `degraded`).
 */
export function dashboardRoutes(deps: AppDeps): FastifyPluginAsync {
  const { redisActivities: cache, dashboardQueries: queries, queryGate: gate } = deps;
  const ui = `${deps.config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(deps.config.temporal.namespace)}`;
  const workflowUrl = (id: string) => `${ui}/workflows/${encodeURIComponent(id)}`;
  const dashboards = new SharedResult<{ data: DashboardData; degraded: string[] }>(deps.config.monitoring.dashboardShareMs);
  const performance = new SharedResult<Series[]>(deps.config.monitoring.dashboardShareMs);

  /** scope is the services a request may see; admins (and service keys) see every service that reported. */
  async function scope(request: FastifyRequest, degraded: string[]): Promise<string[]> {
    const key = request.apiKey!;
    if (key.role === 'viewer') return [...(key.services ?? [])].sort();
    try {
      return await cache.knownServices();
    } catch (err) {
      request.log.warn({ err }, 'known services read failed');
      degraded.push('realtime_cache');
      return [];
    }
  }

  async function readStates(services: readonly string[], nowMs: number): Promise<ServiceState[]> {
    const rules = deps.rules();
    return Promise.all(
      services.map(async (service) => {
        const [snapshot, instances, alerts] = await Promise.all([cache.readRealtime(service), cache.listInstances(service, nowMs), cache.listActiveAlerts(service)]);
        return { service, snapshot, verdict: serviceHealth(service, snapshot, rules), instances, alerts };
      }),
    );
  }

  async function compute(services: readonly string[], section: DashboardSection, fromMs: number, toMs: number, nowMs: number, log: FastifyRequest['log']) {
    const degraded: string[] = [];
    const wants = (s: DashboardSection) => section === 'all' || section === s;
    const statesRead = readStates(services, nowMs).catch((err: unknown) => {
      log.warn({ err }, 'realtime cache read failed');
      degraded.push('realtime_cache');
      return services.map((service): ServiceState => ({ service, snapshot: null, verdict: { status: 'unknown', reasons: [] }, instances: [], alerts: [] }));
    });
    const needsStorage = wants('system') || wants('business');
    const storageRead = needsStorage
      ? gate
          .run((signal) =>
            Promise.all([
              queries.windowStats(services, OVERVIEW_METRICS, fromMs, toMs, signal),
              wants('system') ? queries.uptime(services, nowMs, signal) : Promise.resolve([]),
              wants('business') ? queries.dailyPredictions(services, nowMs, signal) : Promise.resolve(null),
            ]),
          )
          .catch((err: unknown) => {
            if (err instanceof ApiError) throw err;
            log.warn({ err }, 'dashboard storage read failed');
            degraded.push('storage');
            return [[], [], null] as const;
          })
      : Promise.resolve([[], [], null] as const);
    const [states, [stats, uptime, predictions]] = await Promise.all([statesRead, storageRead]);
    const rows = states.map((s) => serviceHealthRow(s, nowMs, deps.config.monitoring.cacheTtlSeconds * 1000));
    const data: DashboardData = {
      timestamp: new Date(nowMs).toISOString(),
      window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
      overall_system_health: overallHealth(rows.map((r) => r.status)),
      ...(wants('system') ? { system_overview: systemOverview(stats, uptime) } : {}),
      ...(wants('services') ? { service_health: rows } : {}),
      ...(wants('business') ? { business_metrics: businessTiles(stats, predictions, activeStrategies(states.map((s) => s.snapshot))) } : {}),
      ...(wants('alerts') ? { alerts: dashboardAlerts(states.flatMap((s) => s.alerts)) } : {}),
    };
    return { data, degraded };
  }

  return async (app) => {
    app.get<{ Querystring: { type?: DashboardSection; from?: string; to?: string } }>(
      '/api/v1/public/monitoring/dashboard',
      {
        config: { access: 'public' },
        schema: {
          description: "The seed's dashboard_data for the caller's services: overall health, overview tiles, per-service health, business tiles and active alerts.",
          querystring: DashboardQuery,
          response: { 200: DashboardSchema, ...errorResponses(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const nowMs = Date.now();
        const { fromMs, toMs } = range(request.query, nowMs, 5 * 60_000);
        const section = request.query.type ?? 'all';
        const scopeDegraded: string[] = [];
        const services = await scope(request, scopeDegraded);
        // Relative windows ("the last 5 minutes") are shared between callers; explicit ones by their bounds.
        const relative = request.query.to === undefined || request.query.to.startsWith('now');
        const key = [services.join(','), section, relative ? `${request.query.from ?? ''}|${request.query.to ?? ''}` : `${fromMs}|${toMs}`].join('\u0000');
        const { data, degraded } = await dashboards.get(key, () => compute(services, section, fromMs, toMs, nowMs, request.log));
        const alerts = data.alerts?.map((a) => ({ ...a, workflow_url: workflowUrl(a.workflow_id) }));
        return {
          dashboard_data: { ...data, ...(alerts ? { alerts } : {}), degraded: [...new Set([...scopeDegraded, ...degraded])], temporal_ui: ui },
        };
      },
    );

    app.get<{ Querystring: { service?: string; metric?: string; from?: string; to?: string; step?: number } }>(
      '/api/v1/public/monitoring/performance',
      {
        config: { access: 'public' },
        schema: {
          description: 'Time series of the chosen metrics for the caller\'s services: raw samples up to 2 h, the 1-minute rollup up to 7 days, the 1-hour rollup beyond.',
          querystring: PerformanceQuery,
          response: { 200: PerformanceSchema, ...errorResponses(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const nowMs = Date.now();
        const { fromMs, toMs } = range(request.query, nowMs, 3_600_000);
        const asked = listParam(request.query.service, 'service');
        for (const service of asked ?? []) assertServiceScope(request, service);
        const services = asked ?? (await scope(request, []));
        const metrics = listParam(request.query.metric, 'metric', new RegExp(METRIC_NAME), 20) ?? DEFAULT_METRICS;
        const resolution = pickResolution(fromMs, toMs, request.query.step);
        // Shared by callers asking the same thing in the same step-aligned window.
        const alignedTo = Math.floor(toMs / 1000 / resolution.stepSeconds);
        const key = [services.join(','), metrics.join(','), resolution.source, resolution.stepSeconds, Math.floor(fromMs / 1000 / resolution.stepSeconds), alignedTo].join('\u0000');
        const series = await performance.get(key, () =>
          gate.run((signal) => queries.series(services, metrics, fromMs, toMs, resolution, signal)).catch((err: unknown) => {
            if (err instanceof ApiError) throw err;
            request.log.warn({ err }, 'performance read failed');
            throw new ApiError(503, 'storage_unavailable', 'metrics storage is unavailable; retry later', undefined, 5);
          }),
        );
        return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), resolution: resolution.source, step_seconds: resolution.stepSeconds, series };
      },
    );

    app.get(
      '/api/v1/admin/monitoring/overview',
      {
        config: { access: 'admin' },
        schema: {
          description: 'The whole platform at a glance: services by status, active alerts by severity and state, table sizes, ingest and query load.',
          response: { 200: OverviewSchema, ...errorResponses(401, 403, 429, 503) },
        },
      },
      async (request) => {
        const nowMs = Date.now();
        const degraded: string[] = [];
        const services = await scope(request, degraded);
        const states = await readStates(services, nowMs).catch((err: unknown) => {
          request.log.warn({ err }, 'realtime cache read failed');
          degraded.push('realtime_cache');
          return [] as ServiceState[];
        });
        const storage = await gate
          .run((signal) => queries.tableSizes(signal))
          .catch((err: unknown) => {
            if (err instanceof ApiError) throw err;
            degraded.push('storage');
            return [];
          });
        const rows = states.map((s) => serviceHealthRow(s, nowMs, deps.config.monitoring.cacheTtlSeconds * 1000));
        const count = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
        const alerts = states.flatMap((s) => s.alerts);
        return {
          timestamp: new Date(nowMs).toISOString(),
          overall_system_health: overallHealth(rows.map((r) => r.status)),
          services: { total: rows.length, by_status: count(rows.map((r) => r.status)) },
          alerts: { total: alerts.length, by_severity: count(alerts.map((a) => a.severity)), by_status: count(alerts.map((a) => a.status)) },
          storage,
          ingest: { queued_rows: deps.writer.queuedRows, batches: deps.writer.stats.batches, rows: deps.writer.stats.rows, failed_batches: deps.writer.stats.failedBatches },
          queries: { in_flight: gate.inFlight, queued: gate.queued, refused: gate.stats.refused, timed_out: gate.stats.timedOut, max_concurrent: deps.config.monitoring.maxConcurrentQueries, timeout_ms: deps.config.monitoring.queryTimeoutMs },
          degraded: [...new Set(degraded)],
          temporal_ui: ui,
        };
      },
    );
  };
}
