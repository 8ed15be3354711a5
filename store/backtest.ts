import { readFile } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type Redis from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { backtestRule, diffAgainstActual, type BacktestAlert, type BacktestDiff, type FiringSpan, type SeriesVerdicts } from '../core/backtest';
import type { Config } from '../core/config';
import { policyNameOf } from '../core/escalation';
import { QueryParams, sqlIdentifier } from '../core/escape';
import { Evaluator, selectorSpans, type RangeSeries } from '../core/promql-engine';
import { parsePromql } from '../core/promql-ast';
import { candidatesOf } from '../core/promql-rule';
import type { Rule } from '../core/rules';
import { parseInhibitRules, type Silence } from '../core/silences';
import { createAlertHistoryStore } from './alert-history';
import { fromRoot } from './paths';
import { createEvaluationTickStore } from './evaluation-ticks';
import { createPolicyStore } from './policy-store';
import { fetchSelectors } from './prom-query';
import { ruleGroupScheduleId } from './schedules';

/** BacktestRequest is a rule and the range to replay it over, evaluated every `intervalMs` (default 30 s). */
export interface BacktestRequest {
  rule: Rule;
  fromMs: number;
  toMs: number;
  intervalMs?: number;
}

/** BacktestResult is the replay's alerts and notifications, and how they differ from what was recorded live. */
export interface BacktestResult {
  rule: string;
  from: string;
  to: string;
  interval_s: number;
  evaluations: number;
  series: number;
  alerts: BacktestAlert[];
  notifications: number;
  diff: BacktestDiff;
  assumptions: string[];
}

/** MAX_EVALUATIONS bounds one replay: 30 days at 30 s, or a week at 10 s. */
export const MAX_EVALUATIONS = 86_400;

/**
 * createBacktester replays rules over stored history (core/backtest.ts): the rule's expression evaluated at every
 * instant of the range with the live evaluator's lookback (PromQL, over the samples in ClickHouse), the silences
 * as they were (every version kept in config_objects), inhibition and dependencies from what alert_history
 * recorded firing, the policy the rule would take now; and alert_history's occurrences of the rule for the diff.
 */
export function createBacktester(deps: { config: Config; clickhouse: ClickHouseClient; redis: Redis }) {
  const { config, clickhouse } = deps;
  const database = config.clickhouse.database;
  const history = createAlertHistoryStore({ clickhouse, database });
  const policies = createPolicyStore({ config, redis: deps.redis, clickhouse });

  /** verdicts evaluates the rule at each instant: its result's series breach, its candidates' others are clear. */
  async function verdicts(rule: Rule, instants: readonly number[], intervalMs: number): Promise<SeriesVerdicts[]> {
    const [fromMs, toMs] = [instants[0]!, instants[instants.length - 1]!];
    const options = { lookbackMs: Math.max(60_000, 2 * intervalMs) };
    const node = rule.promql ?? parsePromql(rule.expression);
    const candidates = candidatesOf(node);
    const spans = [node, ...(candidates ? [candidates] : [])].flatMap((n) => selectorSpans(n, fromMs, toMs, options));
    const storage = await fetchSelectors(clickhouse, database, spans, 20_000_000);
    const evaluator = new Evaluator(storage, fromMs, toMs, options);
    const index = new Map(instants.map((t, i) => [t, i]));
    const bySeries = new Map<string, SeriesVerdicts>();
    const take = (result: RangeSeries[], breaching: boolean) => {
      for (const s of result) {
        const { __name__: _name, service = '', instance = '', ...labels } = s.labels;
        const key = JSON.stringify([service, instance, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))]);
        let series = bySeries.get(key);
        if (!series) bySeries.set(key, (series = { service, instance, labels, verdicts: new Array(instants.length).fill(undefined) }));
        s.t.forEach((t, j) => {
          const i = index.get(t);
          if (i === undefined || !Number.isFinite(s.v[j]!) || series!.verdicts[i]) return;
          series!.verdicts[i] = { breaching, value: s.v[j]! };
        });
      }
    };
    take(evaluator.rangeQuery(node, intervalMs), true);
    if (candidates) take(evaluator.rangeQuery(candidates, intervalMs), false);
    return [...bySeries.values()];
  }

  /** silencesIn reads every silence that overlapped the range, as last saved (an expiry by hand moved its end). */
  async function silencesIn(fromMs: number, toMs: number): Promise<Silence[]> {
    const p = new QueryParams();
    const result = await clickhouse.query({
      query: `SELECT argMaxIf(body, version, deleted = 0) AS body FROM ${sqlIdentifier(database)}.config_objects WHERE kind = ${p.string('silence')} GROUP BY name HAVING body != ''`,
      query_params: p.values,
      format: 'JSONEachRow',
    });
    return (await result.json<{ body: string }>()).map((r) => JSON.parse(r.body) as Silence).filter((s) => s.startsAtMs < toMs && s.endsAtMs > fromMs);
  }

  const ticks = createEvaluationTickStore(deps.redis);
  return {
    /**
     * alignedStart is the first instant at or after `fromMs` on the phase of the rule group's live schedule — read
     * from a tick the group recorded in the range —, so the replay evaluates when the schedule did; `fromMs` when
     * no tick is known.
     */
    async alignedStart(group: string, fromMs: number, toMs: number, intervalMs: number): Promise<number> {
      const [tick] = await ticks.ticks(ruleGroupScheduleId(config.temporal.taskQueue, group), fromMs, toMs);
      return tick ? fromMs + ((((tick.scheduledMs - fromMs) % intervalMs) + intervalMs) % intervalMs) : fromMs;
    },

    /** run replays one rule; `onProgress` hears the phases and the series done. */
    async run(request: BacktestRequest, onProgress: (stage: string, done: number, total: number) => void = () => undefined): Promise<BacktestResult> {
      const intervalMs = request.intervalMs ?? 30_000;
      const count = Math.floor((request.toMs - request.fromMs) / intervalMs) + 1;
      if (count > MAX_EVALUATIONS) throw new RangeError(`${count} evaluations: at most ${MAX_EVALUATIONS} (a shorter range or a longer interval)`);
      const instants = Array.from({ length: count }, (_, i) => request.fromMs + i * intervalMs);
      onProgress('evaluating', 0, 1);
      const [series, silences, others, actual, escalation, inhibitText] = await Promise.all([
        verdicts(request.rule, instants, intervalMs),
        silencesIn(request.fromMs, request.toMs),
        history.alerts({ fromMs: request.fromMs - 86_400_000, toMs: request.toMs }, 10_000),
        history.alerts({ fromMs: request.fromMs, toMs: request.toMs, rule: request.rule.name }, 10_000),
        policies.escalation(),
        readFile(fromRoot(config.inhibitPath), 'utf8'),
      ]);
      onProgress('evaluating', 1, 1);
      const name = policyNameOf(request.rule, escalation);
      const policy = escalation.policies.find((p) => p.name === name) ?? escalation.policies.find((p) => p.name === escalation.defaultPolicy)!;
      const firing: FiringSpan[] = others
        .filter((a) => a.rule !== request.rule.name)
        .map((a) => ({ labels: { alertname: a.rule, service: a.service, instance: a.instance, severity: a.severity }, fromMs: Date.parse(a.fired_at), toMs: a.resolved_at ? Date.parse(a.resolved_at) : Infinity }));
      const alerts = backtestRule(
        {
          rule: request.rule,
          instants,
          intervalMs,
          series,
          policy,
          dedup: { windowMs: config.alert.deduplicationWindowMs, maxPerHour: config.alert.maxNotificationsPerHour },
          silences,
          inhibitRules: parseInhibitRules(parseYaml(inhibitText), config.inhibitPath),
          firing,
        },
        (done, total) => onProgress('replaying', done, total),
      );
      return {
        rule: request.rule.name,
        from: new Date(request.fromMs).toISOString(),
        to: new Date(request.toMs).toISOString(),
        interval_s: intervalMs / 1000,
        evaluations: count,
        series: series.length,
        alerts,
        // A group's batch is one message for all its alerts.
        notifications: new Set(alerts.flatMap((a) => a.notifications.filter((x) => !x.heldBack || x.heldBack.startsWith('held from')).map((x) => `${x.group ?? a.fingerprint}|${x.at}|${x.level}|${x.round}`))).size,
        diff: diffAgainstActual(alerts, actual, request.toMs),
        assumptions: [
          'nobody acknowledges a replayed alert: it escalates until it resolves',
          `policy ${policy.name} as it is now; silences as they were; inhibition and dependencies from the alerts alert_history recorded (their rule, service, instance and severity labels)`,
          'evaluations on a grid from `from` every interval; the live schedule has its own phase, so times may differ by up to one interval',
        ],
      };
    },
  };
}
