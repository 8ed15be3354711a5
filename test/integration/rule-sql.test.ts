import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../store/clients';
import { queryRuleGroup } from '../../store/clickhouse';
import { migrate } from '../../store/migrations';
import { loadRuleFiles } from '../../activities/rules';
import { dateTime64Text, sqlIdentifier } from '../../core/escape';
import type { Expr } from '../../core/promql';
import { compare, isThresholdRule, parseRule, type Rule } from '../../core/rules';
import { seriesLabels, type SeriesValue } from '../../core/rule-sql';
import { testConfig, uniqueName } from '../helpers/stack';

interface Sample {
  metric: string;
  service: string;
  instance?: string;
  labels?: Record<string, string>;
  value: number;
  atMs: number;
}

describe('the PromQL subset compiled to ClickHouse SQL, on the real server (the 26.x engine here)', () => {
  const config = testConfig();
  const database = config.clickhouse.database;
  let clickhouse: ClickHouseClient;
  // Evaluate at a fixed instant just behind the wall clock, with samples placed relative to it.
  const nowMs = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const ago = (seconds: number) => nowMs - seconds * 1000;

  beforeAll(async () => {
    await migrate(config);
    clickhouse = createClickHouse(config);
  });
  afterAll(async () => clickhouse?.close());

  const insert = async (samples: Sample[]) => {
    await clickhouse.insert({
      table: `${sqlIdentifier(database)}.performance_events`,
      format: 'JSONEachRow',
      values: samples.map((s) => {
        const keys = Object.keys(s.labels ?? {}).sort();
        return {
          timestamp: dateTime64Text(s.atMs),
          service_name: s.service,
          instance_id: s.instance ?? `${s.service}-1`,
          event_type: 'metric',
          metric_name: s.metric,
          metric_value: s.value,
          labels: Object.fromEntries(keys.map((k) => [k, s.labels![k]!])),
          duration_ms: 0,
          user_id: '',
          correlation_id: '',
        };
      }),
    });
  };
  const rule = (name: string, expression: string): Rule => parseRule({ name, expression, severity: 'warning' }, 'g', 'rule');
  /** evaluate runs rules as one group query and returns each rule's series as `labels → value`, sorted. */
  const evaluate = async (...rules: Rule[]) => {
    const perRule = await queryRuleGroup(clickhouse, rules, { database, nowMs, lookbackMs: 60_000 });
    return perRule.map((series) =>
      series
        .map((s) => ({ labels: seriesLabels(s), value: Number(s.value.toFixed(6)) }))
        .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))),
    );
  };
  /** counter writes a counter every 15 s over the last `seconds`, growing by `perSecond`, reset to 0 at `resetAt` s ago. */
  const counter = (metric: string, service: string, perSecond: number, seconds = 300, resetAt?: number, labels?: Record<string, string>): Sample[] => {
    const out: Sample[] = [];
    let value = 1000;
    for (let s = seconds - 15; s >= 0; s -= 15) {
      value = resetAt !== undefined && s === resetAt ? perSecond * 5 : value + perSecond * 15;
      out.push({ metric, service, value, atMs: ago(s), ...(labels ? { labels } : {}) });
    }
    return out;
  };

  it('selects the latest sample of each series in the lookback, with every matcher kind', async () => {
    const metric = uniqueName('m').replaceAll('-', '_');
    await insert([
      { metric, service: 'a', value: 1, atMs: ago(50) },
      { metric, service: 'a', value: 2, atMs: ago(10) },
      { metric, service: 'b', labels: { tier: 'pro' }, value: 5, atMs: ago(5) },
      { metric, service: 'c', labels: { tier: 'free' }, value: 7, atMs: ago(90) }, // older than the 60 s lookback
      { metric, service: 'd', value: 9, atMs: nowMs + 5000 }, // after the evaluation instant
    ]);
    const [all, equal, notEqual, regex, notRegex, label] = await evaluate(
      rule('all', `${metric} > 0`),
      rule('eq', `${metric}{service="a"} > 0`),
      rule('ne', `${metric}{service!="a"} > 0`),
      rule('re', `${metric}{service=~"a|b"} > 0`),
      rule('nre', `${metric}{service!~"a|b"} > 0`),
      rule('label', `${metric}{tier="pro"} > 0`),
    );
    expect(all).toEqual([
      { labels: { instance: 'a-1', service: 'a' }, value: 2 },
      { labels: { instance: 'b-1', service: 'b', tier: 'pro' }, value: 5 },
    ]);
    expect(equal).toEqual([all![0]]);
    expect(notEqual).toEqual([all![1]]);
    expect(regex).toEqual(all);
    expect(notRegex).toEqual([]);
    expect(label).toEqual([all![1]]);
    // A rule without open alerts asks for its breaching series only; `==` is spelt `=` in SQL.
    const onlyBreaching = await queryRuleGroup(clickhouse, [rule('gt', `${metric} > 3`), rule('eq', `${metric} == 2`), rule('all', `${metric} > 3`)], { database, nowMs, lookbackMs: 60_000 }, [false, false, true]);
    expect(onlyBreaching.map((series) => series.map((s) => `${s.service}=${s.value}`).sort())).toEqual([['b=5'], ['a=2'], ['a=2', 'b=5']]);
  });

  it('evaluates a rule group whose query has more parameters than an HTTP form takes by default', async () => {
    // Each matcher and threshold is a query parameter: 200 rules × 8 here (1,600), as a group of 1,000 plain rules
    // has — refused with "Too many form fields" on the embedded engine until its profile raised http_max_fields
    // (scripts/clickhouse/users.xml).
    const metric = uniqueName('wide').replaceAll('-', '_');
    await insert([{ metric, service: 'wide', instance: 'wide-1', value: 7, atMs: ago(1) }]);
    const others = (i: number) => [1, 2, 3, 4, 5].map((k) => `instance!="other-${i}-${k}"`).join(', ');
    const rules = Array.from({ length: 200 }, (_, i) => rule(`r${i}`, `${metric}{service="wide", ${others(i)}} > ${(i % 10) + i / 10_000}`));
    const series = await queryRuleGroup(clickhouse, rules, { database, nowMs, lookbackMs: 60_000 });
    expect(series).toHaveLength(200);
    expect(series.every((s) => s.length === 1 && s[0]!.value === 7)).toBe(true);
    // 7 breaches the thresholds 0.x–6.x only.
    expect(series.filter((s, i) => compare(s[0]!.value, rules[i]!.condition.op, rules[i]!.condition.threshold)).length).toBe(140);
  });

  it('evaluates a group of 1,000 distinct rules (one query was refused by ClickHouse 26: too many plan optimizations)', async () => {
    const metric = uniqueName('many').replaceAll('-', '_');
    await insert([1, 2, 3].flatMap((k) => [
      { metric, service: 'many', instance: 'many-1', value: 5 * k, atMs: ago(k * 20) },
      { metric, service: 'many', instance: 'many-2', value: 9 * k, atMs: ago(k * 20) },
    ]));
    // 1,000 distinct expressions of four shapes (each its own range), as bench:alerts evaluates them.
    const shapes = [
      (i: number) => `max_over_time(${metric}[${90 + i}s]) > ${i % 2 ? 1e12 : 0}`,
      (i: number) => `avg_over_time(${metric}[${90 + i}s]) > ${i % 2 ? 1e12 : 0}`,
      (i: number) => `rate(${metric}[${90 + i}s]) > ${i % 2 ? 1e12 : -1e12}`,
      (i: number) => `max by (service, instance) (avg_over_time(${metric}[${90 + i}s])) / 100 > ${i % 2 ? 1e12 : 0}`,
    ];
    const rules = Array.from({ length: 1_000 }, (_, i) => rule(`d${i}`, shapes[i % 4]!(i)));
    const window = { database, nowMs, lookbackMs: 60_000 };
    const all = await queryRuleGroup(clickhouse, rules, window);
    expect(all.map((s) => s.map((x) => x.instance).sort().join())).toEqual(rules.map(() => 'many-1,many-2'));
    // Quiet rules (odd: thresholds of 1e12) return nothing, the others both series — each its own answer.
    const breaching = await queryRuleGroup(clickhouse, rules, window, rules.map(() => false));
    expect(breaching.map((s) => s.length)).toEqual(rules.map((_, i) => (i % 2 ? 0 : 2)));
  });

  it('answers rules sharing one scan (selectors, range functions, aggregations and arithmetic over them) as each rule alone', async () => {
    const metric = uniqueName('shared').replaceAll('-', '_');
    await insert(
      ['s1', 's2'].flatMap((instance, k) =>
        [5, 20, 50, 200].map((secondsAgo, p) => ({ metric, service: 'shared', instance, labels: { zone: instance === 's1' ? 'a' : 'b' }, value: (k + 1) * (p + 1), atMs: nowMs - secondsAgo * 1000 })),
      ),
    );
    const exprs = [
      `${metric}`,
      `${metric}{zone="a"}`,
      `max_over_time(${metric}[30s])`,
      `avg_over_time(${metric}[60s])`,
      `min_over_time(${metric}[10m])`,
      `sum_over_time(${metric}[10m])`,
      `count_over_time(${metric}[60s])`,
      `last_over_time(${metric}[3s])`,
      `avg_over_time(${metric}[60s])`,
      `rate(${metric}[60s])`,
      `increase(${metric}[10m])`,
      `rate(${metric}[10s])`,
      // Wrapped: aggregations by labels and arithmetic with numbers around the shared columns.
      `max by (service) (avg_over_time(${metric}[60s])) / 2`,
      `sum by (zone) (${metric})`,
      `100 - avg_over_time(${metric}[10m])`,
      `count by (instance) (rate(${metric}[60s]))`,
      `avg by (service, instance) (max_over_time(${metric}[30s])) * 3`,
      `min(${metric}) / 0`,
    ];
    const rules = exprs.map((e, i) => rule(`s${i}`, `${e} > ${i === 8 ? 100 : -1e9}`));
    const window = { database, nowMs, lookbackMs: 60_000 };
    const together = await queryRuleGroup(clickhouse, rules, window, rules.map((_, i) => i !== 8));
    const alone = await Promise.all(rules.map((r, i) => queryRuleGroup(clickhouse, [r], window, [i !== 8])));
    const full = (series: Array<{ service: string; instance: string; labels: Record<string, string>; value: number }>) =>
      series.map((s) => `${s.service}/${s.instance}/${JSON.stringify(s.labels)}=${s.value.toFixed(9)}`).sort();
    expect(together.map(full)).toEqual(alone.map(([series]) => full(series!)));
    expect(together.slice(12).map(full)).toEqual([
      ['shared//{}=2.000000000'],
      ['//{"zone":"a"}=1.000000000', '//{"zone":"b"}=2.000000000'],
      ['shared/s1/{"zone":"a"}=97.500000000', 'shared/s2/{"zone":"b"}=95.000000000'],
      ['/s1/{}=1.000000000', '/s2/{}=1.000000000'],
      ['shared/s1/{}=6.000000000', 'shared/s2/{}=12.000000000'],
      [],
    ]);
    const view = (series: Array<{ instance: string; value: number }>) => series.map((s) => `${s.instance}=${s.value}`).sort();
    // And the answers themselves: the latest of each series; a range without samples gives no series.
    // (The values fall as time goes on: each a counter reset, whose new value is all increase.)
    const rounded = together.map((series) => view(series.map((x) => ({ ...x, value: Number(x.value.toFixed(6)) }))));
    expect(rounded.slice(0, 12)).toEqual([['s1=1', 's2=2'], ['s1=1'], ['s1=2', 's2=4'], ['s1=2', 's2=4'], ['s1=1', 's2=2'], ['s1=10', 's2=20'], ['s1=3', 's2=3'], [], [], ['s1=0.066667', 's2=0.133333'], ['s1=18.461538', 's2=36.923077'], []]);
  });

  it('computes rate and increase with counter resets, and every *_over_time', async () => {
    const metric = uniqueName('c').replaceAll('-', '_');
    const steady = counter(metric, 'steady', 10);
    const reset = counter(metric, 'reset', 10, 300, 150);
    await insert([...steady, ...reset]);
    // steady: 20 samples 15 s apart, +150 each → 2850 over the 285 s they span = 10/s. reset: the drop counts its
    // new value (50) as the increase of that step.
    const resetIncrease = reset.reduce((sum, s, i) => (i === 0 ? 0 : sum + (s.value >= reset[i - 1]!.value ? s.value - reset[i - 1]!.value : s.value)), 0);
    const span = (reset[reset.length - 1]!.atMs - reset[0]!.atMs) / 1000;
    expect({ resetIncrease, span }).toEqual({ resetIncrease: 2750, span: 285 });
    const [rate, increase] = await evaluate(rule('r', `rate(${metric}[5m]) > 0`), rule('i', `increase(${metric}[5m]) > 0`));
    expect(rate).toEqual([
      { labels: { instance: 'reset-1', service: 'reset' }, value: Number((resetIncrease / span).toFixed(6)) },
      { labels: { instance: 'steady-1', service: 'steady' }, value: 10 },
    ]);
    expect(increase!.map((s) => s.value)).toEqual([Number(((resetIncrease / span) * 300).toFixed(6)), 3000]);

    const gauge = uniqueName('g').replaceAll('-', '_');
    await insert([3, 9, 6].map((value, i) => ({ metric: gauge, service: 's', value, atMs: ago(100 - i * 30) })));
    const overTime = await evaluate(
      ...['avg', 'min', 'max', 'sum', 'count', 'last'].map((fn) => rule(fn, `${fn}_over_time(${gauge}[2m]) > 0`)),
      rule('narrow', `max_over_time(${gauge}[60s]) > 0`),
    );
    expect(overTime.map((series) => series[0]?.value)).toEqual([6, 3, 9, 18, 3, 6, 6]);
  });

  it('aggregates by labels and applies arithmetic between series and with numbers', async () => {
    const requests = uniqueName('req').replaceAll('-', '_');
    const errors = uniqueName('err').replaceAll('-', '_');
    const at = ago(5);
    await insert([
      { metric: requests, service: 'api', instance: 'api-1', labels: { tier: 'pro' }, value: 100, atMs: at },
      { metric: requests, service: 'api', instance: 'api-2', labels: { tier: 'free' }, value: 300, atMs: at },
      { metric: requests, service: 'web', instance: 'web-1', labels: { tier: 'pro' }, value: 50, atMs: at },
      { metric: errors, service: 'api', instance: 'api-1', labels: { tier: 'pro' }, value: 2, atMs: at },
      { metric: errors, service: 'api', instance: 'api-2', labels: { tier: 'free' }, value: 6, atMs: at },
      { metric: errors, service: 'web', instance: 'web-1', labels: { tier: 'pro' }, value: 0, atMs: at },
      { metric: errors, service: 'idle', instance: 'idle-1', value: 1, atMs: at },
      { metric: requests, service: 'idle', instance: 'idle-1', value: 0, atMs: at },
    ]);
    const [byService, byTier, total, count, ratio, scaled] = await evaluate(
      rule('by_service', `sum by (service) (${requests}) > 0`),
      rule('by_tier', `avg(${requests}) by (tier) > 0`),
      rule('total', `max(${requests}) > 0`),
      rule('count', `count by (service) (${errors}) > 0`),
      rule('ratio', `100 * sum by (service) (${errors}) / sum by (service) (${requests}) > 1`),
      rule('scaled', `-${requests}{service="web"} + 1 < 0`),
    );
    expect(byService).toEqual([
      { labels: { service: 'api' }, value: 400 },
      { labels: { service: 'idle' }, value: 0 },
      { labels: { service: 'web' }, value: 50 },
    ]);
    // A series without the label aggregates under an empty value, which is no label, as in Prometheus.
    expect(byTier).toEqual([
      { labels: { tier: 'free' }, value: 300 },
      { labels: { tier: 'pro' }, value: 75 },
      { labels: {}, value: 0 },
    ]);
    expect(total).toEqual([{ labels: {}, value: 300 }]);
    expect(count).toEqual([
      { labels: { service: 'api' }, value: 2 },
      { labels: { service: 'idle' }, value: 1 },
      { labels: { service: 'web' }, value: 1 },
    ]);
    // idle's 1/0 is +Inf: a non-finite value is dropped rather than compared.
    expect(ratio).toEqual([
      { labels: { service: 'api' }, value: 2 },
      { labels: { service: 'web' }, value: 0 },
    ]);
    expect(scaled).toEqual([{ labels: { instance: 'web-1', service: 'web', tier: 'pro' }, value: -49 }]);
  });

  it('keeps quotes, backslashes and SQL in label values as data', async () => {
    const metric = uniqueName('q').replaceAll('-', '_');
    const nasty = "x'); DROP TABLE performance_events; --\\";
    await insert([{ metric, service: nasty, value: 1, atMs: ago(5) }]);
    const escaped = nasty.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
    const [series] = await evaluate(rule('q', `${metric}{service="${escaped}"} > 0`));
    expect(series).toEqual([{ labels: { instance: `${nasty}-1`, service: nasty }, value: 1 }]);
  });

  describe('every shipped seed rule fires on data that should fire it and not on data that should not', () => {
    const shipped: Rule[] = [];
    beforeAll(async () => {
      // The threshold rules (the anomaly rules of anomalies.yaml are the anomaly scan's: test/integration/analytics.test.ts).
      shipped.push(...(await loadRuleFiles(path.resolve(__dirname, '../../config/rules'))).flatMap((g) => g.rules).filter(isThresholdRule));
    });

    /** valueFor picks a value on the firing (or the quiet) side of the rule's threshold. */
    const valueFor = (r: Rule, fire: boolean) => {
      const above = r.condition.op === '>' || r.condition.op === '>=';
      const t = r.condition.threshold;
      return above === fire ? t * 1.5 + 1 : t * 0.5;
    };
    /** samplesFor writes data for a rule's one metric: a gauge's latest value, or a counter growing at that rate. */
    const samplesFor = (expr: Expr, service: string, value: number): Sample[] => {
      if (expr.kind === 'selector') return [{ metric: expr.metric, service, value, atMs: ago(5) }];
      if (expr.kind === 'range' && expr.fn === 'rate') return counter(expr.metric, service, value, expr.rangeMs / 1000);
      throw new Error(`no data generator for ${expr.kind}`);
    };

    it('covers the seed: system_health and business_rules, api_usage_spike included', () => {
      expect(shipped.map((r) => r.name).sort()).toEqual(
        ['api_usage_spike', 'critical_cpu_usage', 'high_cpu_usage', 'high_error_rate', 'high_memory_usage', 'high_unprofitable_trades', 'low_prediction_accuracy', 'slow_response_time'].sort(),
      );
    });

    it.each([
      'high_cpu_usage',
      'critical_cpu_usage',
      'high_memory_usage',
      'slow_response_time',
      'high_error_rate',
      'low_prediction_accuracy',
      'high_unprofitable_trades',
      'api_usage_spike',
    ])('%s', async (name) => {
      const r = shipped.find((x) => x.name === name)!;
      const firing = uniqueName('firing');
      const quiet = uniqueName('quiet');
      await insert([...samplesFor(r.condition.expr, firing, valueFor(r, true)), ...samplesFor(r.condition.expr, quiet, valueFor(r, false))]);
      const [series] = await queryRuleGroup(clickhouse, [r], { database, nowMs, lookbackMs: 60_000 });
      const verdict = (service: string) => {
        const mine = series!.filter((s: SeriesValue) => s.service === service);
        expect(mine).toHaveLength(1);
        return compare(mine[0]!.value, r.condition.op, r.condition.threshold);
      };
      expect({ firing: verdict(firing), quiet: verdict(quiet) }).toEqual({ firing: true, quiet: false });
    });
  });
});
