import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import { isThresholdRule, limitAlerts, type RuleGroup } from '../core/rules';
import { dispatchGroup, openAlertsOf, type DispatchSummary } from './alerts';
import { queryRuleGroup } from '../store/clickhouse';
import { createEvaluationTickStore } from '../store/evaluation-ticks';
import { ruleGroupScheduleId } from '../store/schedules';
import { evaluateRecordingRules } from '../store/prom-query';

/** EvaluationDeps are what rule evaluation needs: the rules, ClickHouse to evaluate them, Temporal to raise alerts. */
export interface EvaluationDeps {
  clickhouse: ClickHouseClient;
  database: string;
  temporal: Client;
  redis: Redis;
  taskQueue: string;
  loadRuleGroups: () => Promise<RuleGroup[]>;
}

/** EvaluateRulesRequest is one evaluation tick: which group (all when absent), at which instant, at which interval. */
export interface EvaluateRulesRequest {
  group?: string;
  nowMs: number;
  evaluationIntervalMs: number;
  /** The instant the group's schedule was due, when a schedule started the run: the tick is recorded. */
  scheduledMs?: number;
}

/** GroupEvaluation says what one group's tick did and what it cost. */
export interface GroupEvaluation {
  group: string;
  rules: number;
  /** Samples the group's recording rules wrote. */
  recorded: number;
  series: number;
  breaching: number;
  cleared: number;
  queryMs: number;
  dispatchMs: number;
  perRule: DispatchSummary[];
}

/**
 * createEvaluationActivities builds the activity of the evaluation schedules. It reads, evaluates and dispatches
 * in one place because a big group's series (1,000 rules × 1,000 series) would not fit in a Temporal payload;
 * only the counts go back to the workflow.
 */
export function createEvaluationActivities(deps: EvaluationDeps) {
  const ticks = createEvaluationTickStore(deps.redis);
  return {
    /** recordFailedEvaluation records a scheduled tick whose evaluation failed for good, with why. */
    async recordFailedEvaluation(req: { group: string; scheduledMs: number; startedMs: number; error: string }): Promise<void> {
      await ticks.record(ruleGroupScheduleId(deps.taskQueue, req.group), { scheduledMs: req.scheduledMs, startedMs: req.startedMs, finishedMs: Date.now(), outcome: 'failed', error: req.error });
    },

    /** evaluateRules runs one ClickHouse query per rule group and sends each series' verdict to its alert workflow. */
    async evaluateRules(request: EvaluateRulesRequest): Promise<GroupEvaluation[]> {
      const startedMs = Date.now();
      const groups = (await deps.loadRuleGroups()).filter((g) => request.group === undefined || g.name === request.group);
      const lookbackMs = Math.max(60_000, 2 * request.evaluationIntervalMs);
      const staleAfterMs = 4 * request.evaluationIntervalMs;
      const out: GroupEvaluation[] = [];
      for (const { name, rules: all, records = [], limit = 0, queryOffsetMs = 0 } of groups) {
        // Anomaly rules are the anomaly scan's (activities/anomaly.ts).
        const group = { name, rules: all.filter(isThresholdRule) };
        if (group.rules.length === 0 && records.length === 0) continue;
        const started = performance.now();
        // query_offset: the group reads the data as of that long ago (its alerts still carry the real time).
        const window = { database: deps.database, nowMs: request.nowMs - queryOffsetMs, lookbackMs };
        // Recording rules first, in order: the group's alerts read what they wrote at this instant.
        const recorded = records.length ? await evaluateRecordingRules(deps.clickhouse, records, window, (err) => console.error(`[rules] ${err.message}`), undefined, limit) : 0;
        const open = await openAlertsOf(deps.redis, group.rules);
        const series = await queryRuleGroup(deps.clickhouse, group.rules, window, open.map((o) => o.open.size > 0));
        // Prometheus' group limit: a rule with more alerts fails this evaluation instead of paging for each.
        const limited = limitAlerts(group.rules, series, limit);
        for (const e of limited.exceeded) console.error(`[rules] rule ${e.rule}: exceeded limit of ${limit} with ${e.alerts} alerts`);
        const queried = performance.now();
        const timing = { nowMs: request.nowMs, intervalMs: request.evaluationIntervalMs, staleAfterMs };
        const perRule: DispatchSummary[] = await dispatchGroup(deps, group.rules, limited.series, timing, open);
        out.push({
          group: group.name,
          rules: group.rules.length,
          recorded,
          series: perRule.reduce((n, r) => n + r.series, 0),
          breaching: perRule.reduce((n, r) => n + r.breaching, 0),
          cleared: perRule.reduce((n, r) => n + r.cleared, 0),
          queryMs: Math.round(queried - started),
          dispatchMs: Math.round(performance.now() - queried),
          perRule: group.rules.length <= 50 ? perRule : [],
        });
      }
      if (request.scheduledMs !== undefined && request.group !== undefined) {
        const series = out.reduce((n, g) => n + g.series, 0);
        await ticks.record(ruleGroupScheduleId(deps.taskQueue, request.group), { scheduledMs: request.scheduledMs, startedMs, finishedMs: Date.now(), outcome: 'ok', series });
      }
      return out;
    },
  };
}
