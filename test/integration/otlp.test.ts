import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { RED_LAG_MS, RED_WINDOW_MS } from '../../core/otlp-traces';
import { bearer, startTestApi, TEST_KEYS } from '../helpers/api';
import { startAlertingStack, twoStepPolicy, type AlertingStack } from '../helpers/alerting';
import { eventually, uniqueName } from '../helpers/stack';

/**
 * OpenTelemetry in (issue 19), with the official OpenTelemetry JS SDK as the client: its OTLP/HTTP exporters
 * (protobuf and JSON, gzip too) send traces and metrics to POST /v1/traces and /v1/metrics with only an endpoint
 * and an Authorization header; spans are read back by trace id, the span-metrics job turns entry spans into RED
 * series, a seed-style rule on them fires, and the dashboard lists the traced service.
 */
describe('OTLP/HTTP from the OpenTelemetry SDK', () => {
  const service = uniqueName('otel-gw');
  const rule = uniqueName('traced_errors').replaceAll('-', '_');
  let stack: AlertingStack;
  let base: string;

  /**
   * instrumented runs test/helpers/otel-service.js — a Node service instrumented with the OpenTelemetry SDK,
   * configured by the standard OTEL_* environment only — and returns what it printed once its exports were answered.
   */
  const instrumented = async (serviceName: string, protocol: 'http/protobuf' | 'http/json', compression: 'gzip' | 'none', ...args: string[]) => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(__dirname, '../helpers/otel-service.js'), ...args], {
      env: {
        ...process.env,
        OTEL_EXPORTER_OTLP_ENDPOINT: base,
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer ${TEST_KEYS.service.token}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_COMPRESSION: compression,
        OTEL_SERVICE_NAME: serviceName,
        OTEL_RESOURCE_ATTRIBUTES: args[0] === 'metrics' ? 'service.namespace=trading,service.instance.id=i-1,host.name=box-1' : 'service.instance.id=gw-1,deployment.environment=test',
      },
      timeout: 30_000,
    });
    expect(stderr).toBe('');
    return JSON.parse(stdout.trim()) as { traceIds?: string[] };
  };

  beforeAll(async () => {
    stack = await startAlertingStack({
      name: 'otlp',
      service,
      metric: 'error_rate_percent',
      rulesYaml: `otlp_rules:\n  traced:\n    - name: ${rule}\n      expression: 'error_rate_percent{service="${service}", source="traces"} > 10'\n      severity: critical\n`,
      escalationYaml: twoStepPolicy('otlp'),
    });
    await stack.api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(stack.api.app.server.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(() => stack?.close());

  const get = async (url: string, role: keyof typeof TEST_KEYS = 'admin') => stack.api.app.inject({ url, headers: bearer(role) });

  it('stores the spans of an instrumented service, readable by trace id within 2 s, and derives RED series a rule fires on', async () => {
    // 40 requests spread over a window that is due for RED at once: 10 of them fail (25 % errors), each with a
    // client child span (a call it made: not a request it served, so not counted).
    const windowStart = Math.floor((Date.now() - RED_LAG_MS - 2 * RED_WINDOW_MS) / RED_WINDOW_MS) * RED_WINDOW_MS;
    const { traceIds = [] } = await instrumented(service, 'http/protobuf', 'gzip', 'traces', String(windowStart));
    expect(traceIds).toHaveLength(40);
    const flushedAt = Date.now();

    // A trace by its id: the server span and its child, parent to child, well within 2 s of the export's answer.
    const one = await eventually(async () => {
      const response = await get(`/api/v1/public/monitoring/traces/${traceIds[0]}`);
      expect(response.statusCode).toBe(200);
      return response.json();
    }, 2_000, 50);
    expect(Date.now() - flushedAt).toBeLessThan(2_000);
    expect(one.spans).toHaveLength(2);
    const [parent, child] = [one.spans.find((s: { kind: string }) => s.kind === 'server'), one.spans.find((s: { kind: string }) => s.kind === 'client')];
    expect(parent).toMatchObject({ service, name: 'POST /api/v1/predict', status_code: 'error', status_message: 'upstream timeout', duration_ms: 200, scope: 'otlp-test' });
    expect(parent.resource).toMatchObject({ 'service.name': service, 'service.instance.id': 'gw-1', 'deployment.environment': 'test' });
    expect(parent.attributes).toMatchObject({ 'http.route': '/api/v1/predict', 'http.response.status_code': '500' });
    expect(child).toMatchObject({ parent_span_id: parent.span_id, trace_id: traceIds[0], name: 'SELECT features', duration_ms: 150 });

    // The search: the service's traces with a span of at least 100 ms are the 10 failed ones.
    const slow = (await get(`/api/v1/public/monitoring/traces?service=${service}&from=${windowStart - 60_000}&min_duration=100ms&limit=100`)).json();
    expect(slow.traces).toHaveLength(10);
    expect(slow.traces.every((t: { errors: number; duration_ms: number }) => t.errors === 1 && t.duration_ms === 200)).toBe(true);
    // A viewer scoped to another service sees neither the list nor the trace.
    expect((await get(`/api/v1/public/monitoring/traces?service=${service}`, 'viewer')).statusCode).toBe(403);
    expect((await get(`/api/v1/public/monitoring/traces/${traceIds[0]}`, 'viewer')).statusCode).toBe(404);

    // RED for the window: 40 requests in 15 s, 25 % errors, per route too; then the rule on them fires.
    const derived = await stack.temporal.workflow.execute('spanMetricsWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('span-metrics'), args: [{}] });
    expect(derived.samples).toBeGreaterThan(0);
    const series = async (metric: string) =>
      (
        await (await stack.api.clickhouse.query({ query: 'SELECT labels, metric_value AS v, toUnixTimestamp64Milli(timestamp) AS t FROM performance_events WHERE metric_name = {m:String} AND service_name = {s:String} ORDER BY t', query_params: { m: metric, s: service }, format: 'JSONEachRow' })).json<{ labels: Record<string, string>; v: number; t: string | number }>()).map((r) => ({ ...r, t: Number(r.t) }));
    expect(await series('requests_per_second')).toEqual([{ labels: { source: 'traces' }, v: 40 / 15, t: windowStart + RED_WINDOW_MS }]);
    expect(await series('error_rate_percent')).toEqual([{ labels: { source: 'traces' }, v: 25, t: windowStart + RED_WINDOW_MS }]);
    const routes = await series('route_error_rate_percent');
    expect(routes.map((r) => [r.labels.route, r.v]).sort()).toEqual([['/api/v1/orders', 0], ['/api/v1/predict', 50]]);
    const p99 = (await series('response_time_p99_ms'))[0]!.v;
    expect(p99).toBeGreaterThan(150);
    expect(p99).toBeLessThanOrEqual(200);
    // A second run finds the window stored and writes nothing twice.
    await stack.temporal.workflow.execute('spanMetricsWorkflow', { taskQueue: stack.taskQueue, workflowId: uniqueName('span-metrics'), args: [{}] });
    expect(await series('requests_per_second')).toHaveLength(1);

    // The window's one sample is 60–75 s old when exported and older by the time the SDK process and the two runs
    // above are done (CI's production profile: past a 30 s interval's 60 s lookback once). A live service sends a
    // window every 15 s; this test has one, so it evaluates with a 60 s interval (120 s lookback).
    await stack.driver.evaluate(60_000);
    await eventually(async () => {
      const alerts = (await get(`/api/v1/internal/monitoring/alerts/${service}`)).json();
      expect(JSON.stringify(alerts)).toContain(rule);
    }, 30_000);
    // The dashboard lists the traced service, with its error rate from the traces.
    const dashboard = (await get('/api/v1/public/monitoring/dashboard')).json();
    expect(JSON.stringify(dashboard.dashboard_data)).toContain(service);
  }, 120_000);

  it('takes OTLP/JSON spans too, answering a partial success that names the span it refused', async () => {
    const { traceIds = [] } = await instrumented(`${service}-json`, 'http/json', 'none', 'span');
    expect((await get(`/api/v1/public/monitoring/traces/${traceIds[0]}`)).json().spans[0]).toMatchObject({ name: 'GET /health', kind: 'server', service: `${service}-json` });

    const good = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'ok', kind: 2, startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now() + 5) * 1_000_000n) };
    const zero = { ...good, traceId: '0'.repeat(32), spanId: 'eee19b7ec3c1b175' };
    const response = await stack.api.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { ...bearer('service'), 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: gzipSync(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: `${service}-json` } }] }, scopeSpans: [{ spans: [good, zero] }] }] })),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('trace_id must be 16 bytes') } });
    // Not OTLP at all: a 400 with a google.rpc.Status the exporter can log, nothing stored.
    const bad = await stack.api.app.inject({ method: 'POST', url: '/v1/traces', headers: { ...bearer('service'), 'content-type': 'application/json' }, payload: '{"resourceSpans": 3}' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ code: 3, message: expect.stringContaining('resourceSpans must be an array') });
    expect((await stack.api.app.inject({ method: 'POST', url: '/v1/traces', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(401);
  });

  it('maps SDK metrics — counter, up-down counter, gauge, histogram, exponential histogram — to Prometheus-style series', async () => {
    const metricsService = `${service}-metrics`;
    const query = async (promql: string) => {
      const body = (await get(`/api/v1/query?query=${encodeURIComponent(promql)}`)).json();
      expect(body.status).toBe('success');
      return body.data.result as Array<{ metric: Record<string, string>; value: [number, string] }>;
    };
    for (const [protocol, compression] of [['http/protobuf', 'gzip'], ['http/json', 'none']] as const) {
      const job = `${metricsService}-${protocol.slice(5)}`;
      await instrumented(job, protocol, compression, 'metrics');
      const at = `{job="trading/${job}"}`;
      const counter = await query(`http_server_requests_total${at}`);
      expect(counter.map((r) => [r.metric.http_response_status_code, r.value[1]]).sort()).toEqual([['200', '5'], ['500', '2']]);
      expect(counter[0]!.metric).toMatchObject({ job: `trading/${job}`, instance: 'i-1', http_route: '/orders' });
      expect((await query(`queue_depth${at}`))[0]!.value[1]).toBe('12');
      expect((await query(`cpu_utilization_ratio${at}`))[0]!.value[1]).toBe('0.42');
      const buckets = await query(`http_server_duration_milliseconds_bucket${at}`);
      expect(buckets.map((r) => [r.metric.le, r.value[1]]).sort((a, b) => Number(a[0]!.replace('+Inf', 'Infinity')) - Number(b[0]!.replace('+Inf', 'Infinity')))).toEqual([['10', '1'], ['100', '3'], ['1000', '4'], ['+Inf', '5']]);
      expect((await query(`http_server_duration_milliseconds_sum${at}`))[0]!.value[1]).toBe('5605');
      expect(Number((await query(`histogram_quantile(0.5, http_server_duration_milliseconds_bucket${at})`))[0]!.value[1])).toBeGreaterThan(10);
      // The exponential histogram as classic buckets at its exact bounds: every observation under the right one.
      const exp = await query(`order_size_bytes_bucket${at}`);
      const le = (v: number) => Number(exp.filter((r) => r.metric.le !== '+Inf' && Number(r.metric.le) >= v).sort((a, b) => Number(a.metric.le) - Number(b.metric.le))[0]!.value[1]);
      expect(le(3)).toBe(3);
      expect(le(1000)).toBe(4);
      expect((await query(`order_size_bytes_count${at}`))[0]!.value[1]).toBe('4');
      // The resource's other attributes: target_info.
      expect((await query(`target_info${at}`))[0]!.metric).toMatchObject({ host_name: 'box-1' });
    }
  }, 60_000);

  it('refuses delta temporality point by point in a partial success, and a body that is not OTLP with a 400 Status', async () => {
    const nowNs = String(BigInt(Date.now()) * 1_000_000n);
    const point = { timeUnixNano: nowNs, asInt: '3', attributes: [] };
    const body = {
      resourceMetrics: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `${service}-delta` } }] },
        scopeMetrics: [{ metrics: [
          { name: 'jobs.done', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [point, point] } },
          { name: 'jobs.running', gauge: { dataPoints: [point] } },
        ] }],
      }],
    };
    const response = await stack.api.app.inject({ method: 'POST', url: '/v1/metrics', headers: { ...bearer('service'), 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ partialSuccess: { rejectedDataPoints: '2', errorMessage: expect.stringContaining('delta temporality') } });
    const garbage = await stack.api.app.inject({ method: 'POST', url: '/v1/metrics', headers: { ...bearer('service'), 'content-type': 'application/x-protobuf' }, payload: Buffer.from([0x0a, 0x05, 0x01]) });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.headers['content-type']).toContain('application/x-protobuf');
  });

  it('answers 503 with Retry-After and an UNAVAILABLE Status while ClickHouse is down, for spans and metrics alike', async () => {
    const down = await startTestApi({ CLICKHOUSE_URL: 'http://127.0.0.1:1' });
    try {
      const nowNs = String(BigInt(Date.now()) * 1_000_000n);
      const resource = { attributes: [{ key: 'service.name', value: { stringValue: `${service}-down` } }] };
      const traces = { resourceSpans: [{ resource, scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b176', name: 'x', kind: 2, startTimeUnixNano: nowNs, endTimeUnixNano: nowNs }] }] }] };
      const metrics = { resourceMetrics: [{ resource, scopeMetrics: [{ metrics: [{ name: 'up.gauge', gauge: { dataPoints: [{ timeUnixNano: nowNs, asDouble: 1 }] } }] }] }] };
      for (const [url, payload] of [['/v1/traces', traces], ['/v1/metrics', metrics]] as const) {
        const response = await down.app.inject({ method: 'POST', url, headers: { ...bearer('service'), 'content-type': 'application/json' }, payload });
        expect(response.statusCode).toBe(503);
        expect(response.headers['retry-after']).toBeDefined();
        expect(response.json()).toMatchObject({ code: 14 });
      }
    } finally {
      await down.close();
    }
  }, 60_000);
});
