import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  activeStrategies,
  businessTiles,
  dashboardAlerts,
  overallHealth,
  OVERVIEW_METRICS,
  pickResolution,
  serviceHealthRow,
  systemOverview,
  type DashboardSection,
  type ServiceState,
  type Availability,
  type WindowStat,
} from '../../core/dashboard';
import { ApiError } from '../../core/errors';
import type { SloStatus } from '../../core/slo';
import { serviceHealth } from '../../core/health';
import type { Series } from '../../store/dashboard';
import type { AppDeps } from '../deps';
import { assertServiceScope } from '../plugins/auth';
import { SharedResult } from '../query-gate';
import { readRoute, listParam, storageReadError, timeRange as range } from '../schemas';
import { DashboardQuery, DashboardSchema, METRIC_NAME, OverviewSchema, PerformanceQuery, PerformanceSchema } from './dashboard-schemas';

const DEFAULT_METRICS = ['cpu_usage_percent', 'memory_usage_percent', 'response_time_p95_ms', 'error_rate_percent', 'requests_per_second'];


/** Platform is every reporting service's data for one dashboard window, read once and cut per caller's scope. */
interface Platform {
  nowMs: number;
  fromMs: number;
  toMs: number;
  states: ServiceState[];
  stats: WindowStat[];
  availability: Availability[];
  predictions: Map<string, number>;
  slo: SloStatus[];
  degraded: string[];
}

/** sloRow is a service's SLO status as the dashboard shows it. */
function sloRow(s: SloStatus) {
  return {
    service_name: s.service,
    availability_7d: s.window7d.availability.measured,
    availability_30d: s.window30d.availability.measured,
    latency_7d: s.window7d.latency.measured,
    latency_30d: s.window30d.latency.measured,
    errors_7d: s.window7d.errors.measured,
    errors_30d: s.window30d.errors.measured,
    objectives: { availability: s.slo.availability, latency: s.slo.latency.objective, latency_threshold_ms: s.slo.latency.thresholdMs, errors: s.slo.errors.objective },
    error_budget_remaining: s.errorBudgetRemaining,
    burn_rate_1h: s.burnRates['1h'],
    burn_rate_6h: s.burnRates['6h'],
    fast_burn: s.fastBurn,
    slow_burn: s.slowBurn,
  };
}

/**
 * dashboardRoutes serves the dashboard data (`dashboard_data`), performance series and the admin overview, each
 * limited to the caller's services: a viewer's listed services, every reporting service for admins. Live values
 * come from Redis and the window's aggregates from the rollups and recent raw samples, through the query gate.
 * The platform's data is read once per MONITORING_DASHBOARD_CACHE (2 s; the page refreshes every 5 s) whoever asks,
 * cut to each caller's services, and each scope's answer is kept serialized for the same time — so a hundred
 * dashboards cost one set of queries and one serialization per scope. A source that cannot be read degrades its
 * part (named in `degraded`).
 */
export function dashboardRoutes(deps: AppDeps): FastifyPluginAsync {
  const { redisStore: cache, dashboardQueries: queries, queryGate: gate, telemetry } = deps;
  const shareMs = deps.config.monitoring.dashboardShareMs;
  const ui = `${deps.config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(deps.config.temporal.namespace)}`;
  const workflowUrl = (id: string) => `${ui}/workflows/${encodeURIComponent(id)}`;
  const platforms = new SharedResult<Platform>(shareMs);
  const seriesOfAll = new SharedResult<{ services: string[]; series: Series[] }>(shareMs);
  const answers = new SharedResult<string>(shareMs);
  const known = new SharedResult<string[]>(shareMs);

  /** reporting lists every service that has reported (shared like the answers); empty, and degraded, without Redis. */
  async function reporting(degraded: string[], log: FastifyRequest['log']): Promise<string[]> {
    try {
      return await known.get('known', () => telemetry.timed('redis', 'known_services', () => cache.knownServices()));
    } catch (err) {
      log.warn({ err }, 'known services read failed');
      degraded.push('realtime_cache');
      return [];
    }
  }

  /** scopeOf is the services a request may see: a viewer's listed ones, or every reporting service. */
  const scopeOf = (request: FastifyRequest, all: readonly string[]): string[] =>
    request.apiKey!.role === 'viewer' ? [...(request.apiKey!.services ?? [])].sort() : [...all];

  async function readStates(services: readonly string[], nowMs: number): Promise<ServiceState[]> {
    const rules = deps.rules();
    return Promise.all(
      services.map(async (service) => {
        const [snapshot, instances, alerts] = await telemetry.timed('redis', 'service_state', () =>
          Promise.all([cache.readRealtime(service), cache.listInstances(service, nowMs), cache.listActiveAlerts(service)]),
        );
        return { service, snapshot, verdict: serviceHealth(service, snapshot, rules, alerts), instances, alerts };
      }),
    );
  }

  /** readPlatform reads every given service's live state and the window's aggregates. */
  async function readPlatform(services: readonly string[], degraded: string[], fromMs: number, toMs: number, nowMs: number, log: FastifyRequest['log']): Promise<Platform> {
    const statesRead = readStates(services, nowMs).catch((err: unknown) => {
      log.warn({ err }, 'realtime cache read failed');
      degraded.push('realtime_cache');
      return [] as ServiceState[];
    });
    const storageRead = gate
      .run((signal) =>
        telemetry.timed('clickhouse', 'dashboard', () =>
          Promise.all([queries.windowStats(services, OVERVIEW_METRICS, fromMs, toMs, signal), queries.availability(services, nowMs, signal), queries.dailyPredictions(services, nowMs, signal)]),
        ),
      )
      .catch((err: unknown) => {
        if (err instanceof ApiError) throw err;
        log.warn({ err }, 'dashboard storage read failed');
        degraded.push('storage');
        return [[], [], new Map<string, number>()] as const;
      });
    // The SLO check keeps its statuses in Redis every minute (activities/slo.ts).
    const sloRead = deps.slo.latestSloStatus().catch((err: unknown) => {
      log.warn({ err }, 'SLO status read failed');
      degraded.push('realtime_cache');
      return [] as SloStatus[];
    });
    const [states, [stats, availability, predictions], slo] = await Promise.all([statesRead, storageRead, sloRead]);
    return { nowMs, fromMs, toMs, states, stats: [...stats], availability: [...availability], predictions, slo, degraded };
  }

  /** dashboardOf cuts the platform's data to a scope and assembles the sections asked for. */
  function dashboardOf(platform: Platform, services: readonly string[], section: DashboardSection, extraDegraded: readonly string[]): string {
    const wanted = new Set(services);
    const wants = (s: DashboardSection) => section === 'all' || section === s;
    const byService = new Map(platform.states.map((s) => [s.service, s]));
    // A listed service with nothing in the cache (never reported, or the cache is down) shows as unknown.
    const states = services.map((service): ServiceState => byService.get(service) ?? { service, snapshot: null, verdict: { status: 'unknown', reasons: [] }, instances: [], alerts: [] });
    const stats = platform.stats.filter((s) => wanted.has(s.service));
    const rows = states.map((s) => serviceHealthRow(s, platform.nowMs, deps.config.monitoring.cacheTtlSeconds * 1000));
    const predictions = new Map([...platform.predictions].filter(([service]) => wanted.has(service)));
    const data = {
      timestamp: new Date(platform.nowMs).toISOString(),
      window: { from: new Date(platform.fromMs).toISOString(), to: new Date(platform.toMs).toISOString() },
      overall_system_health: overallHealth(rows.map((r) => r.status)),
      degraded: [...new Set([...extraDegraded, ...platform.degraded])],
      ...(wants('system') ? { system_overview: systemOverview(stats, platform.availability.filter((a) => wanted.has(a.service))) } : {}),
      ...(wants('services') ? { service_health: rows } : {}),
      ...(wants('business') ? { business_metrics: businessTiles(stats, predictions, activeStrategies(states.map((s) => s.snapshot))) } : {}),
      ...(wants('slo') ? { slo: platform.slo.filter((s) => wanted.has(s.service)).map(sloRow) } : {}),
      ...(wants('alerts') ? { alerts: dashboardAlerts(states.flatMap((s) => s.alerts)).map((a) => ({ ...a, workflow_url: workflowUrl(a.workflow_id) })) } : {}),
      temporal_ui: ui,
    };
    return JSON.stringify({ dashboard_data: data });
  }

  return async (app) => {
    readRoute<{ type?: DashboardSection; from?: string; to?: string }>(
      app,
      '/api/v1/public/monitoring/dashboard',
      {
        access: 'public',
        description: "The seed's dashboard_data for the caller's services: overall health, overview tiles, per-service health, business tiles and active alerts.",
        querystring: DashboardQuery,
        response: DashboardSchema,
      },
      async (request, reply) => {
        const nowMs = Date.now();
        const { fromMs, toMs } = range(request.query, nowMs, 5 * 60_000);
        const section = request.query.type ?? 'all';
        const degraded: string[] = [];
        const all = await reporting(degraded, request.log);
        const services = scopeOf(request, all);
        // Relative windows ("the last 5 minutes") are shared between callers; explicit ones by their bounds.
        const relative = request.query.to === undefined || request.query.to.startsWith('now');
        const window = relative ? `${request.query.from ?? ''}|${request.query.to ?? ''}` : `${fromMs}|${toMs}`;
        const body = await answers.get(['dashboard', services.join(','), section, window, degraded.join(',')].join('\u0000'), async () => {
          // Viewers' services that never reported are read too (they show as unknown), all others once for everyone.
          const readable = [...new Set([...all, ...services])].sort();
          const platform = await platforms.get([readable.join(','), window].join('\u0000'), () => readPlatform(readable, [], fromMs, toMs, nowMs, request.log));
          return dashboardOf(platform, services, section, degraded);
        });
        return reply.type('application/json; charset=utf-8').send(body);
      },
    );

    readRoute<{ service?: string; metric?: string; from?: string; to?: string; step?: number; stats?: string }>(
      app,
      '/api/v1/public/monitoring/performance',
      {
        access: 'public',
        description: "Time series of the chosen metrics for the caller's services, in columns: raw samples up to 2 h, the 1-minute rollup up to 7 days, the 1-hour rollup beyond.",
        querystring: PerformanceQuery,
        response: PerformanceSchema,
      },
      async (request, reply) => {
        const nowMs = Date.now();
        const { fromMs, toMs } = range(request.query, nowMs, 3_600_000);
        const asked = listParam(request.query.service, 'service');
        for (const service of asked ?? []) assertServiceScope(request, service);
        const metrics = listParam(request.query.metric, 'metric', new RegExp(METRIC_NAME), 20) ?? DEFAULT_METRICS;
        const stats = (listParam(request.query.stats, 'stats', /^(avg|min|max|p95)$/, 4) ?? ['avg']).sort() as Array<'avg' | 'min' | 'max' | 'p95'>;
        const resolution = pickResolution(fromMs, toMs, request.query.step);
        const all = await reporting([], request.log);
        const services = (asked ?? scopeOf(request, all)).sort();
        // Shared by callers asking the same metrics in the same step-aligned window.
        const window = [resolution.source, resolution.stepSeconds, Math.floor(fromMs / 1000 / resolution.stepSeconds), Math.floor(toMs / 1000 / resolution.stepSeconds)].join('|');
        const body = await answers.get(['performance', services.join(','), metrics.join(','), stats.join(','), window].join('\u0000'), async () => {
          const readable = [...new Set([...all, ...services])].sort();
          const { series } = await seriesOfAll.get([readable.join(','), metrics.join(','), window].join('\u0000'), () =>
            gate
              .run((signal) => telemetry.timed('clickhouse', 'series', () => queries.series(readable, metrics, fromMs, toMs, resolution, signal)))
              .then((found) => ({ services: readable, series: found }))
              .catch((err: unknown) => {
                throw storageReadError(err, request.log, 'performance');
              }),
          );
          const wanted = new Set(services);
          return JSON.stringify({
            from: new Date(fromMs).toISOString(),
            to: new Date(toMs).toISOString(),
            resolution: resolution.source,
            step_seconds: resolution.stepSeconds,
            series: series.filter((s) => wanted.has(s.service)).map((s) => ({ service: s.service, metric: s.metric, t: s.t, ...Object.fromEntries(stats.map((k) => [k, s[k]])) })),
          });
        });
        return reply.type('application/json; charset=utf-8').send(body);
      },
    );

    readRoute(
      app,
      '/api/v1/admin/monitoring/overview',
      {
        access: 'admin',
        description: 'The whole platform at a glance: services by status, active alerts by severity and state, table sizes, ingest and query load.',
        response: OverviewSchema,
        errors: [401, 403, 429, 503],
      },
      async (request) => {
        const nowMs = Date.now();
        const degraded: string[] = [];
        const services = await reporting(degraded, request.log);
        const states = await readStates(services, nowMs).catch((err: unknown) => {
          request.log.warn({ err }, 'realtime cache read failed');
          degraded.push('realtime_cache');
          return [] as ServiceState[];
        });
        const storage = await gate
          .run((signal) => telemetry.timed('clickhouse', 'table_sizes', () => queries.tableSizes(signal)))
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
