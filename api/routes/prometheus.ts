/**
 * Prometheus' HTTP query API, the subset Grafana's Prometheus data source and `promtool query` use (issue 18):
 * GET|POST /api/v1/query, /api/v1/query_range, /api/v1/series, /api/v1/labels, /api/v1/label/{name}/values,
 * /api/v1/metadata and /api/v1/status/buildinfo, in Prometheus' envelope (`{status, data}` or `{status: "error",
 * errorType, error}`), POST bodies form-encoded as Grafana sends them. Queries are PromQL: each selector's points
 * are read from ClickHouse through the query gate (store/prom-query.ts) and the expression is evaluated in memory
 * as Prometheus does (core/promql-engine.ts); a viewer's key sees only its services (every selector is scoped);
 * Bearer or Basic auth as everywhere. Instant selectors look back 5 minutes (`lookback_delta` changes it), as
 * Prometheus' default; a query may read at most MAX_SAMPLES points and evaluate for QUERY_EVAL_MS.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors';
import { BUILD_INFO, metricOf, parseQuery, parseStep, parseTime, PromApiError, promTime, promValue, rangeTimes, scopeQuery } from '../../core/prom-api';
import { PromqlError } from '../../core/promql';
import { parsePromql, typeOf, type Node } from '../../core/promql-ast';
import { Evaluator, EvaluationTimeoutError, selectorSpans, type RangeSeries, type SeriesLabels } from '../../core/promql-engine';
import { fetchSelectors, findSeries, labelNames, labelValues, TooManySamplesError, type SeriesSelector } from '../../store/prom-query';
import type { AppDeps } from '../deps';

type Params = Record<string, string | string[] | undefined>;

const LOOKBACK_MS = 300_000;
/** Without start and end, the series and label endpoints look at the last day (Prometheus: the whole database). */
const DEFAULT_SPAN_MS = 86_400_000;
const SERIES_LIMIT = 10_000;
/** Points one query may read (Prometheus' --query.max-samples is 50 M; ours holds them in the API's memory). */
const MAX_SAMPLES = Number(process.env.MONITORING_QUERY_MAX_SAMPLES ?? 5_000_000);
/** How long the in-memory evaluation of one query may run once its points are read. */
const QUERY_EVAL_MS = 20_000;

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
    let node: Node;
    try {
      node = parsePromql(text);
    } catch (err) {
      throw new PromApiError(400, 'bad_data', `invalid parameter "match[]": ${(err as Error).message}`);
    }
    if (node.type !== 'vector') throw new PromApiError(400, 'bad_data', `invalid parameter "match[]": ${text} is not a series selector`);
    const name = node.matchers.find((m) => m.label === '__name__' && m.op === '=');
    return { ...(name ? { metric: name.value } : {}), matchers: node.matchers.filter((m) => m !== name) };
  });
}

const labelKey = (labels: SeriesLabels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

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
      else if (err instanceof TooManySamplesError) e = new PromApiError(422, 'execution', err.message);
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

  /** evaluate reads the points a query needs (through the query gate) and evaluates it from startMs to endMs. */
  const evaluate = async <T>(p: Params, request: FastifyRequest, startMs: number, endMs: number, run: (evaluator: Evaluator, node: Node) => T): Promise<T> => {
    const node = scopeQuery(parseQuery(one(p, 'query')), scopeOf(request));
    const lookbackMs = lookbackOf(p);
    // `timeout` (Grafana sends its data source's query timeout) can only shorten our own evaluation bound.
    const timeoutMs = one(p, 'timeout') ? Math.min(QUERY_EVAL_MS, parseStep('timeout', one(p, 'timeout'))) : QUERY_EVAL_MS;
    const storage = await queryGate.run((signal) => fetchSelectors(clickhouse, database, selectorSpans(node, startMs, endMs, { lookbackMs }), MAX_SAMPLES, signal));
    try {
      return run(new Evaluator(storage, startMs, endMs, { lookbackMs, deadlineMs: Date.now() + timeoutMs }), node);
    } catch (err) {
      if (err instanceof EvaluationTimeoutError) throw new PromApiError(503, 'timeout', err.message);
      if (err instanceof PromqlError) throw new PromApiError(422, 'execution', err.message);
      throw err;
    }
  };
  const matrixOf = (series: RangeSeries[]) =>
    series
      .map((s) => ({ metric: s.labels, values: s.t.map((t, i) => [promTime(t), promValue(s.v[i]!)]) }))
      .sort((a, b) => (labelKey(a.metric) < labelKey(b.metric) ? -1 : 1));

  const instant = answer(async (p, request) => {
    const atMs = parseTime('time', one(p, 'time'), Date.now());
    return evaluate(p, request, atMs, atMs, (evaluator, node) => {
      const value = evaluator.instantQuery(node, atMs);
      switch (value.type) {
        case 'scalar':
          return { resultType: 'scalar', result: [promTime(atMs), promValue(value.v)] };
        case 'string':
          return { resultType: 'string', result: [promTime(atMs), value.s] };
        case 'vector':
          return { resultType: 'vector', result: value.samples.map((s) => ({ metric: s.labels, value: [promTime(atMs), promValue(s.v)] })) };
        case 'matrix':
          return { resultType: 'matrix', result: matrixOf(value.series) };
      }
    });
  });

  const range = answer(async (p, request) => {
    const startMs = parseTime('start', one(p, 'start'));
    const endMs = parseTime('end', one(p, 'end'));
    const stepMs = parseStep('step', one(p, 'step'));
    rangeTimes(startMs, endMs, stepMs);
    const node = parseQuery(one(p, 'query'));
    const kind = typeOf(node);
    if (kind !== 'vector' && kind !== 'scalar') {
      throw new PromApiError(400, 'bad_data', `invalid parameter "query": invalid expression type "${kind === 'matrix' ? 'range vector' : kind}" for range query, must be Scalar or instant Vector`);
    }
    return evaluate(p, request, startMs, endMs, (evaluator, scoped) => ({ resultType: 'matrix', result: matrixOf(evaluator.rangeQuery(scoped, stepMs)) }));
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
      // Exemplars are not stored: Grafana's exemplar query beside a range query gets an empty answer, not an error.
      ['/api/v1/query_exemplars', answer(async (p) => (parseQuery(one(p, 'query')), []))],
    ] as const) {
      app.get(url, { config }, handler);
      app.post(url, { config }, handler);
    }
    app.get('/api/v1/metadata', { config }, metadata);
    app.get('/api/v1/status/buildinfo', { config }, async () => ({ status: 'success', data: BUILD_INFO }));
  };
}
