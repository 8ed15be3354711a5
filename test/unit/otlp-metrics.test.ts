import { attributeLabels, exponentialBuckets, metricName, unitSuffix } from '../../core/otlp-metrics';
import { decodeMetricsRequest, decodeTraceRequest, metricsRequestFromJson, OtlpError, traceRequestFromJson } from '../../core/otlp';
import { ProtobufWriter } from '../../core/protobuf';

/** Cases from OpenTelemetry's Prometheus compatibility specification and Prometheus' OTLP translator. */
describe('OTLP metric names and labels as Prometheus names', () => {
  it.each([
    ['http.server.duration', 'ms', 'histogram', 'http_server_duration_milliseconds'],
    ['system.network.io', 'By', 'counter', 'system_network_io_bytes_total'],
    ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
    ['http.server.requests', '{request}', 'counter', 'http_server_requests_total'],
    ['vehicle.speed', 'm/s', 'gauge', 'vehicle_speed_meters_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['process_cpu_seconds_total', 's', 'counter', 'process_cpu_seconds_total'],
    ['jobs_total', 's', 'counter', 'jobs_seconds_total'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius'],
    ['2xx.responses', '', 'counter', '_2xx_responses_total'],
    ['queue..depth', '', 'gauge', 'queue_depth'],
  ] as const)('%s [%s] as a %s → %s', (name, unit, type, expected) => {
    expect(metricName(name, unit, type)).toBe(expected);
  });

  it('drops annotations and keeps unknown units as words', () => {
    expect(unitSuffix('{packets}')).toBe('');
    expect(unitSuffix('1')).toBe('');
    expect(unitSuffix('widgets')).toBe('widgets');
    expect(unitSuffix('{req}/min')).toBe('per_min');
  });

  it('escapes attribute keys, prefixes a leading digit, and joins colliding keys\' values by key order', () => {
    expect(attributeLabels({ 'http.route': '/a', '5xx': 'y', 'a.b': '1', a_b: '2' })).toEqual({ http_route: '/a', key_5xx: 'y', a_b: '1;2' });
  });
});

describe('exponential histograms as classic buckets', () => {
  it('puts each bucket at its exact upper bound, cumulative from the most negative', () => {
    // scale 0: base 2. Positive bucket i holds (2^i, 2^(i+1)]; negative bucket i holds [-2^(i+1), -2^i).
    const buckets = exponentialBuckets({
      attributes: {},
      startNs: 0n,
      timeNs: 1n,
      flags: 0,
      count: 9,
      scale: 0,
      zeroCount: 1,
      zeroThreshold: 0,
      positive: { offset: 0, counts: [2, 3] },
      negative: { offset: 1, counts: [1, 2] },
    });
    expect(buckets).toEqual([
      { le: -4, count: 2 },
      { le: -2, count: 3 },
      { le: 0, count: 4 },
      { le: 2, count: 6 },
      { le: 4, count: 9 },
      { le: Infinity, count: 9 },
    ]);
  });

  it('uses finer bases at higher scales', () => {
    const [first] = exponentialBuckets({ attributes: {}, startNs: 0n, timeNs: 1n, flags: 0, count: 1, scale: 1, zeroCount: 0, zeroThreshold: 0, positive: { offset: 2, counts: [1] }, negative: { offset: 0, counts: [] } });
    // scale 1: base √2, bucket 2 holds (2, 2√2].
    expect(first).toEqual({ le: 0, count: 0 });
    expect(exponentialBuckets({ attributes: {}, startNs: 0n, timeNs: 1n, flags: 0, count: 1, scale: 1, zeroCount: 0, zeroThreshold: 0, positive: { offset: 2, counts: [1] }, negative: { offset: 0, counts: [] } })[1]!.le).toBeCloseTo(2 * Math.SQRT2, 12);
  });
});

describe('OTLP request decoding', () => {
  it('refuses a protobuf body that lies about its lengths, and JSON of the wrong shape, naming where', () => {
    expect(() => decodeMetricsRequest(Uint8Array.from([0x0a, 0x05, 0x01]))).toThrow(OtlpError);
    expect(() => metricsRequestFromJson({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'x', gauge: { dataPoints: [{ asDouble: 'high' }] } }] }] }] })).toThrow(
      'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].asDouble must be a number',
    );
  });

  it('refuses attribute values nested deeper than 16 levels instead of exhausting the stack', () => {
    let value = new ProtobufWriter().string(1, 'leaf');
    for (let i = 0; i < 100; i++) value = new ProtobufWriter().message(5, new ProtobufWriter().message(1, value));
    const span = new ProtobufWriter().message(9, new ProtobufWriter().string(1, 'deep').message(2, value));
    const body = new ProtobufWriter().message(1, new ProtobufWriter().message(2, new ProtobufWriter().message(2, span))).finish();
    expect(() => decodeTraceRequest(body)).toThrow('nest deeper than 16');
    let json: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 100; i++) json = { arrayValue: { values: [json] } };
    expect(() => traceRequestFromJson({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'deep', value: json }] }] }] }] })).toThrow(OtlpError);
  });

  it('reads OTLP/JSON with 64-bit integers as strings, enums by name and snake_case field names', () => {
    const [rm] = metricsRequestFromJson({
      resource_metrics: [{ scope_metrics: [{ metrics: [{ name: 'x', sum: { aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', is_monotonic: true, data_points: [{ time_unix_nano: '1700000000000000001', as_int: '9007199254740993' }] } }] }] }],
    });
    const metric = rm!.scopes[0]!.metrics[0]!;
    expect(metric).toMatchObject({ kind: 'sum', temporality: 2, monotonic: true });
    expect(metric.points[0]).toMatchObject({ timeNs: 1700000000000000001n });
  });
});
