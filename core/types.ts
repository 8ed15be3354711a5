/** The seed's data shapes and the module's own domain types, defined once. */

/** Labels is a flat set of string label pairs, as on a Prometheus series. */
export type Labels = Record<string, string>;

/** Sample is one measured value of one metric of one service at one time: a row of performance_events. */
export interface Sample {
  /** Milliseconds since the epoch. */
  timestampMs: number;
  service: string;
  instance: string;
  name: string;
  value: number;
  labels: Labels;
}

/** SystemMetrics is the seed's `system_metrics` envelope. */
export interface SystemMetrics {
  timestamp: string;
  service_name: string;
  instance_id?: string;
  metrics: Record<string, number>;
  jvm_metrics?: Record<string, number>;
}

/** ApplicationMetrics is the seed's `application_metrics` envelope. */
export interface ApplicationMetrics {
  timestamp: string;
  service_name: string;
  instance_id?: string;
  metrics: Record<string, number>;
}

/** BusinessMetrics is the seed's `business_metrics` envelope; maps of numbers (api_usage_by_tier) become labelled series. */
export interface BusinessMetrics {
  timestamp: string;
  service_name?: string;
  metrics: Record<string, number | Record<string, number>>;
}

/** DatabaseMetrics is the seed's `database_metrics` envelope. */
export interface DatabaseMetrics {
  timestamp: string;
  database_type: string;
  instance: string;
  metrics: Record<string, number | Record<string, number>>;
}

/** HealthStatus is a service's state as the seed's dashboard names it. */
export type HealthStatus = 'healthy' | 'warning' | 'critical' | 'unknown';

/** Severity orders alerts; the seed uses info, warning and critical. */
export type Severity = 'info' | 'warning' | 'critical';

/** SEVERITIES lists the severities from least to most urgent. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** RealtimeSnapshot is the seed's `metrics:realtime:{service}` value, with every latest metric beside the named ones. */
export interface RealtimeSnapshot {
  cpu_usage: number | null;
  memory_usage: number | null;
  response_time_p95: number | null;
  error_rate: number | null;
  last_updated: string;
  ttl: number;
  /** The service's values: its own series and its instances' combined (core/realtime.ts aggregationOf). */
  metrics: Record<string, number>;
  /** Each instance that reported within the cache TTL, with its own values. */
  instances: Array<{ instance: string; metrics: Record<string, number>; last_updated: string }>;
}

/** ActiveAlert is one entry of the seed's `alerts:active:{service}` list, with the workflow that owns it. */
export interface ActiveAlert {
  alert_id: string;
  fingerprint: string;
  rule: string;
  severity: Severity;
  status: 'pending' | 'firing' | 'acknowledged';
  service: string;
  instance: string;
  metric: string;
  threshold: number;
  current_value: number;
  duration: number;
  started_at: string;
  last_evaluation: string;
  summary: string;
  workflow_id: string;
  /** The alert's labels (with alertname and severity), for inhibition and silences. */
  labels?: Labels;
  acknowledged_by?: string;
}

/**
 * TASK_PRIORITY orders Temporal's backlogged tasks (priority keys 1–5, lower first; the server's default is 3): the
 * jobs that open alerts (rule evaluation, the anomaly scan, the SLO check) first, then each alert's work by its
 * severity — so a storm of ten thousand warning alerts escalating at once never holds back the next evaluation or a
 * new critical page. Needs the server's priority matcher (`matching.useNewMatcher`, set by scripts/services.sh).
 */
export const TASK_PRIORITY = { evaluation: 1, critical: 2, warning: 3, info: 4 } as const satisfies Record<'evaluation' | Severity, number>;
