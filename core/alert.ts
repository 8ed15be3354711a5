import type { Rule } from './rules';
import type { ActiveAlert, Labels } from './types';

/** Wire names of the alert lifecycle workflow's messages, shared by the workflow and its callers. */
export const ALERT_WORKFLOW_TYPE = 'alertLifecycleWorkflow';
/** ALERT_OBSERVE_SIGNAL is the wire name of observeSignal. */
export const ALERT_OBSERVE_SIGNAL = 'observe';

/** Observation is one evaluation's verdict on an alert's series, sent by the evaluator. */
export interface Observation {
  breaching: boolean;
  value: number;
  atMs: number;
}

/** AlertInput starts an alert workflow: the rule snapshot at fire time, the series and the first breach. */
export interface AlertInput {
  fingerprint: string;
  rule: Rule;
  labels: Labels;
  service: string;
  instance: string;
  firstBreach: Observation;
  /** An alert with no observation for this long is resolved as stale (the series vanished or evaluation stopped). */
  staleAfterMs: number;
}

/** AlertPhase is where an alert is in its lifecycle. */
export type AlertPhase = 'pending' | 'firing' | 'resolved' | 'inactive';

/** AlertEndReason says why an alert workflow completed. */
export type AlertEndReason = 'condition-cleared' | 'stale';

/** AlertOutcome is what an alert workflow returns. */
export interface AlertOutcome {
  alertId: string;
  phase: Extract<AlertPhase, 'resolved' | 'inactive'>;
  reason: AlertEndReason;
  fired: boolean;
}

/** HistoryRow is one row of alert_history: an alert's transition. */
export interface HistoryRow {
  alert_id: string;
  fingerprint: string;
  rule_name: string;
  timestampMs: number;
  service_name: string;
  instance_id: string;
  severity: string;
  metric_name: string;
  threshold_value: number;
  actual_value: number;
  status: 'firing' | 'resolved';
  duration_minutes: number;
  acknowledged_by: string;
  resolution_notes: string;
  labels: Labels;
  workflow_id: string;
}

/** alertIdOf names one occurrence of an alert: its fingerprint and the second of its first breach. */
export function alertIdOf(fp: string, firstBreachMs: number): string {
  return `alert_${fp}_${Math.floor(firstBreachMs / 1000)}`;
}

/** activeAlertView builds the `alerts:active:{service}` entry for an alert in the given phase. */
export function activeAlertView(
  input: AlertInput,
  workflowId: string,
  phase: ActiveAlert['status'],
  currentValue: number,
  nowMs: number,
): ActiveAlert {
  const startedMs = input.firstBreach.atMs;
  return {
    alert_id: alertIdOf(input.fingerprint, startedMs),
    fingerprint: input.fingerprint,
    rule: input.rule.name,
    severity: input.rule.severity,
    status: phase,
    service: input.service,
    instance: input.instance,
    metric: input.rule.condition.metric,
    threshold: input.rule.condition.threshold,
    current_value: currentValue,
    duration: Math.max(0, Math.round((nowMs - startedMs) / 1000)),
    started_at: new Date(startedMs).toISOString(),
    last_evaluation: new Date(nowMs).toISOString(),
    summary: input.rule.annotations.summary ?? `${input.rule.name}: ${input.rule.expression}`,
    workflow_id: workflowId,
  };
}
