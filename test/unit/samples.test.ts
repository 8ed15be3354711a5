import { parsePromText } from '../../core/prom-text';
import { toSamples } from '../../core/prom-samples';
import { flattenIngestBody, parseTimestamp } from '../../core/samples';
import { seedBusinessMetrics, seedDatabaseMetrics, seedSystemMetrics } from '../fixtures/seed';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('flattenIngestBody', () => {
  it('turns the seed system_metrics example into one sample per metric, jvm_ prefixed for jvm_metrics', () => {
    const { samples, rejected } = flattenIngestBody(seedSystemMetrics, NOW);
    expect(rejected).toEqual([]);
    expect(samples).toHaveLength(14);
    const cpu = samples.find((s) => s.name === 'cpu_usage_percent');
    expect(cpu).toEqual({
      timestampMs: Date.parse('2025-07-26T10:30:00Z'),
      service: 'ml-inference',
      instance: 'ml-inference-001',
      name: 'cpu_usage_percent',
      value: 67.5,
      labels: {},
    });
    expect(samples.filter((s) => s.name.startsWith('jvm_')).map((s) => s.name)).toEqual([
      'jvm_heap_used_bytes',
      'jvm_heap_committed_bytes',
      'jvm_non_heap_used_bytes',
      'jvm_gc_collections_total',
      'jvm_gc_time_total_ms',
    ]);
  });

  it('labels nested maps by their dimension: api_usage_by_tier{tier} and table_size_bytes{table}', () => {
    const business = flattenIngestBody(seedBusinessMetrics, NOW);
    expect(business.rejected).toEqual([]);
    expect(business.samples.filter((s) => s.name === 'api_usage_by_tier').map((s) => [s.labels.tier, s.value])).toEqual([
      ['free', 234],
      ['basic', 567],
      ['premium', 890],
      ['enterprise', 123],
    ]);
    expect(business.samples.every((s) => s.service === 'business')).toBe(true);
    const database = flattenIngestBody(seedDatabaseMetrics, NOW);
    const sizes = database.samples.filter((s) => s.name === 'table_size_bytes');
    expect(sizes.map((s) => s.labels)).toEqual([
      { database_type: 'clickhouse', table: 'market_data' },
      { database_type: 'clickhouse', table: 'predictions' },
      { database_type: 'clickhouse', table: 'features' },
    ]);
    expect(sizes[0]?.service).toBe('clickhouse-main');
  });

  it('keeps valid metrics and names each invalid one with index and field', () => {
    const body = [
      seedSystemMetrics,
      { system_metrics: { ...seedSystemMetrics.system_metrics, metrics: { cpu_usage_percent: 'high', thread_count: 3 } } },
      { system_metrics: { ...seedSystemMetrics.system_metrics, timestamp: 'yesterday' } },
      { unknown_metrics: {} },
    ];
    const { samples, rejected } = flattenIngestBody(body, NOW);
    expect(samples).toHaveLength(14 + 1 + 5);
    expect(rejected).toEqual([
      { index: 1, field: 'body[1].system_metrics.metrics.cpu_usage_percent', error: 'expected a finite number' },
      { index: 2, field: 'body[2].system_metrics.timestamp', error: expect.stringContaining('RFC 3339') },
      { index: 3, field: 'body[3].unknown_metrics', error: expect.stringContaining('unknown envelope') },
    ]);
  });

  it('rejects a whole envelope without service_name and keeps nothing of it', () => {
    const { samples, rejected } = flattenIngestBody({ system_metrics: { timestamp: '2025-07-26T10:30:00Z', metrics: { a: 1 } } }, NOW);
    expect(samples).toEqual([]);
    expect(rejected).toEqual([{ index: 0, field: 'body.system_metrics.service_name', error: 'required non-empty string' }]);
  });

  it('reads generic samples, taking service and instance from labels and stamping missing timestamps with now', () => {
    const { samples, rejected } = flattenIngestBody(
      { samples: [{ name: 'queue_depth', value: 3, labels: { service: 'api-gateway', instance: 'gw-1', queue: 'orders' } }, { name: 'x', value: 1 }] },
      NOW,
    );
    expect(samples).toEqual([{ timestampMs: NOW, service: 'api-gateway', instance: 'gw-1', name: 'queue_depth', value: 3, labels: { queue: 'orders' } }]);
    expect(rejected).toEqual([{ index: 0, field: 'body.samples[1].labels.service', error: expect.stringContaining('required') }]);
  });

  it('refuses more labels than the limit and over-long label values, naming the label', () => {
    const labels = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`l${i}`, 'v']));
    const tooMany = flattenIngestBody({ samples: [{ name: 'm', value: 1, labels: { service: 's', ...labels } }] }, NOW, { maxLabels: 3, maxLabelLength: 64 });
    expect(tooMany.rejected[0]).toMatchObject({ field: 'body.samples[0].labels', error: 'more than 3 labels' });
    const tooLong = flattenIngestBody({ samples: [{ name: 'm', value: 1, labels: { service: 's', team: 'x'.repeat(65) } }] }, NOW, { maxLabels: 8, maxLabelLength: 64 });
    expect(tooLong.rejected[0]).toMatchObject({ field: 'body.samples[0].labels.team', error: 'longer than 64 characters' });
  });

  it('refuses label names starting with __ (reserved, as in Prometheus), including __proto__', () => {
    const body = JSON.parse('{"samples": [{"name": "m", "value": 1, "labels": {"service": "s", "__proto__": "x"}}, {"name": "m", "value": 2, "labels": {"service": "s", "__name__": "y"}}]}') as unknown;
    const { samples, rejected } = flattenIngestBody(body, NOW);
    expect(samples).toEqual([]);
    expect(rejected.map((r) => [r.field, r.error])).toEqual([
      ['body.samples[0].labels.__proto__', 'label names starting with __ are reserved'],
      ['body.samples[1].labels.__name__', 'label names starting with __ are reserved'],
    ]);
  });
});

describe('sample and event timestamps', () => {
  const now = Date.UTC(2026, 10, 29);
  it('refuses a timestamp before 2000 or more than a day ahead, naming the field (ClickHouse would refuse the batch)', () => {
    for (const timestamp of [0, 1, '1969-12-31T23:59:59Z', Date.UTC(1999, 11, 31), now + 86_400_001, '2200-01-01T00:00:00Z', 8.64e15]) {
      expect(() => parseTimestamp(timestamp, 'body.timestamp', now)).toThrow(expect.objectContaining({ field: 'body.timestamp', message: 'timestamp out of range: from 2000-01-01 to 24 hours from now' }));
    }
    expect(parseTimestamp('2025-07-26T10:30:00Z', 'body.timestamp', now)).toBe(Date.UTC(2025, 6, 26, 10, 30));
    expect(parseTimestamp(now + 86_400_000, 'body.timestamp', now)).toBe(now + 86_400_000);
    expect(() => parseTimestamp('yesterday', 'body.timestamp', now)).toThrow(/expected an RFC 3339 timestamp/);
  });

  it('refuses a sample older than the retention in every format, naming it (the TTL would drop it on arrival)', () => {
    const oldestMs = now - 365 * 86_400_000;
    const message = 'timestamp out of range: from 2025-11-29 (the retention) to 24 hours from now';
    expect(() => parseTimestamp(oldestMs - 1, 'body.timestamp', now, oldestMs)).toThrow(expect.objectContaining({ field: 'body.timestamp', message }));
    expect(parseTimestamp(oldestMs, 'body.timestamp', now, oldestMs)).toBe(oldestMs);
    const json = flattenIngestBody({ samples: [{ name: 'a', value: 1, timestamp: oldestMs - 1000, labels: { service: 's' } }, { name: 'b', value: 2, labels: { service: 's' } }] }, now, { maxLabels: 32, maxLabelLength: 1024, oldestMs });
    expect(json.samples.map((x) => x.name)).toEqual(['b']);
    expect(json.rejected).toEqual([{ index: 0, field: 'body.samples[0].timestamp', error: message }]);
    const text = toSamples(parsePromText('old{service="s"} 1 1000\nnew{service="s"} 2\nfar{service="s"} 3 99999999999999\n').samples, {}, now, { maxLabels: 32, maxLabelLength: 1024, oldestMs });
    expect(text.samples.map((x) => x.name)).toEqual(['new']);
    expect(text.errors).toEqual([
      { index: 0, error: `old: ${message}` },
      { index: 2, error: `far: ${message}` },
    ]);
  });

  it('refuses per sample the text bodies whose timestamps failed a whole shared insert', () => {
    const identity = { service: 's' };
    for (const [body, openMetrics] of [['a 0 -1\n', false], ['a_total 1 0.0\n# EOF\n', true], ['a_total 1 12345678901234567890.1\n# EOF\n', true]] as const) {
      const parsed = parsePromText(body, openMetrics ? 'openmetrics' : 'prometheus');
      expect(parsed.errors).toEqual([]);
      const { samples, errors } = toSamples(parsed.samples, identity, now);
      expect(samples).toEqual([]);
      expect(errors).toEqual([{ index: 0, error: expect.stringContaining('timestamp out of range') }]);
    }
  });
});
