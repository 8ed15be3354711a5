/**
 * Alert history (issue 20): GET /api/v1/admin/monitoring/alerts/history lists the alerts that fired in a range —
 * each with when it was acknowledged (by whom) and resolved (how), and how long each took — with the aggregates of
 * all of them: MTTA and MTTR per service and severity, the noisiest rules, alerts per week. Read from alert_history
 * (store/alert-history.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { SEVERITIES } from '../../core/types';
import { createAlertHistoryStore } from '../../store/alert-history';
import type { AppDeps } from '../deps';
import { readRoute, readStorage, timeRange } from '../schemas';

const Seconds = Type.Union([Type.Number(), Type.Null()]);
const ResponseTimes = {
  alerts: Type.Integer(),
  acknowledged: Type.Integer(),
  resolved: Type.Integer(),
  mtta_s: Type.Union([Type.Number(), Type.Null()], { description: 'mean time from firing to acknowledgement of the acknowledged alerts' }),
  mttr_s: Type.Union([Type.Number(), Type.Null()], { description: 'mean time from firing to resolution of the resolved alerts' }),
};
const Time = Type.Union([Type.String(), Type.Null()]);

const AlertRecordSchema = Type.Object({
  alert_id: Type.String(),
  rule: Type.String(),
  service: Type.String(),
  instance: Type.String(),
  severity: Type.String(),
  metric: Type.String(),
  threshold: Type.Number(),
  value: Type.Number({ description: 'the value that fired it' }),
  status: Type.String({ description: 'firing, acknowledged or resolved (as of now)' }),
  fired_at: Type.String(),
  acknowledged_at: Time,
  acknowledged_by: Type.String(),
  resolved_at: Time,
  resolution: Type.String(),
  time_to_acknowledge_s: Seconds,
  time_to_resolve_s: Seconds,
  workflow_id: Type.String(),
});

const SummarySchema = Type.Object({
  ...ResponseTimes,
  by_service_severity: Type.Array(Type.Object({ service: Type.String(), severity: Type.String(), ...ResponseTimes })),
  noisiest_rules: Type.Array(Type.Object({ rule: Type.String(), alerts: Type.Integer(), services: Type.Integer(), firing_s: Type.Number({ description: 'time spent firing, summed over its alerts' }) })),
  per_week: Type.Array(Type.Object({ week: Type.String({ description: 'the Monday (UTC) the week starts on' }), alerts: Type.Integer() })),
});

/** DEFAULT_RANGE_MS: without `from`, the last 30 days. */
const DEFAULT_RANGE_MS = 30 * 86_400_000;

type Query = { service?: string; severity?: string; rule?: string; from?: string; to?: string; limit?: number };

export function alertHistoryRoutes(deps: AppDeps): FastifyPluginAsync {
  const store = createAlertHistoryStore({ clickhouse: deps.clickhouse, database: deps.config.clickhouse.database });
  return async (app) => {
    readRoute<Query>(
      app,
      '/api/v1/admin/monitoring/alerts/history',
      {
        access: 'admin',
        description: 'The alerts that fired in the range (newest first, at most `limit`), each with its acknowledgement and resolution, and the aggregates of all of them: MTTA/MTTR per service and severity, noisiest rules, alerts per week.',
        querystring: Type.Object({
          service: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          severity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)))),
          rule: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          from: Type.Optional(Type.String({ description: 'ISO-8601, epoch milliseconds or now-<n>(s|m|h|d); default 30 days before `to`' })),
          to: Type.Optional(Type.String({ description: 'ISO-8601, epoch milliseconds or now[-<n>(s|m|h|d)]; default now' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: Type.Object({ from: Type.String(), to: Type.String(), alerts: Type.Array(AlertRecordSchema), summary: SummarySchema }),
      },
      async (request) => {
        const { fromMs, toMs } = timeRange(request.query, Date.now(), DEFAULT_RANGE_MS);
        const { service, severity, rule } = request.query;
        const filter = { fromMs, toMs, ...(service ? { services: [service] } : {}), ...(severity ? { severity } : {}), ...(rule ? { rule } : {}) };
        const [alerts, summary] = await readStorage(deps, request.log, 'alert_history', 'alert history', (signal) =>
          Promise.all([store.alerts(filter, request.query.limit ?? 100, signal), store.summary(filter, signal)]),
        );
        return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), alerts, summary };
      },
    );
  };
}
