/** The request and response schemas of the dashboard routes (api/routes/dashboard.ts), as OpenAPI describes them. */
import { Type } from '@sinclair/typebox';
import { DASHBOARD_SECTIONS } from '../../core/dashboard';
import { Nullable } from '../schemas';

const HealthStatus = Type.Union([Type.Literal('healthy'), Type.Literal('warning'), Type.Literal('critical'), Type.Literal('unknown')]);
const NullableNumber = Nullable(Type.Number());

export const DashboardSchema = Type.Object({
  dashboard_data: Type.Object({
    timestamp: Type.String(),
    window: Type.Object({ from: Type.String(), to: Type.String() }),
    overall_system_health: HealthStatus,
    degraded: Type.Array(Type.String(), { description: 'data sources that could not be read (realtime_cache, storage); their parts are empty or null' }),
    system_overview: Type.Optional(
      Type.Object({
        total_requests_per_minute: NullableNumber,
        average_response_time_ms: NullableNumber,
        error_rate_percent: NullableNumber,
        active_users: NullableNumber,
        system_uptime_percent: Nullable(Type.Number({ description: 'availability over the last 24 h: each service’s good events (requests without error, else successful scrapes, else minutes reporting) since it first reported, averaged over services' })),
        availability_basis: Type.String({ description: 'what system_uptime_percent counts, in words' }),
      }),
    ),
    service_health: Type.Optional(
      Type.Array(
        Type.Object({
          service_name: Type.String(),
          status: HealthStatus,
          cpu_usage: NullableNumber,
          memory_usage: NullableNumber,
          response_time_p95: NullableNumber,
          error_rate: NullableNumber,
          instances: Type.Integer(),
          healthy_instances: Type.Integer(),
          reasons: Type.Array(Type.String()),
        }),
      ),
    ),
    slo: Type.Optional(
      Type.Array(
        Type.Object({
          service_name: Type.String(),
          availability_7d: NullableNumber,
          availability_30d: NullableNumber,
          latency_7d: NullableNumber,
          latency_30d: NullableNumber,
          errors_7d: NullableNumber,
          errors_30d: NullableNumber,
          objectives: Type.Object({ availability: Type.Number(), latency: Type.Number(), latency_threshold_ms: Type.Number(), errors: Type.Number() }),
          error_budget_remaining: NullableNumber,
          burn_rate_1h: NullableNumber,
          burn_rate_6h: NullableNumber,
          fast_burn: Type.Boolean(),
          slow_burn: Type.Boolean(),
        }),
        { description: 'the SLO check of the last minute: compliance in % over 7 and 30 days, error budget left in %, burn rates' },
      ),
    ),
    business_metrics: Type.Optional(
      Type.Object({
        prediction_accuracy: NullableNumber,
        daily_predictions: NullableNumber,
        active_strategies: NullableNumber,
        profitable_trades_percent: NullableNumber,
      }),
    ),
    alerts: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String(),
          severity: Type.String(),
          service: Type.String(),
          message: Type.String(),
          timestamp: Type.String(),
          status: Type.String(),
          current_value: Type.Number(),
          threshold: Type.Number(),
          workflow_id: Type.String(),
          workflow_url: Type.String(),
          acknowledged_by: Type.Optional(Type.String()),
        }),
      ),
    ),
    temporal_ui: Type.String({ description: 'the Temporal Web UI of the namespace: every alert and scheduled job' }),
  }),
});

const TimeParam = Type.String({ maxLength: 40, description: 'ISO-8601 time, epoch milliseconds, or now / now-15m (s, m, h, d)' });
export const DashboardQuery = Type.Object(
  {
    type: Type.Optional(Type.Union(DASHBOARD_SECTIONS.map((s) => Type.Literal(s)), { description: 'the sections to include (default all)' })),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
  },
  { additionalProperties: false },
);

export const METRIC_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
export const PerformanceQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated services (default: every service of the key)' })),
    metric: Type.Optional(Type.String({ maxLength: 2000, description: 'comma-separated metric names (default: CPU, memory, p95, error rate, request rate)' })),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    step: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'bucket width in seconds (widened to keep at most 720 points)' })),
    stats: Type.Optional(Type.String({ maxLength: 40, description: 'comma-separated columns among avg, min, max, p95 (default avg)' })),
  },
  { additionalProperties: false },
);
export const PerformanceSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  resolution: Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')]),
  step_seconds: Type.Integer(),
  series: Type.Array(
    Type.Object({
      service: Type.String(),
      metric: Type.String(),
      t: Type.Array(Type.Integer(), { description: 'bucket starts, seconds since the epoch' }),
      avg: Type.Optional(Type.Array(Type.Number())),
      min: Type.Optional(Type.Array(Type.Number())),
      max: Type.Optional(Type.Array(Type.Number())),
      p95: Type.Optional(Type.Array(Type.Number())),
    }),
  ),
});

export const OverviewSchema = Type.Object({
  timestamp: Type.String(),
  overall_system_health: HealthStatus,
  services: Type.Object({ total: Type.Integer(), by_status: Type.Record(Type.String(), Type.Integer()) }),
  alerts: Type.Object({ total: Type.Integer(), by_severity: Type.Record(Type.String(), Type.Integer()), by_status: Type.Record(Type.String(), Type.Integer()) }),
  storage: Type.Array(Type.Object({ table: Type.String(), rows: Type.Number(), bytes: Type.Number() })),
  ingest: Type.Object({ queued_rows: Type.Integer(), batches: Type.Integer(), rows: Type.Integer(), failed_batches: Type.Integer() }),
  queries: Type.Object({ in_flight: Type.Integer(), queued: Type.Integer(), refused: Type.Integer(), timed_out: Type.Integer(), max_concurrent: Type.Integer(), timeout_ms: Type.Integer() }),
  degraded: Type.Array(Type.String()),
  temporal_ui: Type.String(),
});
