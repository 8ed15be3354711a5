import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { CAPACITY_RESOURCES, CAPACITY_SAFETY_MARGIN, forecastResources } from '../../core/capacity';
import type { AppDeps } from '../deps';
import { readRoute, listParam, Nullable, readStorage } from '../schemas';

const CapacityQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services (default: every reporting service)' })),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'forecast horizon in days (default 30)' })),
  },
  { additionalProperties: false },
);
const Recommendation = Type.Object(
  {
    type: Type.Union([Type.Literal('NoAction'), Type.Literal('ScaleUp'), Type.Literal('ScaleDown')]),
    reason: Type.String(),
    factor: Type.Optional(Type.Number()),
    urgency: Type.Optional(Type.String()),
    savings_potential: Type.Optional(Type.Number()),
  },
);
const CapacitySchema = Type.Object({
  generated_at: Type.String(),
  forecast_days: Type.Integer(),
  safety_margin: Type.Number(),
  services: Type.Array(
    Type.Object({
      service_name: Type.String(),
      resources: Type.Array(
        Type.Object({
          resource: Type.String(),
          metric: Type.String(),
          threshold: Nullable(Type.Number()),
          forecast: Nullable(
            Type.Object({
              predicted_usage: Type.Number(),
              recommended_capacity: Type.Number(),
              confidence_interval: Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }),
              scaling_recommendation: Recommendation,
              model: Type.String(),
              holdout_rmse: Type.Record(Type.String(), Type.Number()),
              days_until_threshold: Nullable(Type.Number()),
              points: Type.Integer(),
            }),
          ),
          note: Type.Optional(Type.String()),
        }),
      ),
    }),
  ),
});

/**
 * capacityRoutes serves GET /api/v1/admin/monitoring/capacity: the seed's CapacityForecast per service and resource,
 * computed on request from the last 30 days of hourly averages (the daily capacityPlanWorkflow stores the same).
 */
export function capacityRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    readRoute<{ service?: string; days?: number }>(
      app,
      '/api/v1/admin/monitoring/capacity',
      {
        access: 'admin',
        description: "The seed's CapacityForecast per service and resource (CPU, memory, disk, request rate): predicted usage `days` ahead, recommended capacity with a 20 % margin, a 95 % prediction interval, the growth model chosen on held-out points, days until the limit, and whether to scale.",
        querystring: CapacityQuery,
        response: CapacitySchema,
      },
      async (request) => {
        const nowMs = Date.now();
        const days = request.query.days ?? 30;
        const services =
          listParam(request.query.service, 'service') ??
          (await deps.telemetry.timed('redis', 'known_services', () => deps.redisStore.knownServices()).catch((err: unknown) => {
            // Without the cache, no service is known: an empty plan (name them with ?service=).
            request.log.warn({ err }, 'known services read failed');
            return [] as string[];
          }));
        const metrics = CAPACITY_RESOURCES.map((r) => r.metric);
        const history = await readStorage(deps, request.log, 'capacity_history', 'capacity history', (signal) => deps.dashboardQueries.history(services, metrics, nowMs, 30, signal));
        return {
          generated_at: new Date(nowMs).toISOString(),
          forecast_days: days,
          safety_margin: CAPACITY_SAFETY_MARGIN,
          services: services.map((service) => ({
            service_name: service,
            resources: forecastResources((metric) => history.get(`${service}\u0000${metric}`) ?? [], nowMs, days),
          })),
        };
      },
    );

  };
}
