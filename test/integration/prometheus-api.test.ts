import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { ApiKey } from '../../core/auth';
import { startTestApi, TEST_KEYS, type TestApi } from '../helpers/api';
import { uniqueName } from '../helpers/stack';

/**
 * Prometheus' HTTP query API (issue 18) on the real ClickHouse: the envelope, instant and range queries of the PromQL
 * subset with Prometheus' label and value conventions, the series and label endpoints, form-encoded POSTs as Grafana
 * sends them, errors as Prometheus types them, and a viewer's key seeing only its services.
 */
const A = uniqueName('prom-a');
const B = uniqueName('prom-b');
const METRIC = uniqueName('prom_requests').replaceAll('-', '_');
const KEYS: ApiKey[] = [...Object.values(TEST_KEYS), { name: 'viewer-a', token: 'prom-viewer-a-token-0123456789', role: 'viewer', services: [A] }];
const admin = { authorization: `Bearer ${TEST_KEYS.admin.token}` };
const viewerA = { authorization: 'Bearer prom-viewer-a-token-0123456789' };
// Samples every 15 s over the ten minutes before T (a whole minute), a counter per series.
const T = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const POINTS = 41;

describe('Prometheus query API', () => {
  let api: TestApi;
  const get = async (url: string, headers: Record<string, string> = admin) => api.app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    api = await startTestApi({}, undefined, undefined, KEYS);
    const samples = [A, B].flatMap((service, s) =>
      ['i1', 'i2'].flatMap((instance, k) =>
        Array.from({ length: POINTS }, (_, p) => ({
          name: METRIC,
          // A counter: (s + 1) × (k + 1) per second.
          value: (s + 1) * (k + 1) * 15 * p,
          labels: { service, instance, method: k === 0 ? 'GET' : 'POST' },
          timestamp: new Date(T - (POINTS - 1 - p) * 15_000).toISOString(),
        })),
      ),
    );
    const pushed = await api.app.inject({ method: 'POST', url: '/api/v1/internal/monitoring/metrics', headers: { authorization: `Bearer ${TEST_KEYS.service.token}` }, payload: { samples } });
    expect(pushed.statusCode).toBe(202);
  });
  afterAll(() => api?.close());

  it('answers an instant query in the vector envelope: the metric name kept on a selector, values as strings', async () => {
    const response = await get(`/api/v1/query?query=${encodeURIComponent(`${METRIC}{service="${A}"}`)}&time=${T / 1000}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.status).toBe('success');
    expect(body.data.resultType).toBe('vector');
    const result = body.data.result.sort((a: { metric: { instance: string } }, b: { metric: { instance: string } }) => a.metric.instance.localeCompare(b.metric.instance));
    expect(result).toEqual([
      { metric: { __name__: METRIC, service: A, instance: 'i1', method: 'GET' }, value: [T / 1000, String(15 * 40)] },
      { metric: { __name__: METRIC, service: A, instance: 'i2', method: 'POST' }, value: [T / 1000, String(2 * 15 * 40)] },
    ]);
    // RFC 3339 times are read too.
    const rfc = await get(`/api/v1/query?query=${encodeURIComponent(`${METRIC}{service="${A}"}`)}&time=${new Date(T).toISOString()}`);
    expect(rfc.json().data.result).toHaveLength(2);
  });

  it('drops the name after a function or aggregation, filters with a comparison, and answers a number as a scalar', async () => {
    const rate = await get(`/api/v1/query?query=${encodeURIComponent(`sum by (service) (rate(${METRIC}[5m]))`)}&time=${T / 1000}`);
    const byService = Object.fromEntries(rate.json().data.result.map((r: { metric: { service: string }; value: [number, string] }) => [r.metric.service, Number(r.value[1])]));
    expect(rate.json().data.result.every((r: { metric: Record<string, string> }) => !('__name__' in r.metric))).toBe(true);
    expect(byService[A]).toBeCloseTo(1 + 2, 6);
    expect(byService[B]).toBeCloseTo(2 + 4, 6);

    const filter = await get(`/api/v1/query?query=${encodeURIComponent(`${METRIC} > 1000`)}&time=${T / 1000}`);
    // 600, 1200 (A) and 1200, 2400 (B): three above 1000, each keeping its name.
    expect(filter.json().data.result.filter((r: { metric: { service: string } }) => [A, B].includes(r.metric.service)).map((r: { metric: { __name__: string }; value: [number, string] }) => [r.metric.__name__, r.value[1]]).sort()).toEqual([
      [METRIC, '1200'],
      [METRIC, '1200'],
      [METRIC, '2400'],
    ]);

    const scalar = await get('/api/v1/query?query=42&time=1700000000.5');
    expect(scalar.json()).toEqual({ status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '42'] } });
  });

  it('answers a range query per step, a matrix of series in order, and refuses more than 11,000 points', async () => {
    const start = (T - 120_000) / 1000;
    const end = T / 1000;
    const response = await get(`/api/v1/query_range?query=${encodeURIComponent(`${METRIC}{service="${B}", instance="i1"}`)}&start=${start}&end=${end}&step=30s`);
    const body = response.json();
    expect(body.data.resultType).toBe('matrix');
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0].metric).toEqual({ __name__: METRIC, service: B, instance: 'i1', method: 'GET' });
    // Five instants (T − 120 s … T every 30 s); the latest sample at or before each, counter 2 per second.
    expect(body.data.result[0].values).toEqual([0, 1, 2, 3, 4].map((k) => [start + 30 * k, String(2 * 15 * (32 + 2 * k))]));

    const tooMany = await get(`/api/v1/query_range?query=${METRIC}&start=0&end=${end}&step=1`);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json()).toMatchObject({ status: 'error', errorType: 'bad_data', error: expect.stringContaining('11,000 points') });
  });

  it('takes form-encoded POSTs as Grafana sends them', async () => {
    // The shapes of Grafana's Prometheus client (pkg/promlib/client): POST form bodies, times and the step as float
    // seconds, the data source's query timeout, an exemplar query beside each range query.
    const post = (url: string, fields: Record<string, string>) =>
      api.app.inject({ method: 'POST', url, headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
    const instant = await post('/api/v1/query', { query: `${METRIC}{service="${A}", instance="i1"}`, time: String(T / 1000), timeout: '30s' });
    expect(instant.json().data.result).toEqual([{ metric: { __name__: METRIC, service: A, instance: 'i1', method: 'GET' }, value: [T / 1000, '600'] }]);
    const range = await post('/api/v1/query_range', { query: `sum(rate(${METRIC}{service="${A}"}[1m]))`, start: String((T - 120_000) / 1000 + 0.5), end: String(T / 1000 + 0.5), step: '30', timeout: '30s' });
    expect(range.statusCode).toBe(200);
    expect(range.json().data.result[0].values.map((v: [number, string]) => v[0])).toEqual([-120, -90, -60, -30, 0].map((d) => T / 1000 + d + 0.5));
    const exemplars = await post('/api/v1/query_exemplars', { query: METRIC, start: String((T - 120_000) / 1000), end: String(T / 1000) });
    expect(exemplars.json()).toEqual({ status: 'success', data: [] });
    const badTimeout = await post('/api/v1/query', { query: METRIC, timeout: 'soon' });
    expect([badTimeout.statusCode, badTimeout.json().errorType]).toEqual([400, 'bad_data']);
  });

  it('lists series, label names and label values in a time range', async () => {
    const range = `start=${(T - 600_000) / 1000}&end=${T / 1000}`;
    const series = await get(`/api/v1/series?match[]=${encodeURIComponent(`${METRIC}{method="POST"}`)}&${range}`);
    expect(series.json()).toEqual({
      status: 'success',
      data: [
        { __name__: METRIC, service: A, instance: 'i2', method: 'POST' },
        { __name__: METRIC, service: B, instance: 'i2', method: 'POST' },
      ],
    });
    const labels = await get(`/api/v1/labels?match[]=${METRIC}&${range}`);
    expect(labels.json().data).toEqual(['__name__', 'instance', 'method', 'service']);
    const values = await get(`/api/v1/label/service/values?match[]=${METRIC}&${range}`);
    expect(values.json().data).toEqual([A, B].sort());
    const names = await get(`/api/v1/label/__name__/values?${range}`);
    expect(names.json().data).toContain(METRIC);
  });

  it("shows a viewer only its services, in queries, series and labels", async () => {
    const query = await get(`/api/v1/query?query=${encodeURIComponent(`sum by (service) (${METRIC})`)}&time=${T / 1000}`, viewerA);
    expect(query.json().data.result.map((r: { metric: { service: string } }) => r.metric.service)).toEqual([A]);
    const range = `start=${(T - 600_000) / 1000}&end=${T / 1000}`;
    const values = await get(`/api/v1/label/service/values?${range}`, viewerA);
    expect(values.json().data).toEqual([A]);
    const series = await get(`/api/v1/series?match[]=${METRIC}&${range}`, viewerA);
    expect(series.json().data.map((s: { service: string }) => s.service)).toEqual([A, A]);
  });

  it("answers promtool (Prometheus' own client) as its own query API answers: instant, range, series and labels", async () => {
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    // promtool (2.42) has no header option: the key's token as the basic-auth password in the server URL.
    const url = `http://admin:${TEST_KEYS.admin.token}@127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const promtool = async (...args: string[]) => (await promisify(execFile)('promtool', ['query', ...args])).stdout;
    const sorted = (result: Array<{ metric: Record<string, string> }>) => [...result].sort((a, b) => JSON.stringify(a.metric).localeCompare(JSON.stringify(b.metric)));

    const expr = `rate(${METRIC}{service=~"${A}|${B}"}[2m])`;
    const instant = JSON.parse(await promtool('instant', '-o', 'json', `--time=${T / 1000}`, url, expr));
    const ours = (await get(`/api/v1/query?query=${encodeURIComponent(expr)}&time=${T / 1000}`)).json().data.result;
    expect(sorted(instant)).toEqual(sorted(ours));
    expect(instant).toHaveLength(4);

    const rangeArgs = [`--start=${(T - 300_000) / 1000}`, `--end=${T / 1000}`, '--step=1m'];
    const range = JSON.parse(await promtool('range', '-o', 'json', ...rangeArgs, url, `sum by (service) (${expr})`));
    const oursRange = (await get(`/api/v1/query_range?query=${encodeURIComponent(`sum by (service) (${expr})`)}&start=${(T - 300_000) / 1000}&end=${T / 1000}&step=60`)).json().data.result;
    expect(sorted(range)).toEqual(sorted(oursRange));
    expect(range.map((r: { values: unknown[] }) => r.values.length)).toEqual([6, 6]);

    const series = await promtool('series', `--match=${METRIC}{method="POST"}`, `--start=${(T - 600_000) / 1000}`, `--end=${T / 1000}`, url);
    expect(series.trim().split('\n').sort()).toEqual([A, B].map((service) => `{__name__="${METRIC}", instance="i2", method="POST", service="${service}"}`).sort());
    const values = await promtool('labels', `--match=${METRIC}`, `--start=${(T - 600_000) / 1000}`, `--end=${T / 1000}`, url, 'method');
    expect(values.trim().split('\n')).toEqual(['GET', 'POST']);
  });

  it('answers errors in the Prometheus envelope, and nothing without a key', async () => {
    const bad = await get(`/api/v1/query?query=${encodeURIComponent('sum(rate(x[5m])')}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ status: 'error', errorType: 'bad_data', error: expect.stringMatching(/invalid parameter "query".*position/) });
    const badTime = await get(`/api/v1/query?query=${METRIC}&time=yesterday`);
    expect(badTime.json()).toMatchObject({ errorType: 'bad_data', error: 'invalid parameter "time": cannot parse "yesterday" to a valid timestamp' });
    const badStep = await get(`/api/v1/query_range?query=${METRIC}&start=1&end=2&step=0`);
    expect(badStep.json()).toMatchObject({ errorType: 'bad_data' });
    const noMatch = await get('/api/v1/series');
    expect(noMatch.json()).toMatchObject({ errorType: 'bad_data', error: 'no match[] parameter provided' });
    expect((await api.app.inject({ method: 'GET', url: `/api/v1/query?query=${METRIC}` })).statusCode).toBe(401);
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    expect((await get(`/api/v1/query?query=${METRIC}`, basic('viewer-a', 'prom-viewer-a-token-0123456789'))).statusCode).toBe(200);
    expect((await get(`/api/v1/query?query=${METRIC}`, basic('viewer-a', 'wrong-token-0123456789'))).statusCode).toBe(401);
    const build = await get('/api/v1/status/buildinfo');
    expect(build.json()).toMatchObject({ status: 'success', data: { version: expect.stringMatching(/^\d+\.\d+\.\d+$/) } });
  });
});
