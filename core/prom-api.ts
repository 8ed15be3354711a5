/**
 * Prometheus' HTTP query API, the pure part (api/routes/prometheus.ts serves it, store/prom-query.ts evaluates):
 * reading a query (PromQL, evaluated by core/promql-engine.ts), times
 * and steps as Prometheus reads them (RFC 3339 or Unix seconds; a duration or float seconds), the caller's service
 * scope folded into every selector, label sets with `__name__` where Prometheus keeps it, and sample values written
 * as Prometheus writes them (strings; `+Inf`, `-Inf`, `NaN`; no exponent).
 * https://prometheus.io/docs/prometheus/latest/querying/api/
 */
import { parseDuration } from './duration';
import { PromqlError, type LabelMatcher } from './promql';
import { parsePromql, type Node } from './promql-ast';
import { seriesLabels, type SeriesValue } from './rule-sql';
import type { Labels } from './types';

/** PromApiError is an answer in Prometheus' error envelope: `{status: "error", errorType, error}`. */
export class PromApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorType: 'bad_data' | 'timeout' | 'unavailable' | 'execution' | 'internal' | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

/** parseQuery reads the `query` parameter as PromQL, refusing what does not parse with its position. */
export function parseQuery(text: string | undefined): Node {
  if (text === undefined || text.trim() === '') throw new PromApiError(400, 'bad_data', 'invalid parameter "query": empty query');
  try {
    return parsePromql(text);
  } catch (err) {
    const at = err instanceof PromqlError ? ` at position ${err.position + 1}` : '';
    throw new PromApiError(400, 'bad_data', `invalid parameter "query": ${(err as Error).message}${at}`);
  }
}

/** parseTime reads a time parameter: RFC 3339 or Unix seconds (fractions allowed); `fallbackMs` when absent. */
export function parseTime(name: string, text: string | undefined, fallbackMs?: number): number {
  if (text === undefined || text === '') {
    if (fallbackMs !== undefined) return fallbackMs;
    throw new PromApiError(400, 'bad_data', `invalid parameter "${name}": missing`);
  }
  const seconds = Number(text);
  const ms = Number.isFinite(seconds) && /^[-+]?[\d.]+(e[-+]?\d+)?$/i.test(text) ? Math.round(seconds * 1000) : /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new PromApiError(400, 'bad_data', `invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
  return ms;
}

/** parseStep reads `step` (or another duration parameter): a duration ("15s", "1m") or float seconds, above zero. */
export function parseStep(name: string, text: string | undefined): number {
  if (text === undefined || text === '') throw new PromApiError(400, 'bad_data', `invalid parameter "${name}": missing`);
  let ms = Number(text) * 1000;
  if (!Number.isFinite(ms)) {
    try {
      ms = parseDuration(text);
    } catch {
      throw new PromApiError(400, 'bad_data', `invalid parameter "${name}": cannot parse "${text}" to a valid duration`);
    }
  }
  if (!(ms > 0)) throw new PromApiError(400, 'bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  return ms;
}

/** MAX_POINTS is Prometheus' limit on the points of one range query's series. */
export const MAX_POINTS = 11_000;

/** rangeTimes are the evaluation instants of a range query: start, start + step, … ≤ end (refused past MAX_POINTS). */
export function rangeTimes(startMs: number, endMs: number, stepMs: number): number[] {
  if (endMs < startMs) throw new PromApiError(400, 'bad_data', 'invalid parameter "end": end timestamp must not be before start time');
  if ((endMs - startMs) / stepMs + 1 > MAX_POINTS) {
    throw new PromApiError(400, 'bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  const out: number[] = [];
  for (let t = startMs; t <= endMs; t += stepMs) out.push(t);
  return out;
}

/** escapeRegex quotes a literal for a PromQL (RE2) regular expression. */
const escapeRegex = (value: string) => value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/**
 * scopeQuery restricts every selector of a query to the caller's services (a viewer's key scope); undefined (an
 * admin) leaves it as it is, an empty list matches nothing.
 */
export function scopeQuery(node: Node, services: readonly string[] | undefined): Node {
  if (services === undefined) return node;
  const scope: LabelMatcher = { label: 'service', op: '=~', value: services.length ? services.map(escapeRegex).join('|') : '$^' };
  const walk = (n: Node): Node => {
    switch (n.type) {
      case 'vector':
        return { ...n, matchers: [...n.matchers, scope] };
      case 'matrix':
        return { ...n, vector: { ...n.vector, matchers: [...n.vector.matchers, scope] } };
      case 'subquery':
      case 'unary':
      case 'paren':
        return { ...n, expr: walk(n.expr) };
      case 'call':
        return { ...n, args: n.args.map(walk) };
      case 'aggregate':
        return { ...n, expr: walk(n.expr), ...(n.param ? { param: walk(n.param) } : {}) };
      case 'binary':
        return { ...n, lhs: walk(n.lhs), rhs: walk(n.rhs) };
      default:
        return n;
    }
  };
  return walk(node);
}

/** promValue writes a sample value as Prometheus does: Go's FormatFloat(v, 'f', -1, 64), `+Inf`, `-Inf`, `NaN`. */
export function promValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const text = String(v);
  const e = /^(-?)(\d)(?:\.(\d+))?e([-+]\d+)$/.exec(text);
  if (!e) return text;
  const [, sign, lead, frac = '', exp] = e;
  const digits = lead! + frac;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return `${sign}${digits.padEnd(point, '0').slice(0, point)}${digits.length > point ? `.${digits.slice(point)}` : ''}`;
}

/** promTime writes an evaluation instant as Prometheus does: Unix seconds, fractions to the millisecond. */
export const promTime = (ms: number) => ms / 1000;

/**
 * metricOf is a series' label set in a result: its labels, service and instance, and `__name__` when kept. A series
 * that came with a `job` label (remote write, scrapes) has its service named after it: the label is not repeated.
 */
export function metricOf(series: Pick<SeriesValue, 'service' | 'instance' | 'labels'>, name?: string): Labels {
  const labels = seriesLabels(series);
  if (labels.job !== undefined && labels.job === series.service) delete labels.service;
  return name ? { __name__: name, ...labels } : labels;
}

/** BUILD_INFO answers /api/v1/status/buildinfo; Grafana reads `version` to pick the features it uses. */
export const BUILD_INFO = { version: '2.42.0', revision: 'performance-monitoring', branch: 'main', buildUser: 'performance-monitoring', buildDate: '20261207-00:00:00', goVersion: 'n/a' };
