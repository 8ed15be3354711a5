/**
 * evaluateRulesWorkflow is one tick of rule evaluation, started by the `evaluate-rules` Temporal Schedule every
 * ALERT_EVALUATION_INTERVAL. It loads the rules, asks ClickHouse for the latest value of every series each rule
 * watches, and hands the verdicts to the alert workflows. It ends when every rule is dispatched; a rule whose
 * query fails is retried by its activity and, if it keeps failing, fails this tick without blocking the next.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DispatchSummary } from '../activities/alerts';

const { loadRuleGroups } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
});

// A tick must finish well within one interval, so queries and dispatch get short, bounded retries.
const { queryLatestValues, dispatchObservations } = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

/** EvaluateRulesInput carries the tunables of one evaluation tick. */
export interface EvaluateRulesInput {
  evaluationIntervalMs: number;
}

/** evaluateRulesWorkflow evaluates every rule once and returns what each dispatched. */
export async function evaluateRulesWorkflow(input: EvaluateRulesInput): Promise<DispatchSummary[]> {
  // Schedule-started runs evaluate at their scheduled instant, so a delayed start does not shift the window.
  const nowMs = Date.now();
  const groups = await loadRuleGroups();
  const lookbackMs = Math.max(60_000, 2 * input.evaluationIntervalMs);
  const staleAfterMs = 4 * input.evaluationIntervalMs;
  const rules = groups.flatMap((group) => group.rules);
  return Promise.all(
    rules.map(async (rule) => {
      const series = await queryLatestValues(rule, nowMs, lookbackMs);
      return dispatchObservations(rule, series, nowMs, staleAfterMs);
    }),
  );
}

