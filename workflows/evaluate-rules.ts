/**
 * evaluateRulesWorkflow is one tick of rule evaluation, started every ALERT_EVALUATION_INTERVAL (or the group's own
 * `interval`) by the `evaluate-rules/<group>` Temporal Schedule of each rule group. Its one activity evaluates the
 * group in one ClickHouse query and hands the verdicts to the alert workflows; a failing tick is retried briefly
 * and otherwise left to the next one.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { ActivityFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GroupEvaluation } from '../activities/evaluation';

// A tick must finish well within one interval, so the activity gets a short, bounded retry.
const { evaluateRules } = proxyActivities<Activities>({
  startToCloseTimeout: '25s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});
const { recordFailedEvaluation } = proxyActivities<Activities>({ startToCloseTimeout: '5s', retry: { maximumAttempts: 2 } });

/** SCHEDULED_START is the search attribute Temporal sets on a run a schedule started: the instant it was due. */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** EvaluateRulesInput carries the group of one tick (every group when absent) and the evaluation interval. */
export interface EvaluateRulesInput {
  group?: string;
  evaluationIntervalMs: number;
}

/** evaluateRulesWorkflow evaluates a rule group once and returns what it dispatched. */
export async function evaluateRulesWorkflow(input: EvaluateRulesInput): Promise<GroupEvaluation[]> {
  // Schedule-started runs evaluate at their scheduled instant, so a delayed start does not shift the window.
  const nowMs = Date.now();
  // A run its group's schedule started records its tick, ok or failed (core/evaluation-ticks.ts): a missed tick is
  // then one without a record. Runs from before replay without it.
  const scheduledMs = input.group !== undefined && patched('record-evaluation-ticks') ? workflowInfo().typedSearchAttributes.get(SCHEDULED_START)?.getTime() : undefined;
  try {
    return await evaluateRules({ ...(input.group !== undefined ? { group: input.group } : {}), nowMs, evaluationIntervalMs: input.evaluationIntervalMs, ...(scheduledMs !== undefined ? { scheduledMs } : {}) });
  } catch (err) {
    if (scheduledMs !== undefined && input.group !== undefined) {
      const error = err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
      await recordFailedEvaluation({ group: input.group, scheduledMs, startedMs: nowMs, error }).catch(() => undefined);
    }
    throw err;
  }
}
