/**
 * The RED metrics of traced services (core/otlp-traces.ts): the `span-metrics` Schedule runs deriveSpanMetrics
 * every 15 s; it computes every window from the last one stored (at most RED_CATCHUP_MS back, so a worker outage
 * leaves no gap shorter than that) to RED_LAG_MS ago, and writes each window once (store/spans.ts).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { log } from '@temporalio/activity';
import type Redis from 'ioredis';
import { redWindows } from '../core/otlp-traces';
import { createSpanStore } from '../store/spans';
import { createRedisStore } from '../store/redis';

/** RED_CATCHUP_MS is how far back a run looks for windows not yet computed (after a worker outage). */
export const RED_CATCHUP_MS = 3_600_000;

export function createTraceActivities({ clickhouse, database, redis, realtimeTtlSeconds }: { clickhouse: ClickHouseClient; database: string; redis: Redis; realtimeTtlSeconds: number }) {
  const spans = createSpanStore({ clickhouse, database });
  const realtime = createRedisStore({ redis, realtimeTtlSeconds });
  return {
    /** deriveSpanMetrics writes the RED samples of every window due at `nowMs`; returns the windows' range and the samples written. */
    async deriveSpanMetrics({ nowMs }: { nowMs: number }): Promise<{ fromMs?: number; toMs?: number; samples: number }> {
      const earliest = nowMs - RED_CATCHUP_MS;
      const due = redWindows(await spans.lastRedWindow(earliest), nowMs, earliest);
      if (!due) return { samples: 0 };
      const written = await spans.writeRedWindows(await spans.redAggregates(due.fromMs, due.toMs), due.fromMs);
      // The realtime cache shows the newest window (best effort: the samples are stored).
      const newest = written.reduce((max, s) => Math.max(max, s.timestampMs), 0);
      await realtime.writeRealtime(written.filter((s) => s.timestampMs === newest), nowMs).catch((err: unknown) => log.warn('realtime cache write failed', { err: String(err) }));
      return { fromMs: due.fromMs, toMs: due.toMs, samples: written.length };
    },
  };
}
