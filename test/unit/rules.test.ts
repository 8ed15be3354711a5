import { groupUnits } from '../../core/rule-sql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../core/duration';
import { compare, evaluatedGroups, isShadow, isThresholdRule, limitAlerts, mergeRuleGroups, parseExpression, parseRule, parseRuleDocument, RuleError } from '../../core/rules';
import { alertLabels } from '../../core/alert';
import { dependencyDecision } from '../../core/silences';

describe('parseExpression (the PromQL subset, parsed by @prometheus-io/lezer-promql)', () => {
  it('parses a threshold with label matchers', () => {
    expect(parseExpression('cpu_usage_percent{service="ml-inference", instance=~"ml-.*"} >= 80.5')).toEqual({
      expr: {
        kind: 'selector',
        metric: 'cpu_usage_percent',
        matchers: [
          { label: 'service', op: '=', value: 'ml-inference' },
          { label: 'instance', op: '=~', value: 'ml-.*' },
        ],
      },
      metric: 'cpu_usage_percent',
      op: '>=',
      threshold: 80.5,
    });
  });

  it('parses rate, *_over_time, aggregations and arithmetic into one tree', () => {
    expect(parseExpression('rate(api_requests_total[5m]) > 1000')).toEqual({
      expr: { kind: 'range', fn: 'rate', metric: 'api_requests_total', matchers: [], rangeMs: 300_000 },
      metric: 'api_requests_total',
      op: '>',
      threshold: 1000,
    });
    const errorRatio = parseExpression(
      "100 * sum by (service) (rate(errors_total{tier!='free'}[5m])) / sum by (service) (rate(requests_total[5m])) > 2",
    );
    expect(errorRatio.expr).toEqual({
      kind: 'binary',
      op: '/',
      left: {
        kind: 'binary',
        op: '*',
        left: { kind: 'number', value: 100 },
        right: { kind: 'aggregate', op: 'sum', by: ['service'], expr: { kind: 'range', fn: 'rate', metric: 'errors_total', matchers: [{ label: 'tier', op: '!=', value: 'free' }], rangeMs: 300_000 } },
      },
      right: { kind: 'aggregate', op: 'sum', by: ['service'], expr: { kind: 'range', fn: 'rate', metric: 'requests_total', matchers: [], rangeMs: 300_000 } },
    });
    expect(errorRatio.metric).toBe('errors_total');
    expect(parseExpression('avg(max_over_time(cpu[10m])) by (instance, service) <= 5').expr).toMatchObject({ kind: 'aggregate', op: 'avg', by: ['instance', 'service'] });
    // A number on the left flips the comparison; constant arithmetic folds; unary minus negates.
    expect(parseExpression('0.65 > prediction_accuracy')).toMatchObject({ op: '<', threshold: 0.65 });
    expect(['x == 1', 'x != 1', 'x >= 1', 'x <= 1', 'x < 1', 'x > 1'].map((t) => parseExpression(t).op)).toEqual(['==', '!=', '>=', '<=', '<', '>']);
    expect(parseExpression('-(x) * (2 + 3) != -1').expr).toEqual({
      kind: 'binary',
      op: '*',
      left: { kind: 'binary', op: '*', left: { kind: 'selector', metric: 'x', matchers: [] }, right: { kind: 'number', value: -1 } },
      right: { kind: 'number', value: 5 },
    });
    expect(parseExpression("x{a='it\\'s', b=`raw\\n`} > 1").expr).toMatchObject({ matchers: [{ value: "it's" }, { value: 'raw\\n' }] });
  });

  it.each([
    ['cpu_usage_percent', 'compares with a number', 1],
    ['cpu_usage_percent > high', 'one side of the comparison must be a number', 19],
    ['abs(x) > 1', 'function abs() is outside the supported subset', 1],
    ['rate(x) > 1', 'rate() takes one range vector', 6],
    ['x[5m] > 1', 'a range vector must be the argument', 1],
    ['x offset 5m > 1', 'offset is outside', 1],
    ['rate(x[5m:1m]) > 1', 'rate() takes one range vector', 6],
    ['sum without (a) (x) > 1', 'without() is outside', 5],
    ['topk(3, x) > 1', 'aggregation topk is outside', 1],
    ['x > bool 1', 'is outside the supported subset (no bool', 5],
    ['x / on(a) y > 1', 'no bool, on() or ignoring()', 5],
    ['(x > 1) * 2 > 3', 'a comparison is allowed only once', 4],
    ['x and y > 1', 'operator "and" is outside', 3],
    ['{__name__="x"} > 1', 'needs a metric name', 1],
    ['cpu{service="x" > 1', 'syntax error', 17],
    ['rate(x[5m] > 1', 'unexpected end of expression', 15],
    ['1 > 2', 'one side of the comparison must be a number', 3],
  ])('rejects %s with the reason and column', (text, reason, column) => {
    let error: RuleError | undefined;
    try {
      parseExpression(text);
    } catch (err) {
      error = err as RuleError;
    }
    expect(error).toBeInstanceOf(RuleError);
    expect(error?.message).toContain(reason);
    expect(error?.message).toContain(`at column ${column}`);
  });

  it('compares with every operator', () => {
    expect([compare(2, '>', 1), compare(1, '>=', 1), compare(0, '<', 1), compare(1, '<=', 1), compare(1, '==', 1), compare(1, '!=', 2)]).toEqual([
      true, true, true, true, true, true,
    ]);
    expect(compare(1, '>', 1)).toBe(false);
  });
});

describe('parseRuleDocument', () => {
  it('loads the shipped seed rules with their durations and severities', () => {
    const text = readFileSync(path.resolve(__dirname, '../../config/rules/system-health.yaml'), 'utf8');
    const [group] = parseRuleDocument(text, 'system-health.yaml');
    const highCpu = group?.rules.find((r) => r.name === 'high_cpu_usage');
    expect(highCpu).toMatchObject({
      group: 'system_health',
      durationMs: 5 * 60_000,
      severity: 'warning',
      condition: { metric: 'cpu_usage_percent', op: '>', threshold: 80, expr: { kind: 'selector', metric: 'cpu_usage_percent', matchers: [] } },
      labels: { category: 'resource' },
      annotations: { summary: 'High CPU usage detected' },
    });
  });

  it('loads Prometheus rule files (alert/expr/for, severity as a label)', () => {
    const groups = parseRuleDocument(
      'groups:\n  - name: g\n    interval: 30s\n    rules:\n      - alert: HighErrors\n        expr: error_rate_percent > 1\n        for: 1m\n        labels: {severity: critical, team: ml}\n',
    );
    expect(groups).toEqual([
      {
        name: 'g',
        intervalMs: 30_000,
        rules: [expect.objectContaining({ name: 'HighErrors', durationMs: 60_000, severity: 'critical', labels: { team: 'ml' } })],
      },
    ]);
  });

  it('names the field of a bad rule', () => {
    expect(() => parseRuleDocument('r:\n  g:\n    - name: x\n      expression: "a > 1"\n      severity: [page]\n', 'f.yaml')).toThrow('f.yaml:r.g[0].severity: expected a severity string');
  });

  it('takes any severity a rule file writes, routing it by level and keeping it as the alert label', () => {
    const rules = parseRuleDocument(
      'groups:\n  - name: g\n    rules:\n' +
        ['page', 'P1', 'high', 'warning', 'low', 'ticket', 'critical'].map((s, i) => `      - {alert: a${i}, expr: "x > ${i}", labels: {severity: ${s}}}\n`).join(''),
    )[0]!.rules;
    expect(rules.map((r) => [r.severity, r.labels.severity])).toEqual([
      ['critical', 'page'],
      ['critical', 'P1'],
      ['critical', 'high'],
      ['warning', undefined],
      ['info', 'low'],
      ['warning', 'ticket'],
      ['critical', undefined],
    ]);
  });

  it('reads Prometheus 2 rule files: holt_winters() as its Prometheus 3 name, a trailing-dot number', () => {
    const [group] = parseRuleDocument('groups:\n  - name: g\n    rules:\n      - {alert: DiskTrend, expr: "holt_winters(disk_used_bytes[1h], 0.3, 0.3) > 1. * 2"}\n');
    expect(group!.rules[0]!.promql).toMatchObject({ type: 'binary', lhs: { type: 'call', fn: 'double_exponential_smoothing' } });
  });

  it('tells apart rules that share an alert name (the warning/critical pair), keeping the name as their alertname', () => {
    const file = (severities: string[]) =>
      parseRuleDocument(`groups:\n  - name: g\n    rules:\n${severities.map((s, i) => `      - {alert: HighCPU, expr: "cpu > ${80 + i}", labels: {severity: ${s}}}\n`).join('')}`);
    const merged = mergeRuleGroups([file(['warning', 'critical', 'critical'])]).flatMap((g) => g.rules);
    expect(merged.map((r) => [r.name, r.alertname])).toEqual([
      ['HighCPU', undefined],
      ['HighCPU:critical', 'HighCPU'],
      ['HighCPU:critical:2', 'HighCPU'],
    ]);
    expect(alertLabels({ labels: {}, rule: merged[1]!, service: 's', instance: 'i' })).toMatchObject({ alertname: 'HighCPU', severity: 'critical' });
  });
});

describe('group limit', () => {
  it("reads a group's limit and fails a rule's evaluation with more alerts than it (the others are kept)", () => {
    const [group] = parseRuleDocument('groups:\n  - name: g\n    limit: 2\n    rules:\n      - {alert: HighCpu, expr: cpu > 90}\n      - {alert: Down, expr: up == 0}\n');
    expect(group!.limit).toBe(2);
    const series = (values: number[], breaching?: boolean) => values.map((value) => ({ value, ...(breaching === undefined ? {} : { breaching }) }));
    // HighCpu: three values above 90 (SQL path: judged by its threshold); Down: two alerts, within the limit.
    const { series: kept, exceeded } = limitAlerts(group!.rules, [series([95, 97, 99, 10]), series([0, 0], true)], group!.limit!);
    expect(exceeded).toEqual([{ rule: 'HighCpu', alerts: 3 }]);
    expect(kept).toEqual([[], series([0, 0], true)]);
    expect(limitAlerts(group!.rules, [series([95, 97, 99])], 0).exceeded).toEqual([]);
    expect(() => parseRuleDocument('groups:\n  - name: g\n    limit: -1\n    rules: []\n')).toThrow(/limit/);
  });

  it("puts a group's labels on each of its rules (the rule's own win) and reads its query_offset", () => {
    const [group] = parseRuleDocument('groups:\n  - name: g\n    query_offset: 1m\n    labels: {team: db, severity: critical}\n    rules:\n      - {alert: A, expr: up == 0}\n      - {alert: B, expr: up == 0, labels: {severity: info}}\n      - {record: r, expr: up}\n');
    expect(group!.queryOffsetMs).toBe(60_000);
    expect(group!.rules.map((r) => [r.labels, r.severity])).toEqual([
      [{ team: 'db' }, 'critical'],
      [{ team: 'db' }, 'info'],
    ]);
    expect(group!.records![0]!.labels).toEqual({ team: 'db', severity: 'critical' });
  });
});

describe('parseDuration', () => {
  it('reads Prometheus durations', () => {
    expect([parseDuration('15s'), parseDuration('5m'), parseDuration('1h30m'), parseDuration('250ms'), parseDuration('300')]).toEqual([
      15_000, 300_000, 5_400_000, 250, 300_000,
    ]);
    expect(() => parseDuration('5 minutes')).toThrow('invalid duration');
  });
});

describe('anomaly rules (type: anomaly)', () => {
  const doc = (rule: string) => `anomaly_rules:\n  anomalies:\n    - ${rule}\n  limits:\n    - {name: cpu_high, expression: "cpu_usage_percent > 80"}\n`;

  it('reads the metric, statistic and method, and leaves them out of the evaluation schedules', () => {
    const groups = parseRuleDocument(doc('{name: latency_anomaly, type: anomaly, metric: response_time_p95_ms, statistic: p95, method: seasonal, duration: 5m, severity: critical}'));
    const rule = groups[0]!.rules[0]!;
    expect(rule).toMatchObject({ name: 'latency_anomaly', anomaly: { metric: 'response_time_p95_ms', statistic: 'p95', method: 'seasonal' }, durationMs: 300_000, severity: 'critical' });
    expect(rule.expression).toBe('anomaly(p95(response_time_p95_ms), seasonal)');
    expect(isThresholdRule(rule)).toBe(false);
    expect(evaluatedGroups(groups).map((g) => g.name)).toEqual(['limits']);
    // Defaults: the average, the novelty detector.
    expect(parseRuleDocument(doc('{name: a, type: anomaly, metric: m}'))[0]!.rules[0]!.anomaly).toEqual({ metric: 'm', statistic: 'avg', method: 'novelty' });
  });

  it('names the field of a bad anomaly rule', () => {
    expect(() => parseRuleDocument(doc('{name: a, type: anomaly}'))).toThrow(/anomalies\[0\]\.metric: required metric name/);
    expect(() => parseRuleDocument(doc('{name: a, type: anomaly, metric: m, method: magic}'))).toThrow(/\.method: expected one of .*novelty/);
    expect(() => parseRuleDocument(doc('{name: a, type: anomaly, metric: m, statistic: p42}'))).toThrow(/\.statistic: expected one of avg/);
    expect(() => parseRuleDocument(doc('{name: a, type: guess, expression: "m > 1"}'))).toThrow(/\.type: expected threshold or anomaly/);
  });
});

describe('depends_on (a rule\'s parent)', () => {
  it('reads the parent from the rule or, in a Prometheus file, from annotations; mutes a child only while its parent fires with equal labels', () => {
    const [seed] = parseRuleDocument('g:\n  x:\n    - name: ApiErrors\n      expression: "err > 5"\n      depends_on: {alertname: DatabaseDown, equal: [cluster]}\n', 'a.yaml');
    expect(seed!.rules[0]!.dependsOn).toEqual({ matchers: [{ name: 'alertname', value: 'DatabaseDown', isRegex: false, isEqual: true }], equal: ['cluster'] });
    const [prom] = parseRuleDocument(
      'groups:\n  - name: g\n    rules:\n      - alert: ApiErrors\n        expr: err > 5\n        annotations: {depends_on: \'alertname="DatabaseDown", cluster=~"eu.*"\', depends_on_equal: "cluster"}\n',
      'b.yaml',
    );
    const dependsOn = prom!.rules[0]!.dependsOn!;
    expect(dependsOn.equal).toEqual(['cluster']);
    const child = { alertname: 'ApiErrors', cluster: 'eu-1' };
    expect(dependencyDecision(child, [{ alertname: 'DatabaseDown', cluster: 'eu-1', service: 'db' }], dependsOn)).toMatchObject({ muted: true, reason: expect.stringContaining('depends on DatabaseDown (service=db)') });
    expect(dependencyDecision(child, [{ alertname: 'DatabaseDown', cluster: 'eu-2' }], dependsOn).muted).toBe(false);
    expect(dependencyDecision(child, [{ alertname: 'DatabaseDown', cluster: 'us-1' }], { ...dependsOn, equal: [] }).muted).toBe(false);
    expect(() => parseRuleDocument('g:\n  x:\n    - name: A\n      expression: "err > 5"\n      depends_on: {}\n', 'c.yaml')).toThrow('depends_on');
  });
});

describe('shadow rules', () => {
  it('marks a rule shadow (with the rule it would replace) in the seed format or by labels in a Prometheus file, and refuses anything else', () => {
    const [seed] = parseRuleDocument('g:\n  x:\n    - name: CpuV2\n      expression: "cpu > 80"\n      shadow: {replaces: Cpu}\n', 'a.yaml');
    expect(seed!.rules[0]!.labels).toMatchObject({ shadow: 'true', shadow_of: 'Cpu' });
    expect(isShadow(seed!.rules[0]!)).toBe(true);
    const [prom] = parseRuleDocument('groups:\n  - name: g\n    rules:\n      - alert: CpuV2\n        expr: cpu > 80\n        labels: {shadow: "true"}\n', 'b.yaml');
    expect(isShadow(prom!.rules[0]!)).toBe(true);
    expect(() => parseRuleDocument('g:\n  x:\n    - name: A\n      expression: "cpu > 80"\n      shadow: maybe\n', 'c.yaml')).toThrow('shadow');
  });
});

describe('shared scans of a rule group (core/rule-sql.ts groupUnits)', () => {
  const rule = (name: string, expression: string) => parseRule({ name, expression, severity: 'warning' }, 'g', name);
  it('shares one scan among expressions of a metric and matchers, but evaluates a range over an hour alone', () => {
    const rules = [
      rule('last', 'cpu > 90'),
      rule('five', 'avg_over_time(cpu[5m]) > 80'),
      rule('hour', 'max_over_time(cpu[1h]) > 95'),
      rule('rate', 'rate(cpu[10m]) > 1'),
      // A day of points per series would be held in memory by a scan: alone, it streams.
      rule('day', 'avg_over_time(cpu[1d]) > 70'),
      rule('other', 'avg_over_time(mem[5m]) > 80'),
    ];
    const units = groupUnits(rules);
    expect(units).toContainEqual({ kind: 'scan', expressions: [[0], [1], [2], [3]] });
    expect(units).toContainEqual({ kind: 'expression', indices: [4] });
    expect(units).toContainEqual({ kind: 'expression', indices: [5] });
    expect(units).toHaveLength(3);
  });
});
