/**
 * SLO measurement and burn-rate alerting (core/slo.ts): each service's minutes, latency minutes, requests and
 * failed requests over 30 days, 7 days and the burn-rate windows, read in one query from the 1-minute rollup; the
 * `slo-check` Schedule measures every minute, keeps the statuses in Redis for the dashboard, and raises or clears
 * the burn-rate alerts through the alert workflow (dispatchGroup) with the rates in their annotations.
 */
import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { SeriesValue } from '../core/rule-sql';
import { BURN_RULES, FAST_BURN, SLOW_BURN, parseSloDocument, sloOf, sloStatus, type BurnRates, type SloConfig, type SloCounts, type SloStatus } from '../core/slo';
import { createAnalyticsQueries } from '../store/analytics';
import { dispatchGroup, openAlertsOf } from './alerts';

const MINUTE = 60_000;
const WINDOWS = { '30d': 30 * 1440, '7d': 7 * 1440, '6h': 360, '1h': 60, '30m': 30, '5m': 5 } as const;
type WindowName = keyof typeof WINDOWS;

/** SLO_STATUS_KEY holds the latest statuses (JSON by service), written by the check for the dashboard. */
export const SLO_STATUS_KEY = 'slo:status';

export interface SloDeps {
  clickhouse: ClickHouseClient;
  database: string;
  redis: Redis;
  /** Needed by checkSlos only (it raises alerts); the API measures without it. */
  temporal?: Client;
  taskQueue: string;
  sloPath: string;
}

export function createSloActivities(deps: SloDeps) {
  const analytics = createAnalyticsQueries({ clickhouse: deps.clickhouse, database: deps.database });
  const loadSlos = async (): Promise<SloConfig> => parseSloDocument(await readFile(deps.sloPath, 'utf8'), deps.sloPath);

  /** measure returns every service's (or the named ones') status as of `nowMs` (the minute before it, complete). */
  async function measure(nowMs: number, only?: readonly string[]): Promise<SloStatus[]> {
    const slos = await loadSlos();
    const end = Math.floor(nowMs / MINUTE) * MINUTE;
    const rows = await analytics.sloWindowCounts({
      endMs: end,
      windowMinutes: WINDOWS,
      latencyThresholds: Object.entries(slos.services).map(([service, o]) => [service, o.latency.thresholdMs]),
      defaultLatencyThresholdMs: slos.defaults.latency.thresholdMs,
      ...(only ? { services: only } : {}),
    });
    return rows.map((row) => {
      const n = (key: string) => Number(row[key] ?? 0);
      const counts = (w: WindowName): SloCounts => {
        // Minutes since the service first reported in the window (a new service is not down before it existed).
        const first = n(`first_${w}`) * 1000;
        const since = Math.max(end - WINDOWS[w] * MINUTE, first);
        return { minutes: n(`up_${w}`) > 0 ? Math.round((end - since) / MINUTE) : 0, upMinutes: n(`up_${w}`), latencyMinutes: n(`lat_${w}`), fastMinutes: n(`fast_${w}`), requests: n(`req_${w}`), failedRequests: n(`bad_${w}`) };
      };
      const burn = Object.fromEntries((['5m', '30m', '1h', '6h'] as const).map((w) => [w, { requests: n(`req_${w}`), failed: n(`bad_${w}`) }])) as Record<keyof BurnRates, { requests: number; failed: number }>;
      const service = String(row.service);
      return sloStatus(service, sloOf(slos, service), counts('7d'), counts('30d'), burn);
    });
  }

  return {
    measureSlos: async (req: { nowMs: number; services?: string[] }): Promise<SloStatus[]> => measure(req.nowMs, req.services),

    /**
     * checkSlos measures every service, keeps the statuses for the dashboard, and sends each service's burn-rate
     * verdicts to the alert workflows (a fast or slow burn opens its alert; a burn that stopped clears it).
     */
    async checkSlos(req: { nowMs: number }): Promise<{ services: number; fastBurn: number; slowBurn: number }> {
      const statuses = await measure(req.nowMs);
      if (statuses.length > 0) {
        await deps.redis
          .multi()
          .del(SLO_STATUS_KEY)
          .hset(SLO_STATUS_KEY, Object.fromEntries(statuses.map((s) => [s.service, JSON.stringify(s)])))
          .pexpire(SLO_STATUS_KEY, 5 * MINUTE)
          .exec();
      }
      const verdicts = (burning: (s: SloStatus) => boolean, spec: typeof FAST_BURN | typeof SLOW_BURN): SeriesValue[] =>
        statuses.flatMap((s) => {
          const long = s.burnRates[spec.long];
          if (long === null) return [];
          const breaching = burning(s);
          return [{
            service: s.service,
            instance: '',
            labels: {},
            value: long,
            breaching,
            ...(breaching
              ? {
                  annotations: {
                    description: `${s.service} is spending its error budget ${long}× faster than sustainable over ${spec.long} (${s.burnRates[spec.short]}× over ${spec.short}); objective ${s.slo.errors.objective} % of requests without error, ${s.errorBudgetRemaining ?? '—'} % of the 30-day budget left`,
                    burn_rate_long: String(long),
                    burn_rate_short: String(s.burnRates[spec.short]),
                    error_budget_remaining: String(s.errorBudgetRemaining ?? ''),
                  },
                }
              : {}),
          }];
        });
      const perRule = [verdicts((s) => s.fastBurn, FAST_BURN), verdicts((s) => s.slowBurn, SLOW_BURN)];
      const open = await openAlertsOf(deps.redis, BURN_RULES);
      if (!deps.temporal) throw new Error('checkSlos needs a Temporal client');
      await dispatchGroup({ ...deps, temporal: deps.temporal }, BURN_RULES, perRule, { nowMs: req.nowMs, intervalMs: MINUTE, staleAfterMs: 4 * MINUTE }, open);
      return { services: statuses.length, fastBurn: statuses.filter((s) => s.fastBurn).length, slowBurn: statuses.filter((s) => s.slowBurn).length };
    },

    /** latestSloStatus reads the statuses the last check kept (empty when none ran in the last five minutes). */
    async latestSloStatus(): Promise<SloStatus[]> {
      const all = await deps.redis.hgetall(SLO_STATUS_KEY);
      return Object.values(all).map((json) => JSON.parse(json) as SloStatus).sort((a, b) => a.service.localeCompare(b.service));
    },
  };
}
