import { mayAccess, mayReadService, parseKeysFile } from '../../core/auth';
import { loadConfig } from '../../core/config';
import { QueryParams, sql, sqlIdentifier, tsvStringMap, dateTime64Text } from '../../core/escape';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import { serviceHealth } from '../../core/health';
import fc from 'fast-check';
import { aggregationOf, latestValues, mergeLatest, serviceMetrics, type LatestValues } from '../../core/realtime';
import { parseRuleDocument } from '../../core/rules';
import type { ActiveAlert, RealtimeSnapshot } from '../../core/types';

describe('fingerprint', () => {
  it('is stable under label order and differs by rule and labels', () => {
    const a = fingerprint('high_cpu_usage', { service: 'ml-inference', instance: 'i-1' });
    expect(fingerprint('high_cpu_usage', { instance: 'i-1', service: 'ml-inference' })).toBe(a);
    expect(fingerprint('critical_cpu_usage', { service: 'ml-inference', instance: 'i-1' })).not.toBe(a);
    expect(fingerprint('high_cpu_usage', { service: 'ml-inference', instance: 'i-2' })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(alertWorkflowId(a)).toBe(`alert/${a}`);
  });
});

describe('query parameters and identifiers', () => {
  it('binds values as placeholders, one per distinct value, and refuses non-finite numbers', () => {
    const params = new QueryParams();
    expect(params.string("it's")).toBe('{p0:String}');
    expect(params.float(3.5)).toBe('{p1:Float64}');
    expect(params.string("it's")).toBe('{p0:String}');
    expect(params.timeMs(1000)).toBe("fromUnixTimestamp64Milli({p2:Int64}, 'UTC')");
    expect(params.values).toEqual({ p0: "it's", p1: 3.5, p2: 1000 });
    expect(() => params.float(Number.NaN)).toThrow('not a finite number');
    expect(sql`SELECT ${'a'}, ${2}, ${0.5}, ${['x']}`).toEqual({ query: 'SELECT {p0:String}, {p1:Int64}, {p2:Float64}, {p3:Array(String)}', query_params: { p0: 'a', p1: 2, p2: 0.5, p3: ['x'] } });
  });

  it('quotes plain names as identifiers and refuses anything else', () => {
    expect(sqlIdentifier('performance_events')).toBe('`performance_events`');
    expect(() => sqlIdentifier('a`b')).toThrow('not a valid SQL identifier');
    expect(() => sqlIdentifier('')).toThrow('not a valid SQL identifier');
  });

  it('writes label maps and millisecond instants as TabSeparated fields', () => {
    expect(tsvStringMap({ b: "it's", a: 'x\ty' })).toBe("{'a':'x\\ty','b':'it\\'s'}");
    expect(tsvStringMap({})).toBe('{}');
    expect(dateTime64Text(1_700_000_000_005)).toBe('1700000000.005');
  });
});

describe('loadConfig', () => {
  it('applies the defaults of DESIGN.md', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      apiPort: 8080,
      temporal: { address: '127.0.0.1:7233', namespace: 'default', uiPort: 8233 },
      clickhouse: { url: 'http://127.0.0.1:8123', database: 'monitoring' },
      redisUrl: 'redis://127.0.0.1:6379',
      monitoring: { scrapeIntervalMs: 15_000, retentionDays: 365, batchSize: 200_000, cacheTtlSeconds: 60 },
      alert: { evaluationIntervalMs: 30_000, deduplicationWindowMs: 300_000, maxRetries: 3 },
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ ALERT_EVALUATION_INTERVAL: 'often' })).toThrow('ALERT_EVALUATION_INTERVAL: invalid duration');
    expect(() => loadConfig({ API_PORT: '-1' })).toThrow('API_PORT');
    expect(() => loadConfig({ CLICKHOUSE_DATABASE: 'x; DROP' })).toThrow('CLICKHOUSE_DATABASE');
  });
});

describe('auth', () => {
  it('lets each role reach only its routes', () => {
    expect(mayAccess('service', 'ingest')).toBe(true);
    expect(mayAccess('service', 'internal')).toBe(true);
    expect(mayAccess('service', 'admin')).toBe(false);
    expect(mayAccess('viewer', 'internal')).toBe(false);
    expect(mayAccess('viewer', 'public')).toBe(true);
    expect(mayAccess('admin', 'admin')).toBe(true);
    expect(mayReadService({ role: 'viewer', services: ['ml-inference'] }, 'api-gateway')).toBe(false);
    expect(mayReadService({ role: 'viewer', services: ['ml-inference'] }, 'ml-inference')).toBe(true);
  });

  it('validates the keys file', () => {
    expect(() => parseKeysFile('{"keys":[{"name":"v","token":"0123456789abcdef","role":"viewer"}]}')).toThrow('keys[0].services');
    expect(() => parseKeysFile('{"keys":[{"name":"a","token":"short","role":"admin"}]}')).toThrow('keys[0].token');
    expect(parseKeysFile('{"keys":[{"name":"a","token":"0123456789abcdef","role":"admin"}]}')).toEqual([
      { name: 'a', token: '0123456789abcdef', role: 'admin' },
    ]);
  });
});

describe('serviceHealth', () => {
  const rules = parseRuleDocument(
    'r:\n  g:\n    - {name: warn_cpu, expression: "cpu_usage_percent > 80", severity: warning}\n    - {name: crit_cpu, expression: "cpu_usage_percent > 95", severity: critical}\n',
  ).flatMap((g) => g.rules);
  const snapshot = (cpu: number): RealtimeSnapshot => ({
    cpu_usage: cpu,
    memory_usage: null,
    response_time_p95: null,
    error_rate: null,
    last_updated: '2026-01-01T00:00:00Z',
    ttl: 60,
    metrics: { cpu_usage_percent: cpu },
    instances: [],
  });

  it('is healthy under every threshold, warning or critical above them, unknown without data', () => {
    expect(serviceHealth('s', snapshot(67.5), rules).status).toBe('healthy');
    expect(serviceHealth('s', snapshot(85), rules).status).toBe('warning');
    expect(serviceHealth('s', snapshot(97), rules)).toEqual({
      status: 'critical',
      reasons: [
        { rule: 'warn_cpu', severity: 'warning', metric: 'cpu_usage_percent', value: 97, threshold: 80 },
        { rule: 'crit_cpu', severity: 'critical', metric: 'cpu_usage_percent', value: 97, threshold: 95 },
      ],
    });
    expect(serviceHealth('s', null, rules).status).toBe('unknown');
  });

  it('judges each instance that reports the metric, naming the breaching one; the service-level value only when none does', () => {
    const fleet: RealtimeSnapshot = {
      ...snapshot(58.5),
      instances: [
        { instance: 'i-1', metrics: { cpu_usage_percent: 97 }, last_updated: '' },
        { instance: 'i-2', metrics: { cpu_usage_percent: 20 }, last_updated: '' },
      ],
    };
    expect(serviceHealth('s', fleet, rules)).toEqual({
      status: 'critical',
      reasons: [
        { rule: 'warn_cpu', severity: 'warning', metric: 'cpu_usage_percent', value: 97, threshold: 80, instance: 'i-1' },
        { rule: 'crit_cpu', severity: 'critical', metric: 'cpu_usage_percent', value: 97, threshold: 95, instance: 'i-1' },
      ],
    });
    // Instances that report other metrics: the service's own value decides.
    const other: RealtimeSnapshot = { ...snapshot(85), instances: [{ instance: 'i-1', metrics: { memory_usage_percent: 40 }, last_updated: '' }] };
    expect(serviceHealth('s', other, rules).reasons).toEqual([{ rule: 'warn_cpu', severity: 'warning', metric: 'cpu_usage_percent', value: 85, threshold: 80 }]);
  });

  it('judges an anomaly rule by the anomaly scan’s alert, never by its placeholder threshold', () => {
    const withAnomaly = [
      ...rules,
      ...parseRuleDocument('r:\n  a:\n    - {name: cpu_anomaly, type: anomaly, metric: cpu_usage_percent, statistic: avg, severity: warning}\n').flatMap((g) => g.rules),
    ];
    // Every service reporting CPU was WARNING: "cpu_usage_percent 30 breaches cpu_anomaly (0)".
    expect(serviceHealth('s', snapshot(30), withAnomaly)).toEqual({ status: 'healthy', reasons: [] });
    const alert = (status: ActiveAlert['status'], rule = 'cpu_anomaly'): ActiveAlert => ({
      alert_id: 'a',
      fingerprint: 'f',
      rule,
      severity: 'warning',
      status,
      service: 's',
      instance: 's-1',
      metric: 'cpu_usage_percent',
      threshold: 0,
      current_value: 30,
      duration: 60,
      started_at: '2026-01-01T00:00:00Z',
      last_evaluation: '2026-01-01T00:01:00Z',
      summary: 'cpu above its usual band',
      workflow_id: 'alert/f',
    });
    expect(serviceHealth('s', snapshot(30), withAnomaly, [alert('firing')])).toEqual({
      status: 'warning',
      reasons: [{ rule: 'cpu_anomaly', severity: 'warning', metric: 'cpu_usage_percent', value: 30, threshold: 0 }],
    });
    expect(serviceHealth('s', snapshot(30), withAnomaly, [alert('pending')]).status).toBe('healthy');
    // A threshold rule's alert is already judged by its threshold on the snapshot.
    expect(serviceHealth('s', snapshot(30), withAnomaly, [alert('firing', 'warn_cpu')]).status).toBe('healthy');
  });
});

describe('realtime values of a service from its instances (core/realtime.ts)', () => {
  it('adds counts, rates and sizes, takes the worst latency or quantile, averages the rest', () => {
    expect(['http_requests_total', 'requests_per_second', 'network_in_bytes_per_sec', 'active_connections', 'queue_depth', 'heap_used_bytes', 'rpc_count'].map(aggregationOf)).toEqual(Array(7).fill('sum'));
    expect(['response_time_p95_ms', 'request_duration_seconds', 'db_latency', 'latency_p99'].map(aggregationOf)).toEqual(Array(4).fill('max'));
    expect(['cpu_usage_percent', 'memory_usage_percent', 'error_rate_percent', 'gpu_utilization', 'cache_hit_ratio'].map(aggregationOf)).toEqual(Array(5).fill('mean'));
    // Labels in the field do not change the metric's kind.
    expect(aggregationOf('http_requests_total{route="/a"}')).toBe('sum');
  });

  it('derives the service from its live instances; a series the service reports itself wins', () => {
    const instances = [
      { instance: 'a', metrics: { cpu_usage_percent: 90, active_connections: 10, response_time_p95_ms: 300 }, lastUpdatedMs: 0 },
      { instance: 'b', metrics: { cpu_usage_percent: 30, active_connections: 5, response_time_p95_ms: 40 }, lastUpdatedMs: 0 },
    ];
    expect(serviceMetrics({ orders_per_minute: 12 }, instances)).toEqual({ cpu_usage_percent: 60, active_connections: 15, response_time_p95_ms: 300, orders_per_minute: 12 });
    expect(serviceMetrics({ active_connections: 99 }, instances).active_connections).toBe(99);
    expect(serviceMetrics({}, [])).toEqual({});
    // Means are rounded to three decimals.
    const three = [98.1, 98.1, 98.5].map((cpu, i) => ({ instance: `i${i}`, metrics: { cpu_usage_percent: cpu }, lastUpdatedMs: 0 }));
    expect(serviceMetrics({}, three).cpu_usage_percent).toBe(98.233);
  });

  it('keeps each instance its own latest values, and the service its series without an instance', () => {
    const at = (timestampMs: number, instance: string, value: number, name = 'cpu_usage_percent') => ({ service: 's', instance, name, labels: {}, value, timestampMs });
    const latest = latestValues([at(2, 'a', 90), at(3, 'b', 20), at(1, 'a', 50), at(4, '', 7, 'orders')]).get('s')!;
    expect([...latest.perInstance].map(([i, f]) => [i, f.get('cpu_usage_percent')!.value])).toEqual([
      ['a', 90],
      ['b', 20],
    ]);
    expect([...latest.fields.keys()]).toEqual(['orders']);
    expect(Object.fromEntries(latest.instances)).toEqual({ a: 2, b: 3 });
  });

  it('merges two writes as if their samples had been reduced together (the realtime cache coalesces concurrent writes)', () => {
    const sample = fc.record({
      service: fc.constantFrom('s', 't'),
      instance: fc.constantFrom('', 'a', 'b'),
      name: fc.constantFrom('cpu_usage_percent', 'orders'),
      labels: fc.constantFrom<Record<string, string>>({}, { zone: 'x' }),
      value: fc.integer({ min: 0, max: 100 }),
      timestampMs: fc.integer({ min: 0, max: 5 }),
    });
    // Maps compared as sorted entries: the order of insertion is not part of the answer.
    const plain = (latest: LatestValues) =>
      [...latest].sort(([a], [b]) => a.localeCompare(b)).map(([service, l]) => ({
        service,
        fields: [...l.fields].sort(([a], [b]) => a.localeCompare(b)),
        perInstance: [...l.perInstance].sort(([a], [b]) => a.localeCompare(b)).map(([i, f]) => [i, [...f].sort(([a], [b]) => a.localeCompare(b))]),
        instances: [...l.instances].sort(([a], [b]) => a.localeCompare(b)),
      }));
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 30 }), fc.array(sample, { maxLength: 30 }), (first, second) => {
        expect(plain(mergeLatest(latestValues(first), latestValues(second)))).toEqual(plain(latestValues([...first, ...second])));
      }),
      { numRuns: 500 },
    );
  });
});
