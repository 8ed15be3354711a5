/**
 * The business intelligence tracker's arithmetic: trading KPIs per period from business events (counted) and
 * business metrics (gauges), strategy effectiveness per `strategy`, and usage and revenue per API tier. Pure: the
 * activity (store/business.ts) reads the sums, this shapes them.
 *
 * Event conventions (POST /api/v1/internal/monitoring/events):
 * - `prediction`: attributes `strategy`, `success` (true/false), `confidence` (0–1);
 * - `trade`: attributes `strategy`, `symbol`, `profit` (P&L), `volume` (notional, the event's value);
 * - `api_request`: attribute `tier` (free, basic, premium, enterprise, …); revenue is requests × the tier's price.
 * Business metrics (`business_metrics` samples) are gauges as the services report them: a period's KPI is their
 * mean for ratios and their peak for counts; a KPI the period's events can count is taken from the events.
 */
import { parse as parseYaml } from 'yaml';
import { isRecord } from './guards';

export const GRANULARITIES = ['hour', 'day', 'week'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** EventSums are one period's sums of the business events (per strategy or all together). */
export interface EventSums {
  predictions: number;
  successfulPredictions: number;
  confidenceSum: number;
  confidenceCount: number;
  trades: number;
  profitableTrades: number;
  profitSum: number;
  volume: number;
  symbols: number;
  users: number;
}

/** MetricGauges are one period's business-metric gauges (null when not reported). */
export type MetricGauges = Partial<Record<
  | 'prediction_accuracy'
  | 'average_confidence_score'
  | 'profitable_trades_percent'
  | 'average_profit_per_trade'
  | 'active_users'
  | 'predictions_generated'
  | 'successful_trades'
  | 'total_trading_volume'
  | 'unique_symbols_traded',
  number
>>;

export interface Kpis {
  prediction_accuracy: number | null;
  average_confidence: number | null;
  successful_trades_percent: number | null;
  profitable_trades_percent: number | null;
  average_profit_per_trade: number | null;
  predictions: number | null;
  trades: number | null;
  successful_trades: number | null;
  trading_volume: number | null;
  unique_symbols: number | null;
  active_users: number | null;
}

const ratio = (part: number, whole: number, scale = 1) => (whole > 0 ? Math.round((scale * part * 10_000) / whole) / 10_000 : null);
const rounded = (v: number | undefined | null) => (v === undefined || v === null ? null : Math.round(v * 10_000) / 10_000);

/** kpis combines a period's event sums (when it has events) with its metric gauges. */
export function kpis(events: EventSums | undefined, gauges: MetricGauges): Kpis {
  const e = events;
  const predicted = e && e.predictions > 0;
  const traded = e && e.trades > 0;
  return {
    prediction_accuracy: predicted ? ratio(e.successfulPredictions, e.predictions) : rounded(gauges.prediction_accuracy),
    average_confidence: e && e.confidenceCount > 0 ? ratio(e.confidenceSum, e.confidenceCount) : rounded(gauges.average_confidence_score),
    // A successful trade is a profitable one in the seed's metrics (successful_trades); the share is of all trades.
    // The gauges count successful trades but not all trades: the share needs the events.
    successful_trades_percent: traded ? ratio(e.profitableTrades, e.trades, 100) : null,
    profitable_trades_percent: traded ? ratio(e.profitableTrades, e.trades, 100) : rounded(gauges.profitable_trades_percent),
    average_profit_per_trade: traded ? ratio(e.profitSum, e.trades) : rounded(gauges.average_profit_per_trade),
    predictions: predicted ? e.predictions : rounded(gauges.predictions_generated),
    trades: traded ? e.trades : null,
    successful_trades: traded ? e.profitableTrades : rounded(gauges.successful_trades),
    trading_volume: traded ? rounded(e.volume) : rounded(gauges.total_trading_volume),
    unique_symbols: traded ? e.symbols : rounded(gauges.unique_symbols_traded),
    active_users: e && e.users > 0 ? e.users : rounded(gauges.active_users),
  };
}

/** StrategyEffectiveness is one strategy's record over a period. */
export interface StrategyEffectiveness {
  strategy: string;
  predictions: number;
  success_rate: number | null;
  trades: number;
  profitable_trades_percent: number | null;
  total_profit: number;
  average_profit_per_trade: number | null;
}

export function strategyEffectiveness(strategy: string, e: EventSums): StrategyEffectiveness {
  return {
    strategy,
    predictions: e.predictions,
    success_rate: ratio(e.successfulPredictions, e.predictions),
    trades: e.trades,
    profitable_trades_percent: ratio(e.profitableTrades, e.trades, 100),
    total_profit: Math.round(e.profitSum * 100) / 100,
    average_profit_per_trade: ratio(e.profitSum, e.trades),
  };
}

/** TierPrices are the price of one API request per tier (config/business.yaml `api_tiers`). */
export type TierPrices = Record<string, number>;

/** parseTierPrices reads config/business.yaml: `api_tiers: {tier: price per request}`. */
export function parseTierPrices(text: string, source = 'business.yaml'): TierPrices {
  const doc = parseYaml(text) as unknown;
  if (!isRecord(doc) || !isRecord(doc.api_tiers)) throw new Error(`${source}:api_tiers: expected a map of tier to price per request`);
  const prices: TierPrices = {};
  for (const [tier, price] of Object.entries(doc.api_tiers)) {
    if (typeof price !== 'number' || !(price >= 0)) throw new Error(`${source}:api_tiers.${tier}: expected a price ≥ 0`);
    prices[tier] = price;
  }
  return prices;
}

/** TierUsage is one tier's requests over a period (counted events, and the mean of the reported gauge) and revenue. */
export interface TierUsage {
  tier: string;
  requests: number;
  reported_usage: number | null;
  revenue: number | null;
}

export function tierUsage(tier: string, requests: number, reported: number | undefined, prices: TierPrices): TierUsage {
  const price = prices[tier];
  return { tier, requests, reported_usage: rounded(reported), revenue: price === undefined ? null : rounded(requests * price) };
}

/** periodStartSql is the ClickHouse expression of a period's start for a DateTime or DateTime64 column. */
export function periodStartSql(granularity: Granularity, column: string): string {
  return granularity === 'hour' ? `toStartOfHour(${column})` : granularity === 'day' ? `toStartOfDay(${column})` : `toDateTime(toMonday(${column}))`;
}
