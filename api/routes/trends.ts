import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../deps';
import { readRoute, listParam, readStorage } from '../schemas';

const TrendsQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services, `platform` for all together (default: every analysed one)' })),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'the newest analyses at or before this instant, within a week (default: now)' })),
  },
  { additionalProperties: false },
);
const TrendsSchema = Type.Object({
  analyses: Type.Array(
    Type.Object(
      {
        service: Type.String(),
        metric: Type.String(),
        analyzedAt: Type.String(),
        direction: Type.String({ description: "the seed's window compare: last 24 h against the 24 h before, ±10 %" }),
        seasonal: Type.Union([Type.Null(), Type.Object({}, { additionalProperties: true, description: 'trend slope with significance, daily and weekly seasonality, a day of forecast with its 95 % band' })]),
      },
    ),
  ),
});

/** trendRoutes serves GET /api/v1/admin/monitoring/trends: the hourly trend job's newest analyses (of the last week). */
export function trendRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    readRoute<{ service?: string; at?: string }>(
      app,
      '/api/v1/admin/monitoring/trends',
      {
        access: 'admin',
        description: 'The hourly trend job’s newest analysis per service and metric (response time, error rate, throughput, CPU): the seed’s direction, the deseasonalised slope with its p-value, the daily and weekly profiles and their strength, and the next 24 hours forecast with a 95 % band.',
        querystring: TrendsQuery,
        response: TrendsSchema,
      },
      async (request) => {
        const services = listParam(request.query.service, 'service');
        const atMs = request.query.at ? Date.parse(request.query.at) : Date.now();
        const analyses = await readStorage(deps, request.log, 'trends', 'trend analyses', () =>
          deps.trends.latestTrends({ atMs, maxAgeMs: 7 * 86_400_000, ...(services ? { services } : {}) }),
        );
        return { analyses };
      },
    );
  };
}
