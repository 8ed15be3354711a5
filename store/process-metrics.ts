import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Prometheus metrics read from a process's own counters when scraped — shared by the API's /metrics and the
 * workers' (workers/observability.ts): the API must not import from workers/, so the helpers live here.
 */

/** countedFrom registers a counter whose value is `read()` at scrape time (a running total the process keeps). */
export function countedFrom(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** gaugedFrom registers a gauge whose value is `read()` at scrape time. */
export function gaugedFrom(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
