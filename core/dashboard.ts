import type { HealthVerdict } from './health';
import type { ActiveAlert, HealthStatus, RealtimeSnapshot } from './types';

/**
 * The dashboard's data in the seed's `dashboard_data` shape, assembled from what the API reads: each service's
 * realtime snapshot, instances and active alerts (Redis), and per-series averages over the window (ClickHouse). Pure.
 */

/** ServiceState is what the realtime cache holds about one service. */
export interface ServiceState {
  service: string;
  snapshot: RealtimeSnapshot | null;
  verdict: HealthVerdict;
  /** When each instance last reported. */
  instances: ReadonlyArray<{ instance: string; lastSeenMs: number }>;
  alerts: readonly ActiveAlert[];
}

/** WindowStat is one series' average and latest value over the dashboard's window (instance '' when rolled up). */
export interface WindowStat {
  service: string;
  metric: string;
  instance: string;
  avg: number;
  last: number;
}

/**
 * AvailabilityBasis is what a service's availability counts: its requests without error (it reports
 * requests_per_second and error_rate_percent), its `up` scrapes (a scraped target), or else its minutes reporting.
 */
export type AvailabilityBasis = 'requests' | 'up' | 'reporting';

/** Availability is a service's good events out of all over the last day, since it first reported in it. */
export interface Availability {
  service: string;
  good: number;
  total: number;
  basis: AvailabilityBasis;
  /** Minutes from its first report in the window to now: the time it was expected. */
  observedMinutes: number;
}

/** AvailabilityMinute is what a service reported in one minute (epoch seconds); null: not reported that minute. */
export interface AvailabilityMinute {
  minute: number;
  rps: number | null;
  errorRate: number | null;
  up: number | null;
}

/**
 * serviceAvailability counts a service's good events over the minutes from its first report to `nowMs`, each
 * minute it did not report at all counting as down (a service that stopped answering stops reporting) — when the
 * platform was being monitored then: a minute in which no service reported (`platformMinutes` lacks it: the
 * monitoring itself was down) says nothing about the service and does not count:
 * - requests: requests without error (rate × 60 × (1 − error %)) out of all requests; a silent minute counts the
 *   service's usual request rate, all failed;
 * - up: the share of successful scrapes (the scraper's `up`), a silent minute as 0;
 * - reporting: minutes with any sample (a heartbeat), for services that report neither.
 * The current minute counts only once it has data. Undefined when the service never reported.
 */
export function serviceAvailability(service: string, minutes: readonly AvailabilityMinute[], nowMs: number, platformMinutes?: ReadonlySet<number>): Availability | undefined {
  if (minutes.length === 0) return undefined;
  const byMinute = new Map(minutes.map((m) => [m.minute, m]));
  const first = Math.min(...minutes.map((m) => m.minute));
  const current = Math.floor(nowMs / 60_000) * 60;
  const observedMinutes = Math.floor((current - first) / 60) + 1;
  const withRequests = minutes.filter((m) => m.rps !== null && m.errorRate !== null && m.rps > 0);
  const basis: AvailabilityBasis = withRequests.length > 0 ? 'requests' : minutes.some((m) => m.up !== null) ? 'up' : 'reporting';
  const usualRate = withRequests.reduce((a, m) => a + m.rps!, 0) / Math.max(1, withRequests.length);
  let good = 0;
  let total = 0;
  for (let m = first; m <= current; m += 60) {
    const row = byMinute.get(m);
    if (!row && (m === current || (platformMinutes !== undefined && !platformMinutes.has(m)))) continue;
    if (basis === 'requests') {
      if (!row) total += usualRate * 60;
      else if (row.rps !== null && row.errorRate !== null) {
        total += row.rps * 60;
        good += row.rps * 60 * (1 - Math.min(100, Math.max(0, row.errorRate)) / 100);
      }
    } else if (basis === 'up') {
      total += 1;
      good += row?.up === null || row?.up === undefined ? 0 : Math.min(1, Math.max(0, row.up));
    } else {
      total += 1;
      if (row) good += 1;
    }
  }
  return { service, good, total, basis, observedMinutes };
}

const BASIS_TEXT: Record<AvailabilityBasis, string> = { requests: 'requests without error', up: 'successful scrapes', reporting: 'minutes reporting' };

/** availabilityBasisText says on the page what the availability tile counts, service by service. */
export function availabilityBasisText(availability: readonly Availability[]): string {
  if (availability.length === 0) return 'no service reported in the last 24 h';
  const counts = new Map<AvailabilityBasis, number>();
  for (const a of availability) counts.set(a.basis, (counts.get(a.basis) ?? 0) + 1);
  const parts = [...counts].map(([basis, n]) => `${BASIS_TEXT[basis]} (${n} service${n === 1 ? '' : 's'})`);
  const shortest = Math.min(...availability.map((a) => a.observedMinutes));
  const span = shortest < 1440 ? `; the newest seen for ${shortest < 120 ? `${shortest} min` : `${Math.floor(shortest / 60)} h`}` : '';
  return `mean over services of ${parts.join(', ')}, since each first reported in the last 24 h${span}`;
}

/** OVERVIEW_METRICS are the metrics the overview and business tiles read over the window. */
export const OVERVIEW_METRICS = [
  'requests_per_second',
  'response_time_p50_ms',
  'error_rate_percent',
  'active_users',
  'prediction_accuracy',
  'profitable_trades_percent',
] as const;

/** DASHBOARD_SECTIONS are the values of the dashboard's `type` parameter; `all` is every section. */
export const DASHBOARD_SECTIONS = ['all', 'system', 'services', 'business', 'slo', 'alerts'] as const;
export type DashboardSection = (typeof DASHBOARD_SECTIONS)[number];

export interface ServiceHealthRow {
  service_name: string;
  status: HealthStatus;
  cpu_usage: number | null;
  memory_usage: number | null;
  response_time_p95: number | null;
  error_rate: number | null;
  instances: number;
  healthy_instances: number;
  /** Why the status is what it is (threshold rules breached now, firing alerts, no recent data). */
  reasons: string[];
}

export interface SystemOverview {
  total_requests_per_minute: number | null;
  average_response_time_ms: number | null;
  error_rate_percent: number | null;
  active_users: number | null;
  /** Availability over the last day: the mean over services of their good events' share (serviceAvailability). */
  system_uptime_percent: number | null;
  /** What that availability counts, for the page. */
  availability_basis: string;
}

export interface BusinessTiles {
  prediction_accuracy: number | null;
  daily_predictions: number | null;
  active_strategies: number | null;
  profitable_trades_percent: number | null;
}

export interface DashboardAlert {
  id: string;
  severity: string;
  service: string;
  message: string;
  timestamp: string;
  status: string;
  current_value: number;
  threshold: number;
  workflow_id: string;
  acknowledged_by?: string;
}

const RANK: Record<HealthStatus, number> = { healthy: 0, unknown: 1, warning: 2, critical: 3 };

/**
 * overallHealth is the platform's status: critical when any service is, warning when any is warning or has stopped
 * reporting (unknown), unknown when there is no service at all, healthy otherwise.
 */
export function overallHealth(statuses: readonly HealthStatus[]): HealthStatus {
  if (statuses.length === 0) return 'unknown';
  const worst = statuses.reduce((w, s) => (RANK[s] > RANK[w] ? s : w), 'healthy' as HealthStatus);
  return worst === 'unknown' ? 'warning' : worst;
}

/**
 * serviceHealthRow is a service's line of the health table. An instance counts when it reported within the last
 * hour, and is healthy when it reported within `aliveMs` and no firing critical or warning alert names it. The
 * status is the worse of the threshold verdict on the realtime values and the service's firing alerts.
 */
export function serviceHealthRow(state: ServiceState, nowMs: number, aliveMs: number): ServiceHealthRow {
  const firing = state.alerts.filter((a) => a.status !== 'pending' && a.severity !== 'info');
  // An instance is unhealthy when silent, alerted, or breaching a health threshold itself.
  const unwell = new Set([...firing.map((a) => a.instance), ...state.verdict.reasons.flatMap((r) => (r.instance ? [r.instance] : []))]);
  const healthy = state.instances.filter((i) => nowMs - i.lastSeenMs <= aliveMs && !unwell.has(i.instance)).length;
  const reasons = state.verdict.reasons.map((r) => `${r.metric} ${r.value}${r.instance ? ` on ${r.instance}` : ''} breaches ${r.rule} (${r.threshold})`);
  let status = state.verdict.status;
  for (const alert of firing) {
    const level: HealthStatus = alert.severity === 'critical' ? 'critical' : 'warning';
    if (RANK[level] > RANK[status]) status = level;
    reasons.push(`${alert.severity} alert ${alert.rule} ${alert.status}${alert.instance ? ` on ${alert.instance}` : ''}`);
  }
  if (!state.snapshot) reasons.push('no data in the realtime cache (the service stopped reporting)');
  return {
    service_name: state.service,
    status,
    cpu_usage: state.snapshot?.cpu_usage ?? null,
    memory_usage: state.snapshot?.memory_usage ?? null,
    response_time_p95: state.snapshot?.response_time_p95 ?? null,
    error_rate: state.snapshot?.error_rate ?? null,
    instances: state.instances.length,
    healthy_instances: healthy,
    reasons,
  };
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** perService sums a metric's per-instance averages (or latest values) into one figure per service. */
function perService(stats: readonly WindowStat[], metric: string, pick: 'avg' | 'last'): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of stats) if (s.metric === metric) out.set(s.service, (out.get(s.service) ?? 0) + s[pick]);
  return out;
}

/** meanPerService averages a metric's per-instance values into one figure per service. */
function meanPerService(stats: readonly WindowStat[], metric: string, pick: 'avg' | 'last'): Map<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const s of stats) {
    if (s.metric !== metric) continue;
    const acc = sums.get(s.service) ?? { total: 0, n: 0 };
    acc.total += s[pick];
    acc.n++;
    sums.set(s.service, acc);
  }
  return new Map([...sums].map(([service, { total, n }]) => [service, total / n]));
}

/**
 * weightedMean averages values weighted by the request rate under the same key (a service, an hour; every value
 * counts the same when no rate is reported), so a busy service's or hour's latency weighs more than an idle one's.
 */
export function weightedMean<K>(values: ReadonlyMap<K, number>, weights: ReadonlyMap<K, number>): number | null {
  if (values.size === 0) return null;
  let total = 0;
  let weight = 0;
  for (const [key, value] of values) {
    const w = weights.size > 0 ? (weights.get(key) ?? 0) : 1;
    total += value * w;
    weight += w;
  }
  if (weight === 0) return [...values.values()].reduce((a, b) => a + b, 0) / values.size;
  return total / weight;
}

/**
 * systemOverview computes the overview tiles over the window: requests per minute (the sum of every instance's
 * average rate × 60), the average response time (each service's p50, weighted by its requests), the error rate
 * (weighted likewise), active users (the latest count of each service, summed) and availability (each service's
 * good events over the last day — serviceAvailability —, averaged over services: a service answering only errors
 * weighs as much as a busy one).
 */
export function systemOverview(stats: readonly WindowStat[], availability: readonly Availability[]): SystemOverview {
  const rps = perService(stats, 'requests_per_second', 'avg');
  const latency = meanPerService(stats, 'response_time_p50_ms', 'avg');
  const errors = meanPerService(stats, 'error_rate_percent', 'avg');
  const users = perService(stats, 'active_users', 'last');
  const shares = availability.filter((a) => a.total > 0).map((a) => a.good / a.total);
  const requests = [...rps.values()].reduce((a, b) => a + b, 0);
  const avgLatency = weightedMean(latency, rps);
  const errorRate = weightedMean(errors, rps);
  return {
    total_requests_per_minute: rps.size > 0 ? Math.round(requests * 60) : null,
    average_response_time_ms: avgLatency === null ? null : round(avgLatency, 1),
    error_rate_percent: errorRate === null ? null : round(errorRate, 3),
    active_users: users.size > 0 ? Math.round([...users.values()].reduce((a, b) => a + b, 0)) : null,
    system_uptime_percent: shares.length > 0 ? round((100 * shares.reduce((a, b) => a + b, 0)) / shares.length, 2) : null,
    availability_basis: availabilityBasisText(availability),
  };
}

/** businessTiles computes the business tiles: the latest accuracy and profitable share, today's predictions. */
export function businessTiles(stats: readonly WindowStat[], predictionsToday: ReadonlyMap<string, number>, activeStrategies: number | null): BusinessTiles {
  const dailyPredictions = predictionsToday.size > 0 ? [...predictionsToday.values()].reduce((a, b) => a + b, 0) : null;
  const mean = (values: Map<string, number>) => (values.size > 0 ? [...values.values()].reduce((a, b) => a + b, 0) / values.size : null);
  const accuracy = mean(meanPerService(stats, 'prediction_accuracy', 'last'));
  const profitable = mean(meanPerService(stats, 'profitable_trades_percent', 'last'));
  return {
    prediction_accuracy: accuracy === null ? null : round(accuracy, 4),
    daily_predictions: dailyPredictions === null ? null : Math.round(dailyPredictions),
    active_strategies: activeStrategies,
    profitable_trades_percent: profitable === null ? null : round(profitable, 2),
  };
}

/** dashboardAlerts lists the active alerts, most severe and oldest first, in the seed's alert shape (plus state). */
export function dashboardAlerts(alerts: readonly ActiveAlert[], limit = 200): DashboardAlert[] {
  const rank: Record<string, number> = { critical: 0, warning: 1, info: 2 };
  return [...alerts]
    .sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3) || a.started_at.localeCompare(b.started_at))
    .slice(0, limit)
    .map((a) => ({
      id: a.alert_id,
      severity: a.severity,
      service: a.service,
      message: a.summary,
      timestamp: a.started_at,
      status: a.status,
      current_value: a.current_value,
      threshold: a.threshold,
      workflow_id: a.workflow_id,
      ...(a.acknowledged_by ? { acknowledged_by: a.acknowledged_by } : {}),
    }));
}

/** activeStrategies counts the distinct `strategy` label values among the services' live series, null without any. */
export function activeStrategies(snapshots: ReadonlyArray<RealtimeSnapshot | null>): number | null {
  const seen = new Set<string>();
  for (const snapshot of snapshots) {
    for (const field of Object.keys(snapshot?.metrics ?? {})) {
      const match = /[{,]strategy=("(?:[^"\\]|\\.)*")/.exec(field);
      if (match) seen.add(JSON.parse(match[1]!) as string);
    }
  }
  return seen.size > 0 ? seen.size : null;
}

/** Resolution is where a range's series are read from, and the bucket width that keeps the points few. */
export interface Resolution {
  source: 'raw' | '1m' | '1h';
  stepSeconds: number;
}

/** MAX_POINTS bounds the points of one series in a performance answer. */
export const MAX_POINTS = 720;

/**
 * pickResolution reads raw samples for ranges up to 2 hours, the 1-minute rollup up to 7 days and the 1-hour rollup
 * beyond, with the step widened (to a whole multiple of the source's) so that no series has more than MAX_POINTS.
 */
export function pickResolution(fromMs: number, toMs: number, requestedStepSeconds?: number): Resolution {
  const range = Math.max(1, (toMs - fromMs) / 1000);
  const source = range <= 2 * 3600 ? 'raw' : range <= 7 * 86_400 ? '1m' : '1h';
  const native = source === 'raw' ? 15 : source === '1m' ? 60 : 3600;
  const needed = Math.max(native, requestedStepSeconds ?? 0, Math.ceil(range / MAX_POINTS));
  return { source, stepSeconds: Math.ceil(needed / native) * native };
}

/** MAX_RANGE_MS is the longest range a dashboard or performance query may ask for (the 3-year rollup retention). */
export const MAX_RANGE_MS = 3 * 366 * 86_400_000;

/**
 * parseInstant reads a query's time bound: an ISO-8601 timestamp, milliseconds since the epoch, or `now`/`now-5m`
 * (a duration back from now in s, m, h, d). Returns undefined for an unreadable value.
 */
export function parseInstant(text: string, nowMs: number): number | undefined {
  const relative = /^now(?:-(\d+)(s|m|h|d))?$/.exec(text);
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(relative[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
    return nowMs - Number(relative[1] ?? 0) * unit;
  }
  if (/^\d{10,16}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** TimeRangeError names the query field a time range is refused for. */
export class TimeRangeError extends Error {
  constructor(
    readonly field: 'from' | 'to',
    message: string,
  ) {
    super(message);
    this.name = 'TimeRangeError';
  }
}

/** parseRange reads `from`/`to` (defaults: now and `defaultMs` before `to`), refusing an empty, inverted or too long range. */
export function parseRange(from: string | undefined, to: string | undefined, nowMs: number, defaultMs: number): { fromMs: number; toMs: number } {
  const toMs = to === undefined ? nowMs : parseInstant(to, nowMs);
  if (toMs === undefined) throw new TimeRangeError('to', 'expected an ISO-8601 time, epoch milliseconds or now[-<n>(s|m|h|d)]');
  const fromMs = from === undefined ? toMs - defaultMs : parseInstant(from, nowMs);
  if (fromMs === undefined) throw new TimeRangeError('from', 'expected an ISO-8601 time, epoch milliseconds or now[-<n>(s|m|h|d)]');
  if (fromMs >= toMs) throw new TimeRangeError('from', 'must be before `to`');
  if (toMs - fromMs > MAX_RANGE_MS) throw new TimeRangeError('from', 'the range may span at most 3 years');
  return { fromMs, toMs };
}
