import type { FastifyPluginAsync } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppDeps } from '../app';

/**
 * selfMetricsRoutes serves GET /metrics, the module's own Prometheus metrics: request rate and latency per route,
 * the ingest queue and its batches, plus Node's process metrics. The scraper scrapes it like any target.
 */
export function selfMetricsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const requests = new Histogram({
      name: 'monitoring_http_request_duration_seconds',
      help: 'API request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    new Gauge({
      name: 'monitoring_ingest_queue_rows',
      help: 'Accepted samples waiting for their ClickHouse insert',
      registers: [registry],
      collect() {
        this.set(deps.writer.queuedRows);
      },
    });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter('monitoring_ingest_rows_total', 'Samples stored in performance_events by this process', () => deps.writer.stats.rows);
    counter('monitoring_ingest_batches_total', 'ClickHouse inserts of samples', () => deps.writer.stats.batches);
    counter('monitoring_ingest_insert_seconds_total', 'Time spent in successful ClickHouse inserts of samples', () => deps.writer.stats.insertSeconds);
    counter('monitoring_ingest_failed_batches_total', 'ClickHouse inserts of samples that failed', () => deps.writer.stats.failedBatches);

    app.addHook('onResponse', async (request, reply) => {
      requests.observe({ method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });

    app.get('/metrics', { config: { access: 'internal' } }, async (_request, reply) => {
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });
  };
}
