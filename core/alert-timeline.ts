/**
 * An alert's timeline (issue 20, parts 3 and 4): every step of one alert occurrence told from its workflow's history
 * — the evaluations that saw the breach, its firing, each notification (channel, destination, delivered or failed
 * and why), each suppression (the silence or inhibition by name, the re-fire decision), escalations, the
 * acknowledgement, the resolution — merged with what alert_history recorded; and the answer to "why was I (not)
 * paged?". Pure: api/routes/alert-timeline.ts reads the histories and decodes their events into TimelineEvent.
 */
import { alertIdOf, type AlertAction, type AlertInput, type HistoryRow, type MuteNotice, type Observation } from './alert';
import { refireDecision, type FiringMemory } from './dedup';
import { escalationPlan, type Delivery, type EscalationSnapshot, type EscalationTarget } from './escalation';
import type { GroupDelivered } from './grouping';
import type { OncallResolution } from './oncall';
import { isShadow, isThresholdRule } from './rules';
import type { MuteDecision } from './silences';

/** TimelineEvent is one event of an alert workflow's history, decoded (only the kinds the timeline reads). */
export type TimelineEvent =
  | { kind: 'started'; atMs: number; runId: string; input: AlertInput; continued: boolean }
  | { kind: 'signal'; atMs: number; name: string; arg: unknown }
  | { kind: 'update'; atMs: number; name: string; arg: unknown }
  /** A local activity's marker: its type and result (its input is not recorded). */
  | { kind: 'local'; atMs: number; activity: string; result: unknown }
  | { kind: 'scheduled'; atMs: number; id: string; activity: string; input: unknown }
  | { kind: 'activityResult'; atMs: number; scheduledId: string; result?: unknown; failure?: string }
  | { kind: 'completed'; atMs: number; result: unknown }
  | { kind: 'continuedAsNew'; atMs: number }
  | { kind: 'closed'; atMs: number; how: string; message: string };

/** TimelineEntry is one step as the timeline shows it. */
export interface TimelineEntry {
  at: string;
  kind:
    | 'breach'
    | 'evaluations'
    | 'cleared'
    | 'stale'
    | 'firing'
    | 'decision'
    | 'suppressed'
    | 'notification'
    | 'escalated'
    | 'oncall'
    | 'grouped'
    | 'acknowledged'
    | 'silenced'
    | 'unsilenced'
    | 'redrawn'
    | 'resolved'
    | 'continued'
    | 'ended';
  text: string;
  details?: Record<string, unknown>;
}

/** NotificationOutcome is one (step, target) of the alert: delivered or failed, and why. */
export interface NotificationOutcome {
  at: string;
  level: number;
  round: number;
  channel: string;
  to: string;
  status: 'delivered' | 'failed' | 'in flight';
  error?: string;
}

/** AlertTimeline is the whole answer. */
export interface AlertTimeline {
  alert_id: string;
  workflow_id: string;
  runs: string[];
  service: string;
  rule: string;
  entries: TimelineEntry[];
  notifications: NotificationOutcome[];
  /** Why it paged whom it paged, or why it paged no one. */
  why: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * conditionText says what a value is compared with: the threshold of a threshold rule; the expression of a rule that
 * decides otherwise (an SLO burn rate, an anomaly verdict), whose threshold is a placeholder.
 */
function conditionText(input: AlertInput | undefined): string {
  if (!input) return '';
  const { rule } = input;
  return isThresholdRule(rule) && rule.labels.category !== 'slo' ? ` (threshold ${rule.condition.threshold})` : ` (${rule.expression})`;
}

/** runAlertId is the alert occurrence a run belongs to (a continued run carries its first breach). */
export const runAlertId = (input: AlertInput) => alertIdOf(input.fingerprint, input.firstBreach.atMs);

/**
 * buildAlertTimeline tells one occurrence from the events of its runs (oldest run first, each in history order)
 * and its alert_history rows.
 */
export function buildAlertTimeline(alertId: string, workflowId: string, events: readonly TimelineEvent[], rows: readonly HistoryRow[]): AlertTimeline {
  const entries: TimelineEntry[] = [];
  const add = (atMs: number, kind: TimelineEntry['kind'], text: string, details?: Record<string, unknown>) => entries.push({ at: iso(atMs), kind, text, ...(details ? { details } : {}) });
  const runs: string[] = [];
  let input: AlertInput | undefined;
  const scheduled = new Map<string, { activity: string; input: unknown; atMs: number }>();
  const notifications: NotificationOutcome[] = [];
  const inFlight = new Map<string, NotificationOutcome>();
  let memory: FiringMemory | undefined;
  let snapshot: EscalationSnapshot | undefined;
  let decision: { notify: boolean; reason: string } | undefined;
  let mute: { reason: string; sinceMs: number; lastMs: number; checks: number } | undefined;
  const mutes: string[] = [];
  const breaching: Observation[] = [];
  let clearing: Observation | undefined;
  let acknowledged = false;
  const oncallGaps: string[] = [];

  const flushMute = () => {
    if (!mute) return;
    add(mute.sinceMs, 'suppressed', `notifications held back: ${mute.reason}`, { checks: mute.checks, last_checked: iso(mute.lastMs) });
    mutes.push(mute.reason);
    mute = undefined;
  };

  for (const e of events) {
    switch (e.kind) {
      case 'started':
        runs.push(e.runId);
        input ??= e.input;
        if (e.continued) add(e.atMs, 'continued', 'continued as a new run (a long-lived alert carries its state over)', { run_id: e.runId });
        break;
      case 'signal':
        if (e.name === 'observe') {
          const o = e.arg as Observation;
          if (o.stale) add(o.atMs, 'stale', `the rule was evaluated without the series for the stale period (last value ${o.value})`);
          else if (o.breaching) {
            if (breaching.length === 0) add(o.atMs, 'breach', `evaluation saw the breach: ${input?.rule.condition.metric ?? 'value'} ${o.value}${conditionText(input)}`, { value: o.value });
            breaching.push(o);
          } else if (!clearing) {
            clearing = o;
            add(o.atMs, 'cleared', `evaluation saw the condition clear: value ${o.value}`, { value: o.value });
          }
        } else if (e.name === 'mute') {
          const n = e.arg as MuteNotice;
          add(e.atMs, n.transition, n.transition === 'silenced' ? `silence ${n.silenceId} started muting it: ${n.reason}` : `silence ${n.silenceId} ended`, { silence_id: n.silenceId });
        } else if (e.name === 'groupDelivered') {
          const g = e.arg as GroupDelivered;
          if (g.alertId !== alertId) break;
          // The step's level and round, from the policy the alert took.
          const planned = snapshot ? escalationPlan(snapshot.policy)[g.stepIndex] : undefined;
          const step = { level: planned?.level ?? g.stepIndex + 1, round: planned?.round ?? 0 };
          for (const d of g.sent) {
            notifications.push({ at: iso(e.atMs), ...step, channel: d.channel, to: d.to, status: 'delivered' });
            add(e.atMs, 'notification', `delivered with its group: ${d.channel} ${d.to} (level ${step.level})`, { group: d.group ?? '', step_index: g.stepIndex });
          }
          if (g.failed > 0) {
            notifications.push({ at: iso(e.atMs), ...step, channel: 'group', to: `${g.failed} target(s)`, status: 'failed', error: "the group's delivery failed" });
            add(e.atMs, 'notification', `its group's delivery failed for ${g.failed} target(s)`, { step_index: g.stepIndex });
          }
        }
        break;
      case 'update': {
        const a = e.arg as AlertAction;
        if (e.name === 'acknowledge') {
          acknowledged = true;
          add(e.atMs, 'acknowledged', `acknowledged by ${a.by}${a.note ? `: ${a.note}` : ''}`, { by: a.by });
        } else if (e.name === 'resolve') add(e.atMs, 'resolved', `resolved by hand by ${a.by}${a.note ? `: ${a.note}` : ''}`, { by: a.by });
        break;
      }
      case 'local':
        if (e.activity === 'recallFirings') memory = e.result as FiringMemory;
        else if (e.activity === 'escalationSnapshot') {
          snapshot = e.result as EscalationSnapshot;
          if (input && memory && !decision) {
            // The same pure decision the workflow took at this instant (core/dedup.ts).
            decision = refireDecision(memory, input.firstBreach.atMs, e.atMs, snapshot.dedup);
            add(e.atMs, 'decision', `${decision.notify ? 'notifies' : 'does not notify'} (policy ${snapshot.policy.name}): ${decision.reason}`, { policy: snapshot.policy.name, notify: decision.notify });
          }
        } else if (e.activity === 'notificationGate') {
          const m = e.result as MuteDecision;
          if (m.muted) {
            if (mute && mute.reason === m.reason) {
              mute.lastMs = e.atMs;
              mute.checks++;
            } else {
              flushMute();
              mute = { reason: m.reason, sinceMs: e.atMs, lastMs: e.atMs, checks: 1 };
            }
          } else flushMute();
        } else if (e.activity === 'joinAlertGroup') {
          add(e.atMs, 'grouped', 'handed its step to its notification group (batched with the group\'s other alerts)', asRecord(e.result));
        }
        break;
      case 'scheduled':
        scheduled.set(e.id, { activity: e.activity, input: e.input, atMs: e.atMs });
        if (e.activity === 'deliverNotification') {
          const req = asRecord(e.input) as { target?: EscalationTarget; step?: { level: number; round: number } };
          if (req.target && req.step) {
            const outcome: NotificationOutcome = { at: iso(e.atMs), level: req.step.level, round: req.step.round, channel: req.target.channel, to: req.target.to, status: 'in flight' };
            notifications.push(outcome);
            inFlight.set(e.id, outcome);
          }
        } else if (e.activity === 'publishEscalation') {
          const req = asRecord(e.input) as { level?: number; round?: number };
          add(e.atMs, 'escalated', `escalated to level ${req.level ?? '?'}${req.round ? ` (round ${req.round + 1})` : ''}`, { level: req.level, round: req.round });
        }
        break;
      case 'activityResult': {
        const s = scheduled.get(e.scheduledId);
        if (!s) break;
        if (s.activity === 'deliverNotification') {
          const outcome = inFlight.get(e.scheduledId);
          if (!outcome) break;
          inFlight.delete(e.scheduledId);
          if (e.failure !== undefined) {
            outcome.status = 'failed';
            outcome.error = e.failure;
            add(e.atMs, 'notification', `failed: ${outcome.channel} ${outcome.to} (level ${outcome.level}): ${e.failure}`, { ...outcome });
          } else {
            const d = e.result as Delivery;
            outcome.status = 'delivered';
            add(e.atMs, 'notification', `delivered: ${outcome.channel} ${outcome.to} (level ${outcome.level})`, { ...outcome, key: d.key, ...(d.channel === 'slack' ? { slack_ts: d.ts } : d.channel === 'email' ? { message_id: d.messageId } : { status_code: d.status }) });
          }
        } else if (s.activity === 'resolveOncallTargets') {
          if (e.failure !== undefined) {
            oncallGaps.push(`the on-call lookup failed (${e.failure})`);
            add(e.atMs, 'oncall', `who is on call could not be read (${e.failure}): the step went to its fixed targets only`);
          }
          for (const r of (e.result ?? []) as OncallResolution[]) {
            if (r.user !== undefined) add(e.atMs, 'oncall', `on call for ${r.schedule}: ${r.user} (${r.source}), reached at ${r.targets.map((t) => `${t.channel} ${t.to}`).join(', ') || 'no contact'}`, { schedule: r.schedule, user: r.user, source: r.source });
            else {
              oncallGaps.push(r.gap ?? `nobody on call for ${r.schedule}`);
              add(e.atMs, 'oncall', `nobody reached through ${r.schedule}: ${r.gap}`, { schedule: r.schedule });
            }
          }
        } else if (s.activity === 'updateSlackMessages' && e.failure === undefined) {
          const state = asRecord(asRecord(s.input).state);
          add(e.atMs, 'redrawn', `its Slack messages were edited to show it ${String(state.status ?? 'changed')}`);
        }
        break;
      }
      case 'completed': {
        flushMute();
        const r = asRecord(e.result);
        add(e.atMs, 'ended', `its workflow ended: ${String(r.phase ?? 'done')} (${String(r.reason ?? '')})`, r);
        break;
      }
      case 'continuedAsNew':
        break;
      case 'closed':
        flushMute();
        add(e.atMs, 'ended', `its workflow ${e.how}: ${e.message}`);
        break;
    }
  }
  flushMute();
  if (breaching.length > 1) {
    const values = breaching.map((o) => o.value);
    add(breaching[breaching.length - 1]!.atMs, 'evaluations', `${breaching.length} evaluations told it the breach goes on (values ${Math.min(...values)}–${Math.max(...values)})`, { count: breaching.length });
  }
  // alert_history's rows: the transitions as recorded (with their notes and who).
  for (const row of rows) {
    if (row.status === 'firing') add(row.timestampMs, 'firing', `fired: ${row.metric_name} ${row.actual_value}${input ? conditionText(input) : ` (threshold ${row.threshold_value})`}`, { severity: row.severity });
    else if (row.status === 'resolved') add(row.timestampMs, 'resolved', `resolved: ${row.resolution_notes || 'condition cleared'}`);
    else if (row.status === 'acknowledged' && !acknowledged) add(row.timestampMs, 'acknowledged', `acknowledged by ${row.acknowledged_by}`, { by: row.acknowledged_by });
  }
  // In time order; at the same instant, in the order the story happens.
  const order: TimelineEntry['kind'][] = ['breach', 'evaluations', 'firing', 'decision', 'suppressed', 'grouped', 'escalated', 'oncall', 'notification', 'silenced', 'acknowledged', 'redrawn', 'unsilenced', 'cleared', 'stale', 'resolved', 'continued', 'ended'];
  entries.sort((a, b) => a.at.localeCompare(b.at) || order.indexOf(a.kind) - order.indexOf(b.kind));
  const fired = rows.some((r) => r.status === 'firing');
  return {
    alert_id: alertId,
    workflow_id: workflowId,
    runs,
    service: input?.service ?? rows[0]?.service_name ?? '',
    rule: input?.rule.name ?? rows[0]?.rule_name ?? '',
    entries,
    notifications,
    why: input && isShadow(input.rule) ? `a shadow rule (${input.rule.labels.shadow_of ? `beside ${input.rule.labels.shadow_of}, which it would replace` : 'on trial'}): its alerts are recorded and page nobody.` : whyNotified({ fired, decision, mutes, notifications, acknowledged, grouped: entries.some((e) => e.kind === 'grouped'), snapshot, oncallGaps }),
  };
}

/** whyNotified answers "why was I (not) paged?" from what the timeline found. */
function whyNotified(f: {
  fired: boolean;
  decision: { notify: boolean; reason: string } | undefined;
  mutes: string[];
  notifications: NotificationOutcome[];
  acknowledged: boolean;
  grouped: boolean;
  snapshot: EscalationSnapshot | undefined;
  oncallGaps: string[];
}): string {
  const delivered = f.notifications.filter((n) => n.status === 'delivered');
  const failed = f.notifications.filter((n) => n.status === 'failed');
  const parts: string[] = [];
  if (delivered.length > 0) parts.push(`notified ${[...new Set(delivered.map((n) => `${n.channel} ${n.to}`))].join(', ')} (policy ${f.snapshot?.policy.name ?? '?'}${f.decision ? `: ${f.decision.reason}` : ''})`);
  if (failed.length > 0) parts.push(`delivery failed to ${failed.map((n) => `${n.channel} ${n.to} (${n.error})`).join(', ')}`);
  if (f.mutes.length > 0) parts.push(`held back while ${f.mutes.join('; then ')}`);
  if (f.oncallGaps.length > 0) parts.push(`no on-call person reached: ${[...new Set(f.oncallGaps)].join('; ')}`);
  if (delivered.length > 0 || failed.length > 0) return `${parts.join('; ')}.`;
  if (f.oncallGaps.length > 0 && f.fired && f.decision?.notify !== false && f.mutes.length === 0) return `nobody was notified: ${parts.join('; ')}.`;
  if (!f.fired) return 'it never fired (it ended while pending, before its rule\'s `for` elapsed), so nobody was notified.';
  if (f.decision && !f.decision.notify) return `nobody was notified: ${f.decision.reason}.`;
  if (f.mutes.length > 0) return `nobody was notified: ${parts.join('; ')}.`;
  if (f.grouped) return 'its steps went to its notification group, which had not answered yet.';
  if (!f.snapshot) return 'it had not taken its escalation policy yet.';
  return 'nobody was notified yet: its first step was still being delivered.';
}
