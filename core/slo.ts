import { FieldError } from './errors';
/**
 * Service level objectives (config/slo.yaml) and what is measured against them. Pure.
 *
 * Per service (or `default`), three objectives:
 * - availability: the share of minutes the service reported in (as the dashboard's uptime), e.g. 99.9 %;
 * - latency: the share of minutes whose p95 latency (`response_time_p95_ms`) was at most `threshold_ms`, e.g. 99 %;
 * - errors: the share of requests served without error (requests_per_second × (1 − error_rate_percent / 100)),
 *   e.g. 99.9 % — its error budget is what multi-window burn-rate alerting watches (Google SRE workbook, ch. 5):
 *   fast burn — 14.4 × the sustainable rate over 1 h and over 5 min (2 % of a 30-day budget in an hour) → critical;
 *   slow burn — 6 × over 6 h and over 30 min (5 % in six hours) → warning.
 * Compliance is over rolling 7 and 30 days; the budget remaining is 1 − (bad share ÷ allowed share) over 30 days.
 */
import { parse as parseYaml } from 'yaml';
import { isRecord } from './guards';
import { parseCondition } from './promql';
import type { Rule } from './rules';

export interface Slo {
  availability: number;
  latency: { thresholdMs: number; percentile: 95; objective: number };
  errors: { objective: number };
}

export interface SloConfig {
  defaults: Slo;
  services: Record<string, Slo>;
}

export const BUILT_IN_SLO: Slo = { availability: 99.9, latency: { thresholdMs: 1000, percentile: 95, objective: 99 }, errors: { objective: 99.9 } };

export class SloError extends FieldError {}

const percent = (raw: unknown, field: string, fallback: number): number => {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !(raw > 0 && raw < 100)) throw new SloError(field, 'expected a percentage above 0 and below 100');
  return raw;
};

function parseSlo(raw: unknown, field: string, base: Slo): Slo {
  if (!isRecord(raw)) throw new SloError(field, 'expected a map of objectives');
  for (const key of Object.keys(raw)) if (!['availability', 'latency', 'errors'].includes(key)) throw new SloError(`${field}.${key}`, 'unknown objective (availability, latency, errors)');
  const latency = raw.latency ?? {};
  if (!isRecord(latency)) throw new SloError(`${field}.latency`, 'expected {threshold_ms, objective}');
  if (latency.percentile !== undefined && latency.percentile !== 95) throw new SloError(`${field}.latency.percentile`, 'only 95 is measured (response_time_p95_ms)');
  const threshold = latency.threshold_ms ?? base.latency.thresholdMs;
  if (typeof threshold !== 'number' || !(threshold > 0)) throw new SloError(`${field}.latency.threshold_ms`, 'expected a positive number of milliseconds');
  const errors = raw.errors ?? {};
  if (!isRecord(errors)) throw new SloError(`${field}.errors`, 'expected {objective}');
  return {
    availability: percent(raw.availability, `${field}.availability`, base.availability),
    latency: { thresholdMs: threshold, percentile: 95, objective: percent(latency.objective, `${field}.latency.objective`, base.latency.objective) },
    errors: { objective: percent(errors.objective, `${field}.errors.objective`, base.errors.objective) },
  };
}

/** parseSloDocument reads config/slo.yaml: `slos: {default: {...}, <service>: {...}}`; services inherit the default. */
export function parseSloDocument(text: string, source = 'slo.yaml'): SloConfig {
  const doc = parseYaml(text) as unknown;
  if (!isRecord(doc) || !isRecord(doc.slos)) throw new SloError(`${source}:slos`, 'expected a map of services to objectives');
  const defaults = doc.slos.default === undefined ? BUILT_IN_SLO : parseSlo(doc.slos.default, `${source}:slos.default`, BUILT_IN_SLO);
  const services: Record<string, Slo> = {};
  for (const [name, raw] of Object.entries(doc.slos)) if (name !== 'default') services[name] = parseSlo(raw, `${source}:slos.${name}`, defaults);
  return { defaults, services };
}

export const sloOf = (config: SloConfig, service: string): Slo => config.services[service] ?? config.defaults;

/** SloCounts are what one service did over one window. */
export interface SloCounts {
  /** Minutes in the window since the service first reported in it, and those it reported in. */
  minutes: number;
  upMinutes: number;
  /** Minutes with a p95 latency, and those at or under the threshold. */
  latencyMinutes: number;
  fastMinutes: number;
  requests: number;
  failedRequests: number;
}

/** Compliance is one objective over one window: what was measured, the objective, whether it was met. */
export interface Compliance {
  measured: number | null;
  objective: number;
  met: boolean | null;
}

export interface SloWindow {
  availability: Compliance;
  latency: Compliance;
  errors: Compliance;
}

export interface BurnRates {
  '5m': number | null;
  '30m': number | null;
  '1h': number | null;
  '6h': number | null;
}

export interface SloStatus {
  service: string;
  slo: Slo;
  window7d: SloWindow;
  window30d: SloWindow;
  /** Share of the 30-day error budget left, in % (negative when overspent); null without requests. */
  errorBudgetRemaining: number | null;
  burnRates: BurnRates;
  fastBurn: boolean;
  slowBurn: boolean;
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

const compliance = (good: number, total: number, objective: number): Compliance => {
  if (total <= 0) return { measured: null, objective, met: null };
  const measured = round((100 * good) / total, 4);
  return { measured, objective, met: measured >= objective };
};

/** sloWindow measures one window's counts against the objectives. */
export function sloWindow(counts: SloCounts, slo: Slo): SloWindow {
  return {
    availability: compliance(counts.upMinutes, counts.minutes, slo.availability),
    latency: compliance(counts.fastMinutes, counts.latencyMinutes, slo.latency.objective),
    errors: compliance(counts.requests - counts.failedRequests, counts.requests, slo.errors.objective),
  };
}

/** FAST_BURN and SLOW_BURN are the multi-window burn-rate thresholds (× the sustainable rate) and their windows. */
export const FAST_BURN = { rate: 14.4, long: '1h', short: '5m' } as const;
export const SLOW_BURN = { rate: 6, long: '6h', short: '30m' } as const;

/** burnRate is how many times faster than sustainable a window spent the error budget. */
export const burnRate = (requests: number, failed: number, objective: number): number | null => (requests > 0 ? round(failed / requests / (1 - objective / 100), 3) : null);

/** sloStatus assembles a service's status from its 7- and 30-day counts and its burn-rate windows' counts. */
export function sloStatus(service: string, slo: Slo, week: SloCounts, month: SloCounts, burn: Record<keyof BurnRates, { requests: number; failed: number }>): SloStatus {
  const rates = Object.fromEntries(Object.entries(burn).map(([w, c]) => [w, burnRate(c.requests, c.failed, slo.errors.objective)])) as unknown as BurnRates;
  const over = (rate: number | null, limit: number) => rate !== null && rate > limit;
  const allowed = 1 - slo.errors.objective / 100;
  return {
    service,
    slo,
    window7d: sloWindow(week, slo),
    window30d: sloWindow(month, slo),
    errorBudgetRemaining: month.requests > 0 ? round(100 * (1 - month.failedRequests / month.requests / allowed), 2) : null,
    burnRates: rates,
    fastBurn: over(rates[FAST_BURN.long], FAST_BURN.rate) && over(rates[FAST_BURN.short], FAST_BURN.rate),
    slowBurn: over(rates[SLOW_BURN.long], SLOW_BURN.rate) && over(rates[SLOW_BURN.short], SLOW_BURN.rate),
  };
}

/**
 * BURN_RULES are the rules the SLO check raises its alerts under (they live in code, not in rule files): the fast
 * burn pages (critical), the slow burn warns. Their expressions are descriptive; the check decides.
 */
export const BURN_RULES: readonly Rule[] = [
  {
    name: 'slo_error_budget_fast_burn',
    group: 'slo',
    expression: 'error budget burn rate > 14.4 over 1h and 5m',
    condition: parseCondition('error_rate_percent > 0'),
    durationMs: 0,
    severity: 'critical',
    labels: { category: 'slo' },
    annotations: { summary: 'Error budget burning fast (14.4× over 1 h and 5 min)' },
  },
  {
    name: 'slo_error_budget_slow_burn',
    group: 'slo',
    expression: 'error budget burn rate > 6 over 6h and 30m',
    condition: parseCondition('error_rate_percent > 0'),
    durationMs: 0,
    severity: 'warning',
    labels: { category: 'slo' },
    annotations: { summary: 'Error budget burning (6× over 6 h and 30 min)' },
  },
];
