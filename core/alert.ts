import type { RefireDecision } from './dedup';
import type { EscalationSnapshot, SentNotification } from './escalation';
import type { Rule } from './rules';
import type { AlertGroup } from './grouping';
import type { ActiveAlert, Labels } from './types';
import { expandAll, expandTemplate } from './template';


/** AlertAction is who acknowledges or resolves an alert by hand, and their note. */
export interface AlertAction {
  by: string;
  note?: string;
  /** The occurrence the caller means; refused when the workflow now runs a later occurrence of the alert. */
  alertId?: string;
}

/** workflowIdOfAlert finds the workflow of an alert id (`alert_<fingerprint>_<second>`), or undefined if it is not one. */
export function workflowIdOfAlert(alertId: string): string | undefined {
  const match = /^alert_([0-9a-f]{16})_\d+$/.exec(alertId);
  return match ? `alert/${match[1]}` : undefined;
}

/** AlertView is what the state query and the updates answer: the alert as an on-call engineer sees it. */
export interface AlertView {
  alertId: string;
  service: string;
  rule: string;
  phase: AlertPhase;
  value: number;
  observations: number;
  acknowledgedBy?: string;
  acknowledgedAtMs?: number;
  resolvedBy?: string;
  /** The escalation once the alert fired: its policy, steps run, notifications delivered and failed for good. */
  escalation?: { policy: string; stepsRun: number; notified: number; failed: number; notifies?: boolean; reason?: string; mutedBy?: string };
}

/** Observation is one evaluation's verdict on an alert's series, sent by the evaluator. */
export interface Observation {
  breaching: boolean;
  value: number;
  atMs: number;
  /**
   * The rule has been evaluated without this series, with no gap, for the stale period: the series vanished. Its
   * `breaching` and `value` are the last seen, not new ones.
   */
  stale?: boolean;
}

/** AlertInput starts an alert workflow: the rule snapshot at fire time, the series and the first breach. */
export interface AlertInput {
  fingerprint: string;
  rule: Rule;
  labels: Labels;
  service: string;
  instance: string;
  firstBreach: Observation;
  /**
   * An alert that hears nothing from the evaluator for this long, although its rule was evaluated meanwhile, is
   * resolved as stale: the evaluator lost track of it. (A vanished series it reports itself, sooner: Observation.stale.)
   */
  staleAfterMs: number;
  /** Continue as new after this many observations in one run (besides Temporal's own suggestion); for tests. */
  maxObservationsPerRun?: number;
  /** The state a previous run handed over when it continued as new. */
  carried?: CarriedAlertState;
}

/** CarriedAlertState is what an alert run hands to its continuation, so a long-lived alert keeps its story. */
export interface CarriedAlertState {
  phase: 'pending' | 'firing' | 'acknowledged';
  value: number;
  lastObservedMs: number;
  firedAtMs?: number;
  acknowledgedBy?: string;
  acknowledgedAtMs?: number;
  /** The escalation in progress: the policy snapshot, the next step and when it is due, what was sent and how it is drawn. */
  escalation?: {
    snapshot: EscalationSnapshot;
    decision?: RefireDecision;
    nextStep: number;
    nextStepAtMs: number;
    sent: SentNotification[];
    drawnAs: 'firing' | 'acknowledged';
    /** The notification group the alert's steps go through, when its policy groups. */
    group?: AlertGroup;
    /** What the alert stream was told of each silence that matched this occurrence (core/alert-event.ts MuteNotice). */
    mutes?: Record<string, MuteTransition>;
  };
}

/** MuteTransition is what a silence did to a firing alert: muted it (`silenced`) or ended muting it (`unsilenced`). */
export type MuteTransition = 'silenced' | 'unsilenced';

/** MuteNotice tells an alert that a silence mutes it now, or no longer does (by the silence's workflow or its own gate). */
export interface MuteNotice {
  silenceId: string;
  transition: MuteTransition;
  reason: string;
  atMs: number;
}

/** AlertPhase is where an alert is in its lifecycle. */
export type AlertPhase = 'pending' | 'firing' | 'acknowledged' | 'resolved' | 'inactive';

/** AlertEndReason says why an alert workflow completed. */
export type AlertEndReason = 'condition-cleared' | 'stale' | 'resolved-by-hand';

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
  status: 'firing' | 'acknowledged' | 'resolved';
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

/**
 * actionRefusal says why an acknowledge or resolve cannot apply in the alert's current phase (the update's
 * validator rejects it: the API answers 409), or undefined when it can. Ack needs a firing alert; resolve takes a
 * pending, firing or acknowledged one. Updates are applied one at a time, so an ack and a resolve arriving together
 * end the same way whatever their order: resolved, with the ack recorded if it came first.
 */
export function actionRefusal(
  action: 'acknowledge' | 'resolve',
  view: Pick<AlertView, 'alertId' | 'phase' | 'acknowledgedBy' | 'resolvedBy'>,
  request: AlertAction,
): string | undefined {
  if (!request.by) return `who ${action === 'acknowledge' ? 'acknowledges' : 'resolves'} is required`;
  if (request.alertId && request.alertId !== view.alertId) return `alert ${request.alertId} has ended; ${view.alertId} is the current occurrence`;
  if (view.phase === 'resolved' || view.phase === 'inactive') return `alert already ${view.phase}${view.resolvedBy ? ` by ${view.resolvedBy}` : ''}`;
  if (action === 'acknowledge' && view.phase === 'acknowledged') return `alert already acknowledged by ${view.acknowledgedBy}`;
  if (action === 'acknowledge' && view.phase === 'pending') return 'alert is pending: nothing was notified yet, so there is nothing to acknowledge';
  return undefined;
}

/** alertLabels are the labels silences and inhibition rules match: the series' and rule's labels, alertname and severity. */
export function alertLabels(input: Pick<AlertInput, 'labels' | 'rule' | 'service' | 'instance'>): Labels {
  return { service: input.service, instance: input.instance, ...input.labels, alertname: input.rule.alertname ?? input.rule.name, severity: input.rule.labels.severity ?? input.rule.severity };
}

/**
 * seriesAlertLabels are the labels of a series' alert, as the evaluator dispatches it (and a backtest replays it):
 * the series' own (service and instance among them) and the rule's, whose values may be templates of those and the
 * value, as in Prometheus. The alert's fingerprint is the rule's name and these.
 */
export function seriesAlertLabels(rule: Pick<Rule, 'labels'>, own: Labels, value: number): Labels {
  return { ...own, ...expandAll(rule.labels, { labels: own, value }) };
}

/** activeAlertView builds the `alerts:active:{service}` entry for an alert in the given phase. */
export function activeAlertView(
  input: AlertInput,
  workflowId: string,
  phase: ActiveAlert['status'],
  currentValue: number,
  nowMs: number,
  acknowledgedBy?: string,
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
    summary: input.rule.annotations.summary ? expandTemplate(input.rule.annotations.summary, { labels: alertLabels(input), value: currentValue }) : `${input.rule.alertname ?? input.rule.name}: ${input.rule.expression}`,
    workflow_id: workflowId,
    labels: alertLabels(input),
    ...(acknowledgedBy ? { acknowledged_by: acknowledgedBy } : {}),
  };
}
