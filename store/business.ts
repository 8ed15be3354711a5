/**
 * The business intelligence tracker's reads (core/business.ts): per hour, day or week, the business events' sums
 * (all together, per strategy, per API tier) from business_events and the business metrics' gauges from the
 * hourly rollup (the tier gauge, which has a label, from the raw samples), assembled into KPIs, strategy
 * effectiveness and tier usage with revenue.
 */
import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { kpis, parseTierPrices, periodStartSql, strategyEffectiveness, tierUsage, type EventSums, type Granularity, type Kpis, type MetricGauges, type StrategyEffectiveness, type TierUsage } from '../core/business';
import { sqlIdentifier } from '../core/escape';

export interface BusinessPeriod {
  start: string;
  kpis: Kpis;
  strategies: StrategyEffectiveness[];
  api_tiers: TierUsage[];
}

const GAUGE_MAX = ['active_users', 'predictions_generated', 'successful_trades', 'total_trading_volume', 'unique_symbols_traded'];
const GAUGE_MEAN = ['prediction_accuracy', 'average_confidence_score', 'profitable_trades_percent', 'average_profit_per_trade'];

/** attr reads one of the attributes the tracker knows (fixed names of ours, not caller input). */
const attr = (key: 'success' | 'confidence' | 'profit' | 'symbol' | 'strategy' | 'tier') => `attributes['${key}']`;

export function createBusinessStore({ clickhouse, database, pricesPath }: { clickhouse: ClickHouseClient; database: string; pricesPath: string }) {
  const db = sqlIdentifier(database);
  const rows = async <T>(query: string, params: Record<string, unknown>): Promise<T[]> =>
    (await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })).json<T>();

  return {
    /** businessIntelligence reads the periods of [fromMs, toMs) at a granularity, for some services or all. */
    async businessIntelligence(req: { fromMs: number; toMs: number; granularity: Granularity; services?: readonly string[] }): Promise<BusinessPeriod[]> {
      const prices = parseTierPrices(await readFile(pricesPath, 'utf8'), pricesPath);
      const params = { from: Math.floor(req.fromMs / 1000), to: Math.floor(req.toMs / 1000), services: [...(req.services ?? [])], gauges: [...GAUGE_MAX, ...GAUGE_MEAN] };
      const range = (column: string) =>
        `${column} >= toDateTime({from:Int64}, 'UTC') AND ${column} < toDateTime({to:Int64}, 'UTC')` + (req.services ? ' AND service_name IN {services:Array(String)}' : '');
      const sums = `countIf(event_type = 'prediction') AS predictions,
          countIf(event_type = 'prediction' AND lower(${attr('success')}) IN ('true', '1')) AS successful,
          sumIf(toFloat64OrZero(${attr('confidence')}), event_type = 'prediction' AND ${attr('confidence')} != '') AS confidence_sum,
          countIf(event_type = 'prediction' AND ${attr('confidence')} != '') AS confidence_n,
          countIf(event_type = 'trade') AS trades,
          countIf(event_type = 'trade' AND toFloat64OrZero(${attr('profit')}) > 0) AS profitable,
          sumIf(toFloat64OrZero(${attr('profit')}), event_type = 'trade') AS profit,
          sumIf(value, event_type = 'trade') AS volume,
          uniqExactIf(${attr('symbol')}, event_type = 'trade' AND ${attr('symbol')} != '') AS symbols,
          uniqExactIf(user_id, user_id != '') AS users`;
      const period = periodStartSql(req.granularity, 'timestamp');
      type SumRow = Record<'period' | 'predictions' | 'successful' | 'confidence_sum' | 'confidence_n' | 'trades' | 'profitable' | 'profit' | 'volume' | 'symbols' | 'users', string | number> & { strategy?: string; tier?: string };
      const [overall, perStrategy, perTier, gauges, tierGauges] = await Promise.all([
        rows<SumRow>(`SELECT toUInt32(${period}) AS period, ${sums} FROM ${db}.business_events WHERE ${range('timestamp')} GROUP BY period`, params),
        rows<SumRow>(
          `SELECT toUInt32(${period}) AS period, ${attr('strategy')} AS strategy, ${sums} FROM ${db}.business_events
           WHERE ${range('timestamp')} AND ${attr('strategy')} != '' GROUP BY period, strategy ORDER BY period, strategy`,
          params,
        ),
        rows<{ period: number | string; tier: string; requests: number | string }>(
          `SELECT toUInt32(${period}) AS period, ${attr('tier')} AS tier, count() AS requests FROM ${db}.business_events
           WHERE ${range('timestamp')} AND event_type = 'api_request' AND ${attr('tier')} != '' GROUP BY period, tier`,
          params,
        ),
        rows<{ period: number | string; metric: string; mean: number | string; peak: number | string }>(
          `SELECT toUInt32(${periodStartSql(req.granularity, 'bucket')}) AS period, metric_name AS metric, avgMerge(avg_value) AS mean, maxMerge(max_value) AS peak
           FROM ${db}.performance_rollup_1h WHERE metric_name IN {gauges:Array(String)} AND ${range('bucket')}
           GROUP BY period, metric_name`,
          params,
        ),
        rows<{ period: number | string; tier: string; mean: number | string }>(
          `SELECT toUInt32(${period}) AS period, labels['tier'] AS tier, avg(metric_value) AS mean
           FROM ${db}.performance_events WHERE metric_name = 'api_usage_by_tier' AND event_type = 'metric' AND ${range('timestamp')}
           GROUP BY period, tier`,
          params,
        ),
      ]);
      const toSums = (r: SumRow): EventSums => {
        const n = (k: keyof SumRow) => Number(r[k] ?? 0);
        return { predictions: n('predictions'), successfulPredictions: n('successful'), confidenceSum: n('confidence_sum'), confidenceCount: n('confidence_n'), trades: n('trades'), profitableTrades: n('profitable'), profitSum: n('profit'), volume: n('volume'), symbols: n('symbols'), users: n('users') };
      };
      const periods = new Set<number>([...overall, ...gauges, ...perTier, ...tierGauges].map((r) => Number(r.period)));
      return [...periods].sort((a, b) => a - b).map((p) => {
        const events = overall.find((r) => Number(r.period) === p);
        const g: MetricGauges = {};
        for (const r of gauges.filter((x) => Number(x.period) === p)) g[r.metric as keyof MetricGauges] = Number(GAUGE_MAX.includes(r.metric) ? r.peak : r.mean);
        const tiers = new Set([...perTier, ...tierGauges].filter((r) => Number(r.period) === p && r.tier !== '').map((r) => r.tier));
        return {
          start: new Date(p * 1000).toISOString(),
          kpis: kpis(events && toSums(events), g),
          strategies: perStrategy.filter((r) => Number(r.period) === p).map((r) => strategyEffectiveness(String(r.strategy), toSums(r))),
          api_tiers: [...tiers].sort().map((tier) => {
            const counted = perTier.find((r) => Number(r.period) === p && r.tier === tier);
            const reported = tierGauges.find((r) => Number(r.period) === p && r.tier === tier);
            return tierUsage(tier, counted ? Number(counted.requests) : 0, reported ? Number(reported.mean) : undefined, prices);
          }),
        };
      });
    },
  };
}
