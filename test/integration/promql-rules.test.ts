import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../store/clients';
import { queryRuleGroup } from '../../store/clickhouse';
import { migrate } from '../../store/migrations';
import { dateTime64Text, sqlIdentifier } from '../../core/escape';
import { compare, parseRule, parseRuleDocument, RuleError, type Rule } from '../../core/rules';
import { evaluateRecordingRules } from '../../store/prom-query';
import { testConfig, uniqueName } from '../helpers/stack';

/**
 * Alert rules in full PromQL — what real rule files hold and the SQL subset does not compile: set operators,
 * comparisons between series, histogram_quantile, absent, label_replace, offset — evaluated on the real ClickHouse
 * next to subset rules in one group. A series in the result fires; one the filters left out is clear (so its alert
 * resolves at once, as in Prometheus); the rule describes itself by its first metric and the number it compares.
 */
describe('alert rules in full PromQL, evaluated on ClickHouse beside the SQL subset', () => {
  const config = testConfig();
  const database = config.clickhouse.database;
  let clickhouse: ClickHouseClient;
  const nowMs = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const ago = (seconds: number) => nowMs - seconds * 1000;
  const svc = uniqueName('pql');
  const m = (name: string) => `${uniqueName(name).replaceAll('-', '_')}`;
  const CPU = m('pql_cpu');
  const UP = m('pql_up');
  const LATENCY = m('pql_latency_seconds_bucket');
  const REQUESTS = m('pql_requests_total');

  const insert = async (rows: Array<{ metric: string; instance: string; labels?: Record<string, string>; value: number; atMs: number }>) => {
    await clickhouse.insert({
      table: `${sqlIdentifier(database)}.performance_events`,
      format: 'JSONEachRow',
      values: rows.map((s) => ({
        timestamp: dateTime64Text(s.atMs),
        service_name: svc,
        instance_id: s.instance,
        event_type: 'metric',
        metric_name: s.metric,
        metric_value: s.value,
        labels: Object.fromEntries(Object.keys(s.labels ?? {}).sort().map((k) => [k, s.labels![k]!])),
      })),
    });
  };

  beforeAll(async () => {
    await migrate(config);
    clickhouse = createClickHouse(config);
    const rows: Parameters<typeof insert>[0] = [];
    for (let k = 0; k <= 20; k++) {
      const atMs = ago(300 - k * 15);
      // cpu: a at 95, b at 50, c at 97 but c is down.
      rows.push({ metric: CPU, instance: 'a', value: 95, atMs }, { metric: CPU, instance: 'b', value: 50, atMs }, { metric: CPU, instance: 'c', value: 97, atMs });
      rows.push({ metric: UP, instance: 'a', value: 1, atMs }, { metric: UP, instance: 'b', value: 1, atMs }, { metric: UP, instance: 'c', value: 0, atMs });
      // Requests: instance a counts 10/s of which 10 % errors, b 10/s without errors.
      for (const [instance, errors] of [['a', 1], ['b', 0]] as const) {
        rows.push({ metric: REQUESTS, instance, labels: { code: '200' }, value: (10 - errors) * 15 * k, atMs });
        rows.push({ metric: REQUESTS, instance, labels: { code: '500' }, value: errors * 15 * k, atMs });
      }
      // A latency histogram: 100 observations per scrape, 90 under 0.1 s, 99 under 0.5 s.
      for (const [le, share] of [['0.1', 90], ['0.5', 99], ['+Inf', 100]] as const) rows.push({ metric: LATENCY, instance: 'a', labels: { le }, value: share * k, atMs });
    }
    await insert(rows);
  });
  afterAll(async () => clickhouse?.close());

  const rule = (name: string, expression: string): Rule => parseRule({ name, expression, severity: 'warning' }, 'g', 'rule');
  const window = () => ({ database, nowMs, lookbackMs: 60_000 });
  /** verdicts maps each series (its instance and labels) to firing or clear, with its value. */
  // (A series of the SQL path carries no verdict: the dispatcher compares its value with the rule's threshold.)
  const verdicts = async (...rules: Rule[]) =>
    (await queryRuleGroup(clickhouse, rules, window())).map((series, r) =>
      Object.fromEntries(
        series
          .filter((s) => s.service === svc || s.service === '')
          .map((s) => [
            [s.instance, ...Object.entries(s.labels).map(([k, v]) => `${k}=${v}`)].filter(Boolean).join(',') || '{}',
            `${(s.breaching ?? compare(s.value, rules[r]!.condition.op, rules[r]!.condition.threshold)) ? 'firing' : 'clear'} ${Math.round(s.value * 1000) / 1000}`,
          ]),
      ),
    );

  it('takes what the subset refuses, in full PromQL, and keeps the subset on its SQL path', () => {
    expect(rule('subset', `${CPU} > 90`).promql).toBeUndefined();
    const guarded = rule('guarded', `${CPU} > 90 and ${UP} == 1`);
    expect(guarded.promql).toBeDefined();
    expect(guarded.condition).toMatchObject({ metric: CPU, op: '>', threshold: 90 });
    expect(rule('flipped', `90 < ${CPU} unless ${UP} == 0`).condition).toMatchObject({ op: '>', threshold: 90 });
    expect(() => rule('range', `${CPU}[5m]`)).toThrow(/must be an instant vector/);
    expect(() => rule('bad', `${CPU} > on(`)).toThrow(RuleError);
  });

  it('fires on the series the set operators keep, and reports the ones they drop as clear', async () => {
    const [andUp, unlessDown, orVector] = await verdicts(
      rule('and_up', `${CPU}{service="${svc}"} > 90 and ${UP}{service="${svc}"} == 1`),
      rule('unless_down', `${CPU}{service="${svc}"} > 90 unless on(instance) ${UP}{service="${svc}"} == 0`),
      rule('or_vector', `${CPU}{service="${svc}", instance="b"} > 90 or ${UP}{service="${svc}"} == 0`),
    );
    // c is at 97 but down: the guard keeps it out; b is under the threshold.
    expect(andUp).toEqual({ a: 'firing 95', b: 'clear 50', c: 'clear 97' });
    expect(unlessDown).toEqual({ a: 'firing 95', b: 'clear 50', c: 'clear 97' });
    // `or` has no filter at its top: what it returns fires (up == 0 of c).
    expect(orVector).toEqual({ c: 'firing 0' });
  });

  it('evaluates comparisons between series, bool, ratios of rates and histogram_quantile', async () => {
    const [errorRatio, p99, overOther, boolean] = await verdicts(
      rule('error_ratio', `sum by (instance) (rate(${REQUESTS}{service="${svc}", code=~"5.."}[5m])) / sum by (instance) (rate(${REQUESTS}{service="${svc}"}[5m])) > 0.05`),
      rule('p99', `histogram_quantile(0.99, sum by (le) (rate(${LATENCY}{service="${svc}"}[5m]))) > 0.25`),
      rule('over_other', `${CPU}{service="${svc}"} > ignoring(instance) group_left ${CPU}{service="${svc}", instance="b"}`),
      rule('bool', `(${UP}{service="${svc}"} == bool 0) > 0`),
    );
    expect(errorRatio).toEqual({ a: 'firing 0.1', b: 'clear 0' });
    // 99 % of observations under 0.5 s: the 0.99 quantile is the upper bound of the (0.1, 0.5] bucket.
    expect(p99).toEqual({ '{}': 'firing 0.5' });
    expect(overOther).toEqual({ a: 'firing 95', b: 'clear 50', c: 'firing 97' });
    expect(boolean).toEqual({ c: 'firing 1', a: 'clear 0', b: 'clear 0' });
  });

  it('judges a filter inside arithmetic joined with an info metric (the node-exporter pattern): what the filter drops is clear', async () => {
    const info = m('pql_uname_info');
    await insert(['a', 'b', 'c'].map((instance) => ({ metric: info, instance, labels: { nodename: `node-${instance}` }, value: 1, atMs: ago(30) })));
    const joined = rule('joined', `(${CPU}{service="${svc}"} > 90) * on(instance) group_left (nodename) ${info}{service="${svc}", nodename=~".+"}`);
    expect(joined.condition).toMatchObject({ metric: CPU, op: '>', threshold: 90 });
    const [verdict] = await verdicts(joined);
    expect(verdict).toEqual({ 'a,nodename=node-a': 'firing 95', 'b,nodename=node-b': 'clear 50', 'c,nodename=node-c': 'firing 97' });
  });

  it('fires absent() for a metric that stopped, and evaluates label_replace and offset', async () => {
    const missing = m('pql_missing');
    const [absent, present, relabelled, offset] = await verdicts(
      rule('absent', `absent(${missing}{service="${svc}", job="trading"})`),
      rule('present', `absent(${UP}{service="${svc}"})`),
      rule('relabel', `label_replace(${UP}{service="${svc}"} == 0, "host", "node-$1", "instance", "(.*)")`),
      rule('offset', `${CPU}{service="${svc}", instance="a"} offset 2m > 90`),
    );
    expect(absent).toEqual({ 'job=trading': 'firing 1' });
    expect(present).toEqual({});
    expect(relabelled).toEqual({ 'c,host=node-c': 'firing 0', 'a,host=node-a': 'clear 1', 'b,host=node-b': 'clear 1' });
    expect(offset).toEqual({ a: 'firing 95' });
  });

  it('evaluates recording rules before the alerts of their group: the alert reads the record, a retried evaluation writes nothing twice', async () => {
    const record = m('pql_instance:errors:ratio_rate5m');
    const [group] = parseRuleDocument(
      [
        'groups:',
        '  - name: errors',
        '    rules:',
        `      - alert: ErrorRatioHigh`,
        `        expr: ${record} > 0.05`,
        '        labels: {severity: page}',
        `      - record: ${record}`,
        `        expr: sum by (service, instance) (rate(${REQUESTS}{service="${svc}", code=~"5.."}[5m])) / sum by (service, instance) (rate(${REQUESTS}{service="${svc}"}[5m]))`,
        '        labels: {team: payments}',
      ].join('\n'),
    );
    expect(group!.records).toHaveLength(1);
    expect(group!.rules.map((r) => r.name)).toEqual(['ErrorRatioHigh']);
    // The group's limit: a record of more series than it fails, writing nothing.
    const errors: string[] = [];
    expect(await evaluateRecordingRules(clickhouse, group!.records!, window(), (err) => errors.push(err.message), undefined, 1)).toBe(0);
    expect(errors).toEqual([expect.stringMatching(/exceeded limit of 1 with 2 series/)]);
    expect(await evaluateRecordingRules(clickhouse, group!.records!, window(), undefined, undefined, 2)).toBe(2);
    expect(await evaluateRecordingRules(clickhouse, group!.records!, window())).toBe(0);
    const [alert] = await verdicts(...group!.rules);
    expect(alert).toEqual({ 'a,team=payments': 'firing 0.1', 'b,team=payments': 'clear 0' });
    expect(() => parseRuleDocument(`groups:\n  - name: g\n    rules:\n      - {record: "bad name", expr: "x"}\n`)).toThrow(/record: required metric name/);
    expect(() => parseRuleDocument(`groups:\n  - name: g\n    rules:\n      - {record: r, expr: "x[5m]"}\n`)).toThrow(/instant vector or a scalar/);
  });

  it('keeps evaluating the group when one rule fails at run time (many-to-many matching)', async () => {
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((message: string) => void errors.push(message));
    try {
      const [broken, fine] = await verdicts(rule('broken', `${REQUESTS}{service="${svc}"} > on(instance) ${REQUESTS}{service="${svc}"}`), rule('fine', `${CPU}{service="${svc}"} > 90`));
      expect(broken).toEqual({});
      expect(fine).toMatchObject({ a: 'firing 95', c: 'firing 97' });
      expect(errors.join('\n')).toMatch(/rule broken: .*many-to-many matching not allowed/);
    } finally {
      spy.mockRestore();
    }
  });
});
