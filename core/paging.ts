/**
 * The paging services' wire formats (issue 20, part 2), pure: PagerDuty's Events API v2 (trigger, acknowledge,
 * resolve — one incident per alert series, `dedup_key` = the alert's fingerprint) and what its V3 webhooks tell us
 * back; Opsgenie's Alert API (create, acknowledge, close by `alias`); and the text of a generic SMS/voice page.
 * activities/receivers/ sends them; api/routes/integrations verifies and applies the webhooks.
 */
import type { AlertNotification } from './notification';

/** PAGERDUTY_SEVERITY maps our severities to PD-CEF's (critical, error, warning, info). */
const PAGERDUTY_SEVERITY: Record<string, 'critical' | 'error' | 'warning' | 'info'> = { critical: 'critical', warning: 'warning', info: 'info' };
/** OPSGENIE_PRIORITY maps our severities to Opsgenie's P1 (highest) … P5. */
const OPSGENIE_PRIORITY: Record<string, 'P1' | 'P2' | 'P3' | 'P4' | 'P5'> = { critical: 'P1', warning: 'P3', info: 'P5' };

/** PagerDutyEvent is an Events API v2 request body (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp: string;
    component: string;
    group: string;
    class: string;
    custom_details: Record<string, unknown>;
  };
  client?: string;
  client_url?: string;
  links?: Array<{ href: string; text: string }>;
}

/** pagerDutyTrigger opens (or adds to) the incident of an alert series, with the seed's notification as its details. */
export function pagerDutyTrigger(routingKey: string, fingerprint: string, n: AlertNotification, links: { acknowledge: string; resolve: string }): PagerDutyEvent {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: fingerprint,
    payload: {
      // PD-CEF caps the summary at 1024 characters.
      summary: `[${n.severity.toUpperCase()}] ${n.message}`.slice(0, 1024),
      source: n.instance ? `${n.service}/${n.instance}` : n.service,
      severity: PAGERDUTY_SEVERITY[n.severity] ?? 'error',
      timestamp: n.timestamp,
      component: n.service,
      group: n.escalation_policy,
      class: n.metric,
      custom_details: {
        alert_id: n.alert_id,
        metric: n.metric,
        current_value: n.current_value,
        threshold: n.threshold,
        description: n.description,
        suggested_actions: n.suggested_actions,
        correlation_id: n.correlation_id,
        level: n.level,
      },
    },
    client: 'performance-monitoring',
    client_url: n.workflow_url,
    links: [
      ...(n.runbook_url ? [{ href: n.runbook_url, text: 'Runbook' }] : []),
      { href: n.workflow_url, text: 'Alert workflow (Temporal)' },
      { href: links.acknowledge, text: 'Acknowledge in performance-monitoring' },
    ],
  };
}

/** pagerDutyAction acknowledges or resolves an alert series' incident. */
export function pagerDutyAction(routingKey: string, fingerprint: string, action: 'acknowledge' | 'resolve'): PagerDutyEvent {
  return { routing_key: routingKey, event_action: action, dedup_key: fingerprint };
}

/** PagerDutyWebhookAction is what a PagerDuty V3 webhook asks of an alert: by whom, for which series. */
export interface PagerDutyWebhookAction {
  action: 'acknowledge' | 'resolve';
  fingerprint: string;
  by: string;
  incident: string;
  eventId: string;
}

/**
 * pagerDutyWebhookAction reads a V3 webhook body (`{event: {id, event_type, agent, data: {incident_key, …}}}`):
 * incident.acknowledged and incident.resolved carry back to the alert whose fingerprint is the incident's key; every
 * other event (triggered, annotated, escalated, a ping) asks nothing, and undefined says so.
 */
export function pagerDutyWebhookAction(body: unknown): PagerDutyWebhookAction | undefined {
  const event = (body as { event?: Record<string, unknown> } | undefined)?.event;
  if (!event || typeof event !== 'object') return undefined;
  const type = event.event_type;
  if (type !== 'incident.acknowledged' && type !== 'incident.resolved') return undefined;
  const data = (event.data ?? {}) as Record<string, unknown>;
  const key = data.incident_key;
  if (typeof key !== 'string' || !/^[0-9a-f]{16,64}$/.test(key)) return undefined;
  const agent = (event.agent ?? {}) as Record<string, unknown>;
  const who = typeof agent.summary === 'string' && agent.summary ? agent.summary.slice(0, 100) : 'someone';
  return {
    action: type === 'incident.acknowledged' ? 'acknowledge' : 'resolve',
    fingerprint: key,
    by: `${who} (PagerDuty)`,
    incident: typeof data.id === 'string' ? data.id : '',
    eventId: typeof event.id === 'string' ? event.id : '',
  };
}

/** OpsgenieAlert is an Alert API create request (https://docs.opsgenie.com/docs/alert-api#create-alert). */
export interface OpsgenieAlert {
  message: string;
  alias: string;
  description: string;
  responders: Array<{ name: string; type: 'team' }>;
  tags: string[];
  details: Record<string, string>;
  entity: string;
  source: string;
  priority: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
}

/** opsgenieAlert creates (or, by alias, deduplicates into) the alert of a series, for the responder team `team`. */
export function opsgenieAlert(fingerprint: string, n: AlertNotification, team: string): OpsgenieAlert {
  return {
    // Opsgenie's limits: message 130 characters, alias 512, description 15,000; details are strings.
    message: `[${n.severity.toUpperCase()}] ${n.message}`.slice(0, 130),
    alias: fingerprint,
    description: `${n.description}\n\nSuggested: ${n.suggested_actions.join('; ')}\nWorkflow: ${n.workflow_url}${n.runbook_url ? `\nRunbook: ${n.runbook_url}` : ''}`.slice(0, 15_000),
    responders: [{ name: team, type: 'team' }],
    tags: [n.severity, n.service, n.metric].map((t) => t.slice(0, 50)),
    details: { alert_id: n.alert_id, service: n.service, instance: n.instance, metric: n.metric, current_value: String(n.current_value), threshold: String(n.threshold), correlation_id: n.correlation_id },
    entity: n.service,
    source: 'performance-monitoring',
    priority: OPSGENIE_PRIORITY[n.severity] ?? 'P3',
  };
}

/** SMS_MAX is one SMS segment of the GSM alphabet: a page fits in one. */
export const SMS_MAX = 160;

/** oneSegment cuts a text to one SMS segment (a plain cut: an ellipsis is outside the GSM alphabet). */
export function oneSegment(text: string): string {
  return text.slice(0, SMS_MAX);
}

/** smsText is a page as one SMS (or a voice call's script): severity, what, where, the value, and the ack link. */
export function smsText(n: AlertNotification, ackLink: string): string {
  const head = `${n.severity.toUpperCase()} ${n.service}: ${n.metric} ${n.current_value} (>${n.threshold})`;
  const withLink = `${head} ack ${ackLink}`;
  return withLink.length <= SMS_MAX ? withLink : oneSegment(head);
}

/** isPhoneNumber accepts an E.164 number (+ and 8–15 digits). */
export function isPhoneNumber(value: string): boolean {
  return /^\+[1-9]\d{7,14}$/.test(value);
}
