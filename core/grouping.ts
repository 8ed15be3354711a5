/**
 * Notification grouping, as Alertmanager does it: alerts of one escalation policy whose `group_by` labels agree form
 * a group, and the group's notifications batch them — one message per target listing every alert in the batch.
 * The first batch of a group waits `group_wait` (to catch the alerts of one storm together); alerts joining a group
 * already notified wait until `group_interval` has passed since its last batch; a group whose alerts still fire
 * unacknowledged is notified again every `repeat_interval`. Unlike Alertmanager, a later escalation step of an
 * alert already announced is never held back: it goes at once, taking along whatever else waits for the same target.
 * The timing is one pure decision here, with its reason; workflows/alert-group.ts carries it out.
 */
import { formatDuration } from './duration';
import { fnv1a64 } from './fingerprint';
import type { AlertInput } from './alert';
import type { Delivery, EscalationTarget, PlannedNotification } from './escalation';
import type { NotificationState } from './notification';
import type { Labels } from './types';

/** GroupingSpec is a policy's grouping: the labels that make a group and its three timers. */
export interface GroupingSpec {
  /** Label names; `alertname` is the rule's name; `...` alone groups by every label (each alert its own group). */
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

/** ALERTMANAGER_DEFAULTS are Alertmanager's timers, used for any the policy does not set. */
export const ALERTMANAGER_DEFAULTS = { groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 4 * 3_600_000 } as const;

/** groupingFields writes a spec back in the policy file's keys (the admin API shows policies as they are written). */
export function groupingFields(spec: GroupingSpec | undefined): Record<string, unknown> {
  if (!spec) return {};
  return {
    group_by: spec.groupBy,
    group_wait: formatDuration(spec.groupWaitMs),
    group_interval: formatDuration(spec.groupIntervalMs),
    repeat_interval: formatDuration(spec.repeatIntervalMs),
  };
}

/** AlertGroup identifies a group: its workflow id and the label values its alerts share. */
export interface AlertGroup {
  workflowId: string;
  labels: Labels;
}

/** alertGroup is the group of an alert with `labels` (alertname included) under a policy's grouping. */
export function alertGroup(taskQueue: string, policy: string, spec: GroupingSpec, alertLabels: Labels): AlertGroup {
  const labels: Labels = {};
  const names = spec.groupBy.includes('...') ? Object.keys(alertLabels).sort() : spec.groupBy;
  for (const name of names) if (alertLabels[name] !== undefined && alertLabels[name] !== '') labels[name] = alertLabels[name]!;
  const identity = JSON.stringify(Object.entries(labels));
  return { workflowId: `alert-group/${taskQueue}/${policy}/${fnv1a64(identity)}`, labels };
}

/** GroupClock is what the group knows of its own timing. */
export interface GroupClock {
  nowMs: number;
  /** When the earliest waiting request of an alert's first notification arrived, if one waits. */
  firstWaitingSinceMs?: number;
  /** Whether a later escalation step of an already announced alert waits. */
  escalationWaiting: boolean;
  /** When the group last sent a batch of requests, and when it last sent anything (a repeat included). */
  lastBatchAtMs?: number;
  lastSentAtMs?: number;
  /** Alerts of the group firing unacknowledged. */
  liveMembers: number;
}

/** GroupSend is the group's next send: when, what, and why then. */
export interface GroupSend {
  atMs: number;
  kind: 'batch' | 'repeat';
  reason: string;
}

/** nextGroupSend decides when the group sends next, or undefined when nothing is to be sent. */
export function nextGroupSend(clock: GroupClock, spec: GroupingSpec): GroupSend | undefined {
  if (clock.escalationWaiting) {
    return { atMs: clock.nowMs, kind: 'batch', reason: 'an escalation step of an announced alert goes at once' };
  }
  if (clock.firstWaitingSinceMs !== undefined) {
    if (clock.lastBatchAtMs === undefined) {
      return { atMs: clock.firstWaitingSinceMs + spec.groupWaitMs, kind: 'batch', reason: `group_wait ${formatDuration(spec.groupWaitMs)} after the group's first alert` };
    }
    return {
      atMs: Math.max(clock.firstWaitingSinceMs, clock.lastBatchAtMs + spec.groupIntervalMs),
      kind: 'batch',
      reason: `group_interval ${formatDuration(spec.groupIntervalMs)} after the group's last notification`,
    };
  }
  if (clock.liveMembers > 0 && clock.lastSentAtMs !== undefined) {
    return {
      atMs: clock.lastSentAtMs + spec.repeatIntervalMs,
      kind: 'repeat',
      reason: `repeat_interval ${formatDuration(spec.repeatIntervalMs)}: ${clock.liveMembers} alert(s) still firing unacknowledged`,
    };
  }
  return undefined;
}


/** GroupRequest is an alert's escalation step, to be delivered through its group. */
export interface GroupRequest {
  alertId: string;
  workflowId: string;
  step: Pick<PlannedNotification, 'index' | 'level' | 'round'>;
  targets: EscalationTarget[];
  alert: AlertInput;
  value: number;
  firedAtMs: number;
  policy: string;
  /** When the alert asked (the group's clock starts from its first request). */
  atMs: number;
  /** The alert announces its escalations itself (see NotificationRequest.announced). */
  announced?: boolean;
}

/** GroupMemberUpdate is an alert's state as its workflow last drew it. */
export interface GroupMemberUpdate {
  alertId: string;
  value: number;
  state: NotificationState;
}

/** GroupDelivered is the group's answer to one request: the deliveries made for the step, and how many failed. */
export interface GroupDelivered {
  alertId: string;
  stepIndex: number;
  sent: Delivery[];
  failed: number;
}

/** AlertGroupInput starts a notification group: who it is, its policy's grouping and delivery limits. */
export interface AlertGroupInput {
  group: AlertGroup;
  policy: string;
  grouping: GroupingSpec;
  timeoutMs: number;
  maxAttempts: number;
  /** State handed over by continue-as-new. */
  carried?: unknown;
}
