import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { GRANULARITIES, type Granularity } from '../../core/business';
import { ApiError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { errorResponses, listParam, readStorage } from '../schemas';

const BusinessQuery = Type.Object(
  {
    granularity: Type.Optional(Type.Union(GRANULARITIES.map((g) => Type.Literal(g)), { description: 'period length (default day)' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'default: 7 days before `to`' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'default: now' })),
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services (default: all)' })),
  },
  { additionalProperties: false },
);
const N = Type.Union([Type.Number(), Type.Null()]);
const BusinessSchema = Type.Object({
  granularity: Type.String(),
  periods: Type.Array(
    Type.Object({
      start: Type.String(),
      kpis: Type.Object({
        prediction_accuracy: N,
        average_confidence: N,
        successful_trades_percent: N,
        profitable_trades_percent: N,
        average_profit_per_trade: N,
        predictions: N,
        trades: N,
        successful_trades: N,
        trading_volume: N,
        unique_symbols: N,
        active_users: N,
      }),
      strategies: Type.Array(
        Type.Object({ strategy: Type.String(), predictions: Type.Number(), success_rate: N, trades: Type.Number(), profitable_trades_percent: N, total_profit: Type.Number(), average_profit_per_trade: N }),
      ),
      api_tiers: Type.Array(Type.Object({ tier: Type.String(), requests: Type.Number(), reported_usage: N, revenue: N })),
    }),
  ),
});

const MAX_PERIODS = 2000;
const PERIOD_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

/** businessRoutes serves GET /api/v1/admin/monitoring/business: trading KPIs, strategy effectiveness and API tiers per period. */
export function businessRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: { granularity?: Granularity; from?: string; to?: string; service?: string } }>(
      '/api/v1/admin/monitoring/business',
      {
        config: { access: 'admin' },
        schema: {
          description:
            'The business intelligence tracker: per hour, day or week, trading KPIs (prediction accuracy, average confidence, successful and profitable trades %, average profit per trade, volume, unique symbols, active users), each strategy’s effectiveness (predictions, success rate, profit) and usage and revenue by API tier.',
          querystring: BusinessQuery,
          response: { 200: BusinessSchema, ...errorResponses(400, 401, 403, 429, 503) },
        },
      },
      async (request) => {
        const granularity = request.query.granularity ?? 'day';
        const toMs = request.query.to ? Date.parse(request.query.to) : Date.now();
        const fromMs = request.query.from ? Date.parse(request.query.from) : toMs - 7 * 86_400_000;
        if (!(fromMs < toMs)) throw new ApiError(400, 'validation_failed', 'from must be before to', 'querystring.from');
        if ((toMs - fromMs) / PERIOD_MS[granularity] > MAX_PERIODS) throw new ApiError(400, 'validation_failed', `more than ${MAX_PERIODS} ${granularity}s; narrow the range or coarsen the granularity`, 'querystring.from');
        const services = listParam(request.query.service, 'service');
        const periods = await readStorage(deps, request.log, 'business', 'business intelligence', () =>
          deps.business.businessIntelligence({ fromMs, toMs, granularity, ...(services ? { services } : {}) }),
        );
        return { granularity, periods };
      },
    );
  };
}
