/**
 * evaluateRulesWorkflow is one tick of rule evaluation, started every ALERT_EVALUATION_INTERVAL (or the group's own
 * `interval`) by the `evaluate-rules/<group>` Temporal Schedule of each rule group. Its one activity evaluates the
 * group in one ClickHouse query and hands the verdicts to the alert workflows; a failing tick is retried briefly
 * and otherwise left to the next one.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GroupEvaluation } from '../activities/evaluation';

// A tick must finish well within one interval, so the activity gets a short, bounded retry.
const { evaluateRules } = proxyActivities<Activities>({
  startToCloseTimeout: '25s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

/** EvaluateRulesInput carries the group of one tick (every group when absent) and the evaluation interval. */
export interface EvaluateRulesInput {
  group?: string;
  evaluationIntervalMs: number;
}

/** evaluateRulesWorkflow evaluates a rule group once and returns what it dispatched. */
export async function evaluateRulesWorkflow(input: EvaluateRulesInput): Promise<GroupEvaluation[]> {
  // Schedule-started runs evaluate at their scheduled instant, so a delayed start does not shift the window.
  const nowMs = Date.now();
  return evaluateRules({ ...(input.group !== undefined ? { group: input.group } : {}), nowMs, evaluationIntervalMs: input.evaluationIntervalMs });
}
