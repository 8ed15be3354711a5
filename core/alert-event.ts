/**
 * The alert event stream's message (activities/alert-stream.ts): one per alert transition, as the seed's "Alert
 * System" integration asks — a structured alert object with its context, event-driven. The object is the alert as
 * alert_history records it (the seed's alert fields: id, severity, service, metric, current value, threshold), its
 * labels and links, the transition, when and by whom. Its id is the transition's identity, so a publish retried
 * after a crash is the same message, which JetStream's deduplication drops.
 */
import type { AlertInput, HistoryRow, MuteTransition } from './alert';
import type { Config } from './config';
import type { AlertNotification } from './notification';

/** ALERT_EVENT_SCHEMA names the message's version for consumers. */
export const ALERT_EVENT_SCHEMA = 'performance-monitoring.alert-event/v1';

/** AlertEvent is one transition of one alert. */
export interface AlertEvent {
  schema: typeof ALERT_EVENT_SCHEMA;
  /** The transition's identity: the same transition always has the same id. */
  event_id: string;
  transition: HistoryRow['status'] | 'escalated' | MuteTransition;
  /** For `escalated`: the policy's level reached (1-based: 2 is its second step) and the round (0, then repeats). */
  level?: number;
  round?: number;
  /** For `silenced` and `unsilenced`: the silence (its reason, with matchers, author and end, is in `notes`). */
  silence_id?: string;
  at: string;
  /** Who acknowledged (the key or Slack user), else ''. */
  by: string;
  notes: string;
  /** The seed's alert fields (as its notifications carry them) and what identifies the alert. */
  alert: Pick<AlertNotification, 'alert_id' | 'severity' | 'service' | 'instance' | 'metric' | 'current_value' | 'threshold'> & {
    fingerprint: string;
    rule: string;
    labels: Record<string, string>;
    /** The alert occurrence's id doubles as the correlation id of everything it caused (messages, pages, history). */
    correlation_id: string;
    duration_minutes: number;
  };
  links: { workflow: string; alert: string };
}

/**
 * alertEventId is a transition's identity: its alert occurrence and its status (an occurrence fires, is
 * acknowledged and resolves at most once each). Not its instant: a transition recorded by a local activity whose
 * workflow task was lost with its worker is recorded again by the retried task, at that task's time — the same
 * transition, found by a worker-kill test.
 */
export const alertEventId = (row: Pick<HistoryRow, 'alert_id' | 'status'>) => `${row.alert_id}:${row.status}`;

/** alertLinks are an alert's links in its events: its workflow in the Temporal UI, its service's active alerts. */
export function alertLinks(config: Pick<Config, 'temporal' | 'publicBaseUrl'>): (workflowId: string, service: string) => AlertEvent['links'] {
  return (workflowId, service) => ({
    workflow: `${config.temporal.uiBaseUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    alert: `${config.publicBaseUrl}/api/v1/internal/monitoring/alerts/${encodeURIComponent(service)}`,
  });
}

/** subjectToken makes a value one NATS subject token (no `.`, `*`, `>` or whitespace). */
export const subjectToken = (value: string) => value.replace(/[.*>\s]/g, '_') || '_';

/** alertSubject is where a transition is published: `<prefix>.<service>.<severity>`. */
export const alertSubject = (prefix: string, event: Pick<AlertEvent, 'alert'>) => `${prefix}.${subjectToken(event.alert.service)}.${subjectToken(event.alert.severity)}`;

/** alertEvent builds a transition's message from its alert_history row. */
export function alertEvent(row: HistoryRow, links: AlertEvent['links']): AlertEvent {
  return {
    schema: ALERT_EVENT_SCHEMA,
    event_id: alertEventId(row),
    transition: row.status,
    at: new Date(row.timestampMs).toISOString(),
    by: row.acknowledged_by,
    notes: row.resolution_notes,
    alert: {
      alert_id: row.alert_id,
      fingerprint: row.fingerprint,
      rule: row.rule_name,
      severity: row.severity,
      service: row.service_name,
      instance: row.instance_id,
      metric: row.metric_name,
      current_value: row.actual_value,
      threshold: row.threshold_value,
      labels: row.labels,
      correlation_id: row.alert_id,
      duration_minutes: row.duration_minutes,
    },
    links,
  };
}

/** WorkflowTransition is a transition an alert's workflow announces itself (not an alert_history row). */
export interface WorkflowTransition {
  alertId: string;
  alert: AlertInput;
  value: number;
  firedAtMs: number;
  atMs: number;
}

/** workflowAlertEvent is the message of a transition announced by the alert's workflow (`what` says which). */
function workflowAlertEvent(req: WorkflowTransition, what: Pick<AlertEvent, 'event_id' | 'transition' | 'level' | 'round' | 'silence_id' | 'notes'>, links: AlertEvent['links']): AlertEvent {
  return {
    schema: ALERT_EVENT_SCHEMA,
    ...what,
    at: new Date(req.atMs).toISOString(),
    by: '',
    alert: {
      alert_id: req.alertId,
      fingerprint: req.alert.fingerprint,
      rule: req.alert.rule.name,
      severity: req.alert.rule.severity,
      service: req.alert.service,
      instance: req.alert.instance,
      metric: req.alert.rule.condition.metric,
      current_value: req.value,
      threshold: req.alert.rule.condition.threshold,
      labels: req.alert.labels,
      correlation_id: req.alertId,
      duration_minutes: Math.max(0, Math.floor((req.atMs - req.firedAtMs) / 60_000)),
    },
    links,
  };
}

/**
 * escalationEvent is an escalation's message: the alert reached level `level` of its policy (round `round`), sent
 * by the notification of that step; its id is the step's, whichever of the step's targets publishes it first.
 */
export function escalationEvent(req: WorkflowTransition & { level: number; round: number }, links: AlertEvent['links']): AlertEvent {
  return workflowAlertEvent(req, { event_id: `${req.alertId}:escalated:${req.level}:${req.round}`, transition: 'escalated', level: req.level, round: req.round, notes: '' }, links);
}

/**
 * muteEvent is the message of a silence muting a firing alert (`silenced`) or ending (`unsilenced`): once per
 * (alert occurrence, silence, transition), which is its id.
 */
export function muteEvent(req: WorkflowTransition & { silenceId: string; transition: MuteTransition; reason: string }, links: AlertEvent['links']): AlertEvent {
  return workflowAlertEvent(req, { event_id: `${req.alertId}:${req.transition}:${req.silenceId}`, transition: req.transition, silence_id: req.silenceId, notes: req.reason }, links);
}

/** AlertState is what a consumer rebuilds of one alert from its events. */
export interface AlertState {
  alert_id: string;
  phase: HistoryRow['status'];
  acknowledged_by: string;
  /** The highest escalation level reached (1: the policy's first step). */
  level: number;
  /** The silences muting the alert now. */
  silenced_by: string[];
  transitions: number;
}

/**
 * foldAlertEvents rebuilds every alert's state from the stream's events, in stream order. An event seen again (by
 * its id: Kafka delivers at least once) changes nothing.
 */
export function foldAlertEvents(events: Iterable<AlertEvent>): Map<string, AlertState> {
  const states = new Map<string, AlertState>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    const before = states.get(e.alert.alert_id);
    // Escalations and silences change the level or the mutes, not the phase (an escalation may even arrive after an
    // acknowledgement of the same instant).
    const phase = e.transition === 'escalated' || e.transition === 'silenced' || e.transition === 'unsilenced' ? (before?.phase ?? 'firing') : e.transition;
    const silencedBy = new Set(before?.silenced_by ?? []);
    if (e.transition === 'silenced' && e.silence_id) silencedBy.add(e.silence_id);
    if (e.transition === 'unsilenced' && e.silence_id) silencedBy.delete(e.silence_id);
    states.set(e.alert.alert_id, {
      alert_id: e.alert.alert_id,
      phase,
      acknowledged_by: e.by || before?.acknowledged_by || '',
      level: Math.max(before?.level ?? 1, e.level ?? 1),
      silenced_by: [...silencedBy],
      transitions: (before?.transitions ?? 0) + 1,
    });
  }
  return states;
}
