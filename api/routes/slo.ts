import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../deps';
import { readRoute, listParam, readStorage } from '../schemas';

const SloQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services (default: every service of the last 30 days)' })),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'measure as of this instant (default: now)' })),
  },
  { additionalProperties: false },
);
const Compliance = Type.Object({ measured: Type.Union([Type.Number(), Type.Null()]), objective: Type.Number(), met: Type.Union([Type.Boolean(), Type.Null()]) });
const Window = Type.Object({ availability: Compliance, latency: Compliance, errors: Compliance });
const Rate = Type.Union([Type.Number(), Type.Null()]);
const SloSchema = Type.Object({
  services: Type.Array(
    Type.Object({
      service: Type.String(),
      slo: Type.Object({}, { additionalProperties: true }),
      window7d: Window,
      window30d: Window,
      errorBudgetRemaining: Rate,
      burnRates: Type.Object({ '5m': Rate, '30m': Rate, '1h': Rate, '6h': Rate }),
      fastBurn: Type.Boolean(),
      slowBurn: Type.Boolean(),
    }),
  ),
});

/** sloRoutes serves GET /api/v1/admin/monitoring/slo: every service's SLO compliance, error budget and burn rates. */
export function sloRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    readRoute<{ service?: string; at?: string }>(
      app,
      '/api/v1/admin/monitoring/slo',
      {
        access: 'admin',
        description: 'Each service’s SLO compliance (availability, p95 latency, requests without error) over rolling 7 and 30 days against config/slo.yaml, the 30-day error budget left and the burn rates over 5 min, 30 min, 1 h and 6 h (fast burn: 14.4× over 1 h and 5 min; slow: 6× over 6 h and 30 min).',
        querystring: SloQuery,
        response: SloSchema,
      },
      async (request) => {
        const services = listParam(request.query.service, 'service');
        const nowMs = request.query.at ? Date.parse(request.query.at) : Date.now();
        const statuses = await readStorage(deps, request.log, 'slo', 'SLO measurement', () => deps.slo.measureSlos({ nowMs, ...(services ? { services } : {}) }));
        return { services: statuses };
      },
    );
  };
}
