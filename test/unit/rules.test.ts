import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../core/duration';
import { compare, parseExpression, parseRuleDocument, RuleError } from '../../core/rules';

describe('parseExpression', () => {
  it('parses a threshold with label matchers', () => {
    expect(parseExpression('cpu_usage_percent{service="ml-inference", instance=~"ml-.*"} >= 80.5')).toEqual({
      metric: 'cpu_usage_percent',
      matchers: [
        { label: 'service', op: '=', value: 'ml-inference' },
        { label: 'instance', op: '=~', value: 'ml-.*' },
      ],
      op: '>=',
      threshold: 80.5,
    });
  });

  it.each([
    ['cpu_usage_percent', 'expected a comparison', 18],
    ['cpu_usage_percent > high', 'expected a number', 21],
    ['rate(api_requests_total[5m]) > 1000', 'function rate() is not supported yet', 1],
    ['cpu{service="x"', 'expected , or }', 16],
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
      condition: { metric: 'cpu_usage_percent', op: '>', threshold: 80, matchers: [] },
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
    expect(() => parseRuleDocument('r:\n  g:\n    - name: x\n      expression: "a > 1"\n      severity: page\n', 'f.yaml')).toThrow(
      'f.yaml:r.g[0].severity: expected one of info, warning, critical',
    );
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
