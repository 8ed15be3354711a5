/**
 * What an alert notification says, in the seed's "Alert Notification" shape, and how it looks in Slack (Block Kit,
 * with Acknowledge / Resolve buttons, edited in place as the alert changes) and in e-mail (text and HTML parts with
 * signed Acknowledge / Resolve links).
 */
import { alertLabels, type AlertInput } from './alert';
import { expandAll } from './template';
import { formatDuration } from './duration';
import type { PlannedNotification } from './escalation';

/** AlertNotification is the seed's alert notification, plus links for the one who acts on it. */
export interface AlertNotification {
  alert_id: string;
  timestamp: string;
  severity: string;
  service: string;
  /** The instance of the series (beyond the seed's shape: several instances of a service alert separately). */
  instance: string;
  metric: string;
  current_value: number;
  threshold: number;
  message: string;
  description: string;
  suggested_actions: string[];
  runbook_url: string;
  escalation_policy: string;
  correlation_id: string;
  /** The alert's workflow in the Temporal Web UI. */
  workflow_url: string;
  /** Escalation level (1-based) and round of this notification. */
  level: number;
  round: number;
}

/** NotificationState is how the alert stands when a message is drawn (a Slack message is redrawn on each change). */
export interface NotificationState {
  status: 'firing' | 'acknowledged' | 'resolved';
  acknowledgedBy?: string;
  resolvedBy?: string;
  note?: string;
  atMs?: number;
}

/** SLACK_ACTIONS are the action_ids of the message's buttons; their value is the alert id. */
export const SLACK_ACTIONS = { acknowledge: 'alert_acknowledge', resolve: 'alert_resolve' } as const;

/** alertNotification assembles the notification of an alert at a step of its escalation. */
export function alertNotification(
  input: AlertInput,
  details: { alertId: string; value: number; firedAtMs: number; policy: string; workflowUrl: string; step: Pick<PlannedNotification, 'level' | 'round'> },
): AlertNotification {
  const { rule } = input;
  const { condition } = rule;
  // Annotations are Prometheus templates ({{ $labels.instance }}, {{ $value | humanize }}), drawn for this alert.
  const annotations = expandAll(rule.annotations, { labels: alertLabels(input), value: details.value });
  const actions = (annotations.suggested_actions ?? '')
    .split(/\n|;/)
    .map((a) => a.trim())
    .filter(Boolean);
  return {
    alert_id: details.alertId,
    timestamp: new Date(details.firedAtMs).toISOString(),
    severity: rule.severity,
    service: input.service,
    instance: input.instance,
    metric: condition.metric,
    current_value: details.value,
    threshold: condition.threshold,
    message: annotations.summary ?? `${rule.alertname ?? rule.name} on ${input.service}`,
    description: annotations.description ?? `${rule.expression} held for ${formatDuration(rule.durationMs)}`,
    suggested_actions: actions,
    runbook_url: annotations.runbook_url ?? '',
    escalation_policy: details.policy,
    correlation_id: details.alertId,
    workflow_url: details.workflowUrl,
    level: details.step.level,
    round: details.step.round,
  };
}

const SEVERITY_MARK: Record<string, string> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };

function stateLine(state: NotificationState): string {
  const at = state.atMs ? ` at ${new Date(state.atMs).toISOString().slice(11, 19)} UTC` : '';
  if (state.status === 'acknowledged') return `:eyes: *Acknowledged* by ${state.acknowledgedBy ?? 'someone'}${at}`;
  if (state.status === 'resolved') return `:white_check_mark: *Resolved*${state.resolvedBy ? ` by ${state.resolvedBy}` : ''}${at}${state.note ? ` — ${state.note}` : ''}`;
  return state.note ? `:rotating_light: *Firing again* — ${state.note}` : ':rotating_light: *Firing* — not acknowledged';
}

/** Slack mrkdwn needs &, < and > escaped in text that is not a link. */
function mrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** SlackMessage is the body of chat.postMessage / chat.update without channel and ts. */
export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

/** slackMessage draws the alert as a Block Kit message; its buttons go once the alert is resolved. */
export function slackMessage(n: AlertNotification, state: NotificationState): SlackMessage {
  const title = `${SEVERITY_MARK[n.severity] ?? ''} [${n.severity.toUpperCase()}] ${n.message} — ${n.service}`.trim();
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: mrkdwn(n.description) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Service*\n${mrkdwn(n.service)}${n.instance ? ` / ${mrkdwn(n.instance)}` : ''}` },
        { type: 'mrkdwn', text: `*Metric*\n${mrkdwn(n.metric)}` },
        { type: 'mrkdwn', text: `*Current value*\n${n.current_value}` },
        { type: 'mrkdwn', text: `*Threshold*\n${n.threshold}` },
        { type: 'mrkdwn', text: `*Escalation*\n${mrkdwn(n.escalation_policy)} · level ${n.level}${n.round ? ` (repeat ${n.round})` : ''}` },
        { type: 'mrkdwn', text: `*Correlation id*\n\`${n.correlation_id}\`` },
      ],
    },
  ];
  if (n.suggested_actions.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Suggested actions*\n${n.suggested_actions.map((a) => `• ${mrkdwn(a)}`).join('\n')}` } });
  }
  const links = [`<${n.workflow_url}|Workflow in Temporal>`, ...(n.runbook_url ? [`<${n.runbook_url}|Runbook>`] : [])];
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${links.join(' · ')} · fired ${n.timestamp}` }] });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: stateLine(state) } });
  if (state.status !== 'resolved') {
    const buttons: unknown[] = [];
    if (state.status === 'firing') {
      buttons.push({ type: 'button', action_id: SLACK_ACTIONS.acknowledge, text: { type: 'plain_text', text: 'Acknowledge' }, style: 'primary', value: n.alert_id });
    }
    buttons.push({
      type: 'button',
      action_id: SLACK_ACTIONS.resolve,
      text: { type: 'plain_text', text: 'Resolve' },
      style: 'danger',
      value: n.alert_id,
      confirm: {
        title: { type: 'plain_text', text: 'Resolve this alert?' },
        text: { type: 'mrkdwn', text: 'It ends the alert and its escalation, even if the condition still holds.' },
        confirm: { type: 'plain_text', text: 'Resolve' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
    blocks.push({ type: 'actions', block_id: 'alert_actions', elements: buttons });
  }
  return { text: `${title}: ${n.description} (${stateLine(state).replaceAll('*', '')})`, blocks };
}

/** EmailMessage is the subject and the two parts of an alert e-mail. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

/** escapeHtml escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** emailMessage draws the alert as an e-mail with signed Acknowledge / Resolve links. */
export function emailMessage(n: AlertNotification, links: { acknowledge: string; resolve: string }): EmailMessage {
  const subject = `[${n.severity.toUpperCase()}] ${n.message} — ${n.service}${n.level > 1 || n.round > 0 ? ` (escalation level ${n.level})` : ''}`;
  const facts: Array<[string, string]> = [
    ['Service', n.instance ? `${n.service} / ${n.instance}` : n.service],
    ['Metric', n.metric],
    ['Current value', String(n.current_value)],
    ['Threshold', String(n.threshold)],
    ['Fired at', n.timestamp],
    ['Escalation policy', `${n.escalation_policy}, level ${n.level}${n.round ? `, repeat ${n.round}` : ''}`],
    ['Correlation id', n.correlation_id],
  ];
  const text = [
    subject,
    '',
    n.description,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    ...(n.suggested_actions.length ? ['', 'Suggested actions:', ...n.suggested_actions.map((a) => `- ${a}`)] : []),
    ...(n.runbook_url ? ['', `Runbook: ${n.runbook_url}`] : []),
    `Workflow: ${n.workflow_url}`,
    '',
    `Acknowledge: ${links.acknowledge}`,
    `Resolve: ${links.resolve}`,
    '',
  ].join('\n');
  const button = (href: string, label: string, color: string) =>
    `<a href="${escapeHtml(href)}" style="display:inline-block;padding:8px 16px;margin-right:8px;background:${color};color:#fff;text-decoration:none;border-radius:4px">${label}</a>`;
  const body = [
    `<h2 style="margin:0 0 8px">${escapeHtml(subject)}</h2>`,
    `<p>${escapeHtml(n.description)}</p>`,
    `<table cellpadding="4">${facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`,
    ...(n.suggested_actions.length ? [`<p><b>Suggested actions</b></p><ul>${n.suggested_actions.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`] : []),
    `<p>${n.runbook_url ? `<a href="${escapeHtml(n.runbook_url)}">Runbook</a> · ` : ''}<a href="${escapeHtml(n.workflow_url)}">Workflow in Temporal</a></p>`,
    `<p>${button(links.acknowledge, 'Acknowledge', '#2eb67d')}${button(links.resolve, 'Resolve', '#e01e5a')}</p>`,
  ].join('\n');
  return { subject, text, html: `<!doctype html><html><body style="font-family:sans-serif">${body}</body></html>` };
}

/** GroupedAlert is one alert of a group's batch message, as it stands. */
export interface GroupedAlert {
  notification: AlertNotification;
  state: NotificationState;
}

/** countsOf counts the items themselves (when all of a batch's alerts are drawn). */
function countsOf(items: readonly GroupedAlert[]): GroupCounts {
  return { total: items.length, firing: items.filter((i) => i.state.status === 'firing').length };
}

/** GROUP_MESSAGE_MAX_ALERTS caps the alerts drawn one by one in a batch message (Slack allows 50 blocks). */
export const GROUP_MESSAGE_MAX_ALERTS = 20;

/** GroupCounts are a batch's size and how many of its alerts still fire (the items drawn may be fewer). */
export interface GroupCounts {
  total: number;
  firing: number;
}

/** GROUP_ITEMS_SENT caps the alerts a batch's activity carries and its e-mail lists (the counts cover the rest). */
export const GROUP_ITEMS_SENT = 100;

function groupTitle(items: readonly GroupedAlert[], groupLabels: Record<string, string>, counts: GroupCounts): string {
  const worst = ['critical', 'warning', 'info'].find((s) => items.some((i) => i.notification.severity === s)) ?? 'info';
  const labels = Object.entries(groupLabels).map(([k, v]) => `${k}=${v}`).join(', ');
  const firing = counts.firing === counts.total ? `${counts.total} alerts firing` : `${counts.firing} of ${counts.total} alerts firing`;
  return `${SEVERITY_MARK[worst] ?? ''} [${worst.toUpperCase()}] ${firing}${labels ? ` — ${labels}` : ''}`.trim();
}

function alertLine(n: AlertNotification): string {
  return `${n.service}${n.instance ? `/${n.instance}` : ''} · ${n.metric} ${n.current_value} (threshold ${n.threshold}) · level ${n.level}`;
}

/**
 * slackGroupMessage draws a group's batch: a header counting its alerts, then each alert (up to
 * GROUP_MESSAGE_MAX_ALERTS) with its state and its own Acknowledge / Resolve buttons; redrawn in place as they change.
 */
export function slackGroupMessage(items: readonly GroupedAlert[], groupLabels: Record<string, string>, groupUrl: string, counts = countsOf(items)): SlackMessage {
  const title = groupTitle(items, groupLabels, counts);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `<${groupUrl}|Notification group in Temporal> · policy ${mrkdwn(items[0]?.notification.escalation_policy ?? '')}` }] },
  ];
  for (const { notification: n, state } of items.slice(0, GROUP_MESSAGE_MAX_ALERTS)) {
    const text = `*${mrkdwn(n.message)}* — ${mrkdwn(alertLine(n))} · <${n.workflow_url}|workflow> · \`${n.alert_id}\`\n${stateLine(state)}`;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
    if (state.status !== 'resolved') {
      const buttons: unknown[] = [];
      if (state.status === 'firing') {
        buttons.push({ type: 'button', action_id: SLACK_ACTIONS.acknowledge, text: { type: 'plain_text', text: 'Acknowledge' }, style: 'primary', value: n.alert_id });
      }
      buttons.push({ type: 'button', action_id: SLACK_ACTIONS.resolve, text: { type: 'plain_text', text: 'Resolve' }, style: 'danger', value: n.alert_id });
      blocks.push({ type: 'actions', block_id: `alert_actions:${n.alert_id}`.slice(0, 255), elements: buttons });
    }
  }
  const drawn = Math.min(items.length, GROUP_MESSAGE_MAX_ALERTS);
  if (counts.total > drawn) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${counts.total - drawn} more alerts of this group: see the dashboard` }] });
  }
  return { text: `${title}: ${items.slice(0, drawn).map((i) => `${i.notification.alert_id} ${i.state.status}`).join(', ')}`, blocks };
}

/** emailGroupMessage draws a group's batch as one e-mail: each alert with its facts and signed links. */
export function emailGroupMessage(
  items: ReadonlyArray<GroupedAlert & { links: { acknowledge: string; resolve: string } }>,
  groupLabels: Record<string, string>,
  counts = countsOf(items),
): EmailMessage {
  const subject = groupTitle(items, groupLabels, counts).replace(/^:[a-z_]+: /, '');
  const more = counts.total > items.length ? [`…and ${counts.total - items.length} more alerts of this group: see the dashboard`, ''] : [];
  const text = [
    subject,
    '',
    ...items.flatMap(({ notification: n, state, links }) => [
      `* ${n.message} — ${alertLine(n)} — ${stateLine(state).replaceAll('*', '').replace(/^:[a-z_]+: /, '')}`,
      `  ${n.description}`,
      `  Alert ${n.alert_id}; workflow: ${n.workflow_url}`,
      ...(state.status === 'firing' ? [`  Acknowledge: ${links.acknowledge}`] : []),
      `  Resolve: ${links.resolve}`,
      '',
    ]),
    ...more,
  ].join('\n');
  const rows = items
    .map(
      ({ notification: n, state, links }) =>
        `<tr><td><b>${escapeHtml(n.message)}</b><br>${escapeHtml(alertLine(n))}<br><small>${escapeHtml(n.alert_id)} · <a href="${escapeHtml(n.workflow_url)}">workflow</a></small></td>` +
        `<td>${escapeHtml(state.status)}</td><td>${state.status === 'firing' ? `<a href="${escapeHtml(links.acknowledge)}">Acknowledge</a> · ` : ''}<a href="${escapeHtml(links.resolve)}">Resolve</a></td></tr>`,
    )
    .join('');
  const html = `<!doctype html><html><body style="font-family:sans-serif"><h2 style="margin:0 0 8px">${escapeHtml(subject)}</h2><table cellpadding="6">${rows}</table>${more.length ? `<p>${escapeHtml(more[0]!)}</p>` : ''}</body></html>`;
  return { subject, text, html };
}
