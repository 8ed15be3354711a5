/**
 * Prometheus' HTTP query API, the subset Grafana's Prometheus data source and `promtool query` use (issue 18):
 * GET|POST /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels, /api/v1/label/{name}/values,
 * /api/v1/metadata and /api/v1/status/buildinfo, in Prometheus' envelope (`{status, data}` or `{status: "error",
 * errorType, error}`), POST bodies form-encoded as Grafana sends them. Queries are the PromQL subset of
 * core/promql.ts compiled to ClickHouse (store/prom-query.ts) through the query gate; a viewer's key sees only its
 * services (every selector is scoped); Bearer auth as everywhere. Instant selectors look back 5 minutes
 * (`lookback_delta` changes it), as Prometheus' default.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors';
import { BUILD_INFO, filtered, metricOf, parseQuery, parseStep, parseTime, PromApiError, promTime, promValue, rangeTimes, scopeExpr } from '../../core/prom-api';
import { parseExpr, type Expr } from '../../core/promql';
import { evaluateAt, findSeries, labelNames, labelValues, type SeriesSelector } from '../../store/prom-query';
import type { AppDeps } from '../deps';

type Params = Record<string, string | string[] | undefined>;

const LOOKBACK_MS = 300_000;
/** Without start and end, the series and label endpoints look at the last day (Prometheus: the whole database). */
const DEFAULT_SPAN_MS = 86_400_000;
const SERIES_LIMIT = 10_000;

/** paramsOf merges the query string and a form-encoded body (POST), as Prometheus reads both. */
function paramsOf(request: FastifyRequest): Params {
  const merged: Params = { ...(request.query as Params) };
  const body = request.body;
  if (body && typeof body === 'object') for (const [k, v] of Object.entries(body as Params)) merged[k] = v;
  return merged;
}

const one = (p: Params, name: string): string | undefined => {
  const v = p[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
};
const many = (p: Params, name: string): string[] => {
  const v = p[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

/** scopeOf is the services a key may read (undefined: all). */
const scopeOf = (request: FastifyRequest): readonly string[] | undefined => (request.apiKey?.role === 'viewer' ? (request.apiKey.services ?? []) : undefined);

/** selectorsOf reads `match[]` selectors (series selectors only: a metric name and matchers). */
function selectorsOf(p: Params, required: boolean): SeriesSelector[] {
  const texts = [...many(p, 'match[]'), ...many(p, 'match')];
  if (required && texts.length === 0) throw new PromApiError(400, 'bad_data', 'no match[] parameter provided');
  return texts.map((text) => {
    let expr: Expr;
    try {
      expr = text.trim().startsWith('{') ? parseExpr(`__pm_any__${text.trim()}`) : parseExpr(text);
    } catch (err) {
      throw new PromApiError(400, 'bad_data', `invalid parameter "match[]": ${(err as Error).message}`);
    }
    if (expr.kind !== 'selector') throw new PromApiError(400, 'bad_data', `invalid parameter "match[]": ${text} is not a series selector`);
    const name = expr.matchers.find((m) => m.label === '__name__' && m.op === '=');
    return { ...(expr.metric === '__pm_any__' ? (name ? { metric: name.value } : {}) : { metric: expr.metric }), matchers: expr.matchers.filter((m) => m !== name) };
  });
}

/** span reads start and end of the series and label endpoints (the last day by default). */
function span(p: Params): [number, number] {
  const end = parseTime('end', one(p, 'end'), Date.now());
  return [parseTime('start', one(p, 'start'), end - DEFAULT_SPAN_MS), end];
}

export function prometheusRoutes(deps: AppDeps): FastifyPluginAsync {
  const { clickhouse, config, queryGate } = deps;
  const database = config.clickhouse.database;

  /** answer runs a handler and writes Prometheus' envelope, its errors included. */
  const answer = (handler: (p: Params, request: FastifyRequest) => Promise<unknown>) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return { status: 'success', data: await handler(paramsOf(request), request) };
    } catch (err) {
      let e: PromApiError;
      if (err instanceof PromApiError) e = err;
      else if (err instanceof ApiError && err.statusCode === 503) {
        e = new PromApiError(503, err.code === 'query_timeout' ? 'timeout' : 'unavailable', err.message);
        if (err.retryAfterSeconds) void reply.header('retry-after', String(err.retryAfterSeconds));
      } else {
        request.log.warn({ err }, 'prometheus query failed');
        e = new PromApiError(503, 'unavailable', 'metrics storage is unavailable');
        void reply.header('retry-after', '5');
      }
      return reply.code(e.statusCode).send({ status: 'error', errorType: e.errorType, error: e.message });
    }
  };

  const lookbackOf = (p: Params) => (one(p, 'lookback_delta') ? parseStep('lookback_delta', one(p, 'lookback_delta')) : LOOKBACK_MS);

  const instant = answer(async (p, request) => {
    const query = parseQuery(one(p, 'query'));
    const atMs = parseTime('time', one(p, 'time'), Date.now());
    if (query.kind === 'scalar') return { resultType: 'scalar', result: [promTime(atMs), promValue(query.value)] };
    const expr = scopeExpr(query.expr, scopeOf(request));
    const [series] = await queryGate.run((signal) => evaluateAt(clickhouse, database, expr, [atMs], lookbackOf(p), signal));
    return { resultType: 'vector', result: filtered(query, series!).map((s) => ({ metric: metricOf(s, query.name), value: [promTime(atMs), promValue(s.value)] })) };
  });

  const range = answer(async (p, request) => {
    const query = parseQuery(one(p, 'query'));
    const times = rangeTimes(parseTime('start', one(p, 'start')), parseTime('end', one(p, 'end')), parseStep('step', one(p, 'step')));
    if (query.kind === 'scalar') return { resultType: 'matrix', result: [{ metric: {}, values: times.map((t) => [promTime(t), promValue(query.value)]) }] };
    const expr = scopeExpr(query.expr, scopeOf(request));
    const perStep = await queryGate.run((signal) => evaluateAt(clickhouse, database, expr, times, lookbackOf(p), signal));
    const bySeries = new Map<string, { metric: Record<string, string>; values: Array<[number, string]> }>();
    perStep.forEach((series, k) => {
      for (const s of filtered(query, series)) {
        const metric = metricOf(s, query.name);
        const key = JSON.stringify(Object.entries(metric).sort());
        let entry = bySeries.get(key);
        if (!entry) bySeries.set(key, (entry = { metric, values: [] }));
        entry.values.push([promTime(times[k]!), promValue(s.value)]);
      }
    });
    return { resultType: 'matrix', result: [...bySeries.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v) };
  });

  const series = answer(async (p, request) => {
    const [from, to] = span(p);
    const found = await queryGate.run(() => findSeries(clickhouse, database, selectorsOf(p, true), from, to, scopeOf(request), SERIES_LIMIT));
    return found.map((s) => metricOf(s, s.name));
  });

  const labels = answer(async (p, request) => {
    const [from, to] = span(p);
    return queryGate.run(() => labelNames(clickhouse, database, selectorsOf(p, false), from, to, scopeOf(request)));
  });

  const values = answer(async (p, request) => {
    const name = (request.params as { name: string }).name;
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new PromApiError(400, 'bad_data', `invalid label name: "${name}"`);
    const [from, to] = span(p);
    return queryGate.run(() => labelValues(clickhouse, database, name, selectorsOf(p, false), from, to, scopeOf(request)));
  });

  const metadata = answer(async (_p, request) => {
    const [from, to] = [Date.now() - DEFAULT_SPAN_MS, Date.now()];
    const names = await queryGate.run(() => labelValues(clickhouse, database, '__name__', [], from, to, scopeOf(request)));
    // Types and help are not stored with samples: every metric is reported as of unknown type.
    return Object.fromEntries(names.map((n) => [n, [{ type: 'unknown', help: '', unit: '' }]]));
  });

  return async (app) => {
    // Grafana and promtool POST form-encoded parameters; repeated keys (match[]) become arrays.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      const out: Params = {};
      for (const [k, v] of new URLSearchParams(body as string)) {
        const prior = out[k];
        out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
      }
      done(null, out);
    });
    const config = { access: 'public' as const };
    for (const [url, handler] of [
      ['/api/v1/query', instant],
      ['/api/v1/query_range', range],
      ['/api/v1/series', series],
      ['/api/v1/labels', labels],
      ['/api/v1/label/:name/values', values],
    ] as const) {
      app.get(url, { config }, handler);
      app.post(url, { config }, handler);
    }
    app.get('/api/v1/metadata', { config }, metadata);
    app.get('/api/v1/status/buildinfo', { config }, async () => ({ status: 'success', data: BUILD_INFO }));
  };
}
