import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import { createEvaluationTickStore } from '../../store/evaluation-ticks';
import { countedFrom, gaugedFrom } from '../../store/process-metrics';
import { redisKeys } from '../../store/redis';
import { EVALUATE_RULES_SCHEDULE_PREFIX } from '../../store/schedules';
import type { AppDeps } from '../deps';

/**
 * selfMetricsRoutes serves GET /metrics, the module's own Prometheus metrics: request rate and latency per route,
 * the ingest queue and its batches, the read queries (running, waiting, refused, timed out), the latency and errors
 * of every ClickHouse, Redis and Temporal call (Telemetry), the workers' notifications sent and failed (from
 * Redis), plus Node's process metrics. The scraper scrapes it like any target.
 */
export function selfMetricsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const { registry } = deps.telemetry;
    collectDefaultMetrics({ register: registry });
    const requests = new Histogram({
      name: 'monitoring_http_request_duration_seconds',
      help: 'API request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    gaugedFrom(registry, 'monitoring_ingest_queue_rows', 'Accepted samples waiting for their ClickHouse insert', () => deps.writer.queuedRows);
    const counter = (name: string, help: string, read: () => number) => countedFrom(registry, name, help, read);
    counter('monitoring_ingest_rows_total', 'Samples stored in performance_events by this process', () => deps.writer.stats.rows);
    counter('monitoring_ingest_batches_total', 'ClickHouse inserts of samples', () => deps.writer.stats.batches);
    counter('monitoring_ingest_insert_seconds_total', 'Time spent in successful ClickHouse inserts of samples', () => deps.writer.stats.insertSeconds);
    counter('monitoring_ingest_failed_batches_total', 'ClickHouse inserts of samples that failed', () => deps.writer.stats.failedBatches);

    gaugedFrom(registry, 'monitoring_ingest_last_batch_rows', 'Rows of the latest ClickHouse insert of samples (batch size)', () => deps.writer.stats.lastBatchRows);
    new Gauge({
      name: 'monitoring_read_queries',
      help: 'Dashboard and performance reads running and waiting (MONITORING_MAX_CONCURRENT_QUERIES each)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'running' }, deps.queryGate.inFlight);
        this.set({ state: 'waiting' }, deps.queryGate.queued);
      },
    });
    counter('monitoring_read_queries_refused_total', 'Reads answered 503 because the query limit was reached', () => deps.queryGate.stats.refused);
    counter('monitoring_read_queries_timed_out_total', 'Reads answered 503 after MONITORING_QUERY_TIMEOUT', () => deps.queryGate.stats.timedOut);
    // Notifications are sent by the workers; their counts are kept in Redis for the whole deployment.
    new Counter({
      name: 'monitoring_notifications_total',
      help: 'Notification deliveries by channel and outcome (failed: attempts that failed, retries included), all workers',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await deps.redis.hgetall(redisKeys.notificationStats).catch(() => ({}) as Record<string, string>);
        for (const [field, value] of Object.entries(counts)) {
          const [channel, outcome] = field.split(':');
          if (channel && outcome) this.inc({ channel, outcome }, Number(value));
        }
      },
    });

    // Rule evaluation ticks (issue 20): those run, by outcome, as the runs recorded them; those Temporal's schedules
    // did not start, by reason, as Temporal counts them. The page and /api/v1/admin/monitoring/evaluations say which
    // ticks and why.
    const prefix = `${EVALUATE_RULES_SCHEDULE_PREFIX}${deps.config.temporal.taskQueue}/`;
    new Counter({
      name: 'monitoring_rule_evaluation_ticks_total',
      help: 'Scheduled rule group evaluations that ran, by group and outcome (ok, failed), all workers',
      labelNames: ['group', 'outcome'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await createEvaluationTickStore(deps.redis)
          .counts()
          .catch(() => new Map<string, Record<string, number>>());
        for (const [scheduleId, outcomes] of counts) {
          if (!scheduleId.startsWith(prefix)) continue;
          for (const [outcome, n] of Object.entries(outcomes)) this.inc({ group: scheduleId.slice(prefix.length), outcome }, n);
        }
      },
    });
    new Counter({
      name: 'monitoring_rule_evaluation_ticks_missed_total',
      help: "Rule group evaluation ticks Temporal's schedule did not start, by group and reason (overlap: the previous still ran; catchup_window: too late after an outage)",
      labelNames: ['group', 'reason'],
      registers: [registry],
      async collect() {
        this.reset();
        const schedules = (await deps.evaluationHealth?.schedules().catch(() => undefined)) ?? [];
        for (const s of schedules) {
          this.inc({ group: s.group, reason: 'overlap' }, s.facts.skippedOverlap);
          this.inc({ group: s.group, reason: 'catchup_window' }, s.facts.missedCatchupWindow);
        }
      },
    });

    app.addHook('onResponse', async (request, reply) => {
      requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });

    app.get('/metrics', { config: { access: 'internal' } }, async (_request, reply) => {
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });
  };
}
