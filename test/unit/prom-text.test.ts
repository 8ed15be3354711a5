import { parsePromText, toSamples } from '../../core/prom-text';

describe('parsePromText', () => {
  it('parses the 0.0.4 text format: counters, gauges, histograms, summaries, escapes and timestamps', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.99"} 76656',
      'something_weird{problem="division by zero"} +Inf -3982045',
      '',
    ].join('\n');
    const { samples, types, errors } = parsePromText(text);
    expect(errors).toEqual([]);
    expect(types).toEqual({ http_requests_total: 'counter', http_request_duration_seconds: 'histogram', rpc_duration_seconds: 'summary' });
    expect(samples[0]).toEqual({ name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestampMs: 1395066363000 });
    expect(samples[2]).toEqual({ name: 'msdos_file_access_time_seconds', labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' }, value: 1.458255915e9 });
    expect(samples[3]).toEqual({ name: 'metric_without_timestamp_and_labels', labels: {}, value: 12.47 });
    expect(samples[5]?.labels).toEqual({ le: '+Inf' });
    expect(samples.at(-1)).toEqual({ name: 'something_weird', labels: { problem: 'division by zero' }, value: Infinity, timestampMs: -3982045 });
    expect(samples).toHaveLength(10);
  });

  it('parses OpenMetrics: timestamps in seconds, exemplars ignored, # EOF ends the text', () => {
    const text = [
      '# TYPE foo counter',
      '# UNIT foo seconds',
      'foo_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67',
      'foo_created{a="b"} 1520872607.123',
      '# EOF',
      'after_eof 1',
    ].join('\n');
    const { samples, errors } = parsePromText(text);
    expect(errors).toEqual([]);
    expect(samples).toEqual([
      { name: 'foo_total', labels: { a: 'b' }, value: 17, timestampMs: 1520879607789 },
      { name: 'foo_created', labels: { a: 'b' }, value: 1520872607.123 },
    ]);
  });

  it('names each bad line and keeps the good ones', () => {
    const { samples, errors } = parsePromText('ok 1\n9bad 1\nx{a="1" 2\ny{a="1"} notanumber\nz{a="1",a="2"} 1\nw 1 2 3\n');
    expect(samples).toEqual([{ name: 'ok', labels: {}, value: 1 }]);
    expect(errors).toEqual([
      { line: 2, error: 'expected a metric name' },
      { line: 3, error: 'expected , or } after label a' },
      { line: 4, error: 'invalid value "notanumber"' },
      { line: 5, error: 'duplicate label a' },
      { line: 6, error: 'expected "value [timestamp]"' },
    ]);
  });
});

describe('toSamples', () => {
  it('takes service from service or job, instance from instance, adds target labels, and refuses NaN and service-less samples', () => {
    const { samples } = parsePromText('a{job="node",instance="h:9100",cpu="0"} 1\nb 2\nc{service="x"} NaN\n');
    const withIdentity = toSamples(samples, { labels: { team: 'ml' } }, 1000);
    expect(withIdentity.samples).toEqual([{ timestampMs: 1000, service: 'node', instance: 'h:9100', name: 'a', value: 1, labels: { team: 'ml', cpu: '0' } }]);
    expect(withIdentity.errors.map((e) => e.index)).toEqual([1, 2]);
    const long = parsePromText(`x{service="s",a="${'v'.repeat(20)}"} 1\n`).samples;
    expect(toSamples(long, {}, 0, { maxLabels: 4, maxLabelLength: 10 }).errors).toEqual([{ index: 0, error: 'x: label a longer than 10 characters' }]);
    expect(toSamples(samples, { service: 'svc', instance: 'i' }, 5).samples[1]).toEqual({ timestampMs: 5, service: 'svc', instance: 'i', name: 'b', value: 2, labels: {} });
  });
});
