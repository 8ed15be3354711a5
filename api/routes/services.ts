import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../../core/errors';
import { serviceHealth } from '../../core/health';
import type { AppDeps } from '../deps';
import { assertServiceScope } from '../plugins/auth';
import { ActiveAlertSchema, errorResponses, Nullable, Realtime, ServiceParams } from '../schemas';

const Health = Type.Object({
  service_name: Type.String(),
  status: Type.Union([Type.Literal('healthy'), Type.Literal('warning'), Type.Literal('critical'), Type.Literal('unknown')]),
  realtime_cache: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  realtime: Nullable(Realtime),
  reasons: Type.Array(
    Type.Object({ rule: Type.String(), severity: Type.String(), metric: Type.String(), value: Type.Number(), threshold: Type.Number(), instance: Type.Optional(Type.String({ description: 'The instance whose value breaches (absent: the service-level value)' })) }),
  ),
  checked_at: Type.String(),
});

const Alerts = Type.Object({ service_name: Type.String(), alerts: Type.Array(ActiveAlertSchema) });

/** serviceRoutes serves a service's health and active alerts from the realtime cache. */
export function serviceRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { service_name: string } }>(
      '/api/v1/internal/monitoring/health/:service_name',
      {
        config: { access: 'internal' },
        schema: { params: ServiceParams, response: { 200: Health, ...errorResponses(400, 401, 403) } },
      },
      async (request) => {
        const service = request.params.service_name;
        assertServiceScope(request, service);
        const checkedAt = new Date().toISOString();
        let snapshot;
        let alerts;
        try {
          [snapshot, alerts] = await Promise.all([deps.redisStore.readRealtime(service), deps.redisStore.listActiveAlerts(service)]);
        } catch (err) {
          request.log.warn({ err }, 'realtime cache read failed');
          return { service_name: service, status: 'unknown', realtime_cache: 'unavailable', realtime: null, reasons: [], checked_at: checkedAt };
        }
        const verdict = serviceHealth(service, snapshot, deps.rules(), alerts);
        return { service_name: service, ...verdict, realtime_cache: 'ok', realtime: snapshot, checked_at: checkedAt };
      },
    );

    app.get<{ Params: { service_name: string } }>(
      '/api/v1/internal/monitoring/alerts/:service_name',
      {
        config: { access: 'internal' },
        schema: { params: ServiceParams, response: { 200: Alerts, ...errorResponses(400, 401, 403, 503) } },
      },
      async (request) => {
        const service = request.params.service_name;
        assertServiceScope(request, service);
        let alerts;
        try {
          alerts = await deps.redisStore.listActiveAlerts(service);
        } catch (err) {
          request.log.warn({ err }, 'active alerts read failed');
          throw new ApiError(503, 'cache_unavailable', 'alert state cache is unavailable; retry later', undefined, 5);
        }
        const ui = deps.config.temporal.uiBaseUrl;
        const namespace = encodeURIComponent(deps.config.temporal.namespace);
        return {
          service_name: service,
          alerts: alerts.map((a) => ({ ...a, workflow_url: `${ui}/namespaces/${namespace}/workflows/${encodeURIComponent(a.workflow_id)}` })),
        };
      },
    );
  };
}
