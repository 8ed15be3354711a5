import { Histogram, Registry } from 'prom-client';

/**
 * Telemetry holds the API's own Prometheus registry (served at /metrics) and times its calls to ClickHouse, Redis
 * and Temporal: `monitoring_dependency_call_seconds{dependency, operation, outcome}`, outcome `ok` or `error`.
 */
export class Telemetry {
  readonly registry = new Registry();
  private readonly calls = new Histogram({
    name: 'monitoring_dependency_call_seconds',
    help: "Latency of the API's calls to ClickHouse, Redis and Temporal, by operation and outcome",
    labelNames: ['dependency', 'operation', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** timed runs one call and records its latency and outcome. */
  async timed<T>(dependency: 'clickhouse' | 'redis' | 'temporal', operation: string, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.calls.observe({ dependency, operation, outcome: 'ok' }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      this.calls.observe({ dependency, operation, outcome: 'error' }, (performance.now() - started) / 1000);
      throw err;
    }
  }
}
