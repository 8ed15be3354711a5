// An OpenTelemetry-instrumented Node service for the OTLP tests: the official SDK, configured only by OpenTelemetry's
// standard environment (OTEL_EXPORTER_OTLP_ENDPOINT, _HEADERS, _PROTOCOL, _COMPRESSION, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES), as a user's service would be. It runs as its own process because the SDK's exporters
// load node:http with a dynamic import(), which jest's module sandbox does not allow.
//
//   node otel-service.js traces <windowStartMs>   40 server requests (10 failing, on one route) in a window, each with a client child
//   node otel-service.js span                     one server span now
//   node otel-service.js metrics                  a counter, up-down counter, gauge, histogram, exponential histogram
// It prints one JSON line (the trace ids it made) once everything is exported, and exits.
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script run by node, outside jest */
'use strict';
const { context, SpanKind, SpanStatusCode, trace } = require('@opentelemetry/api');
const { resourceFromAttributes, envDetector } = require('@opentelemetry/resources');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { AggregationType, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');

const json = process.env.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json';
const traceExporter = () => new (require(json ? '@opentelemetry/exporter-trace-otlp-http' : '@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)();
const metricExporter = () => new (require(json ? '@opentelemetry/exporter-metrics-otlp-http' : '@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter)();
const resource = resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME }).merge(resourceFromAttributes(envDetector.detect().attributes ?? {}));

async function main() {
  const [scenario, arg] = process.argv.slice(2);
  if (scenario === 'traces' || scenario === 'span') {
    const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(traceExporter(), { maxExportBatchSize: 512 })] });
    const tracer = provider.getTracer('otlp-test', '1.0.0');
    const ids = [];
    if (scenario === 'span') {
      const span = tracer.startSpan('GET /health', { kind: SpanKind.SERVER });
      span.end();
      ids.push(span.spanContext().traceId);
    } else {
      const windowStart = Number(arg);
      for (let i = 0; i < 40; i++) {
        const start = windowStart + 100 + i * 300;
        const route = i % 2 === 0 ? '/api/v1/predict' : '/api/v1/orders';
        // Every fourth request fails: 10 of 40, all on /api/v1/predict.
        const failing = i % 4 === 0;
        const server = tracer.startSpan(`POST ${route}`, { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.route': route, 'http.request.method': 'POST', 'http.response.status_code': failing ? 500 : 200 } });
        if (failing) server.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream timeout' });
        const child = tracer.startSpan('SELECT features', { kind: SpanKind.CLIENT, startTime: start + 5, attributes: { 'db.system': 'clickhouse' } }, trace.setSpan(context.active(), server));
        child.end(start + 5 + (failing ? 150 : 20));
        server.end(start + (failing ? 200 : 30 + i));
        ids.push(server.spanContext().traceId);
      }
    }
    await provider.forceFlush();
    await provider.shutdown();
    process.stdout.write(`${JSON.stringify({ traceIds: ids })}\n`);
    return;
  }
  if (scenario === 'metrics') {
    const provider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter: metricExporter(), exportIntervalMillis: 3_600_000 })],
      views: [{ instrumentName: 'order.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter('orders', '2.0');
    const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
    requests.add(5, { 'http.route': '/orders', 'http.response.status_code': 200 });
    requests.add(2, { 'http.route': '/orders', 'http.response.status_code': 500 });
    meter.createUpDownCounter('queue.depth', { unit: '{message}' }).add(12);
    meter.createObservableGauge('cpu.utilization', { unit: '1' }).addCallback((r) => r.observe(0.42));
    const latency = meter.createHistogram('http.server.duration', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100, 1000] } });
    for (const v of [5, 50, 50, 500, 5000]) latency.record(v);
    const sizes = meter.createHistogram('order.size', { unit: 'By' });
    for (const v of [1, 2, 3, 1000]) sizes.record(v);
    await provider.forceFlush();
    await provider.shutdown();
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    return;
  }
  throw new Error(`unknown scenario ${scenario}`);
}

// A refused or failed export is an error of this process (the SDK would only log it).
const { diag, DiagLogLevel } = require('@opentelemetry/api');
diag.setLogger({ error: (...a) => { process.stderr.write(`otel error: ${a.join(' ')}\n`); process.exitCode = 3; }, warn: (...a) => process.stderr.write(`otel warn: ${a.join(' ')}\n`), info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(2);
});
