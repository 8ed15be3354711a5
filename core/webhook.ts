/**
 * The generic webhook's body: Alertmanager's webhook payload (version 4), so any endpoint written for Alertmanager
 * — a chat bridge, a ticketing hook, an incident tool — takes our alerts unchanged. One escalation step of one alert
 * is a payload with one alert; a notification group's batch is one payload with each of its alerts.
 */
import { alertLabels, type AlertInput } from './alert';
import { expandAll } from './template';
import type { Labels } from './types';

/** WebhookAlert is one alert of a payload, as Alertmanager writes it. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

/** WebhookPayload is Alertmanager's webhook body, version 4. */
export interface WebhookPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** Alertmanager's "no end yet" instant, written as endsAt of a firing alert. */
const NO_END = '0001-01-01T00:00:00Z';

/** webhookAlert describes one alert: its labels (alertname, severity, service, instance and the rule's), annotations and times. */
export function webhookAlert(
  input: Pick<AlertInput, 'labels' | 'rule' | 'service' | 'instance' | 'fingerprint'>,
  details: { value: number; firedAtMs: number; resolvedAtMs?: number; generatorUrl: string },
): WebhookAlert {
  const { condition } = input.rule;
  return {
    status: details.resolvedAtMs === undefined ? 'firing' : 'resolved',
    labels: alertLabels(input),
    annotations: { ...expandAll(input.rule.annotations, { labels: alertLabels(input), value: details.value }), value: String(details.value), threshold: `${condition.op} ${condition.threshold}` },
    startsAt: new Date(details.firedAtMs).toISOString(),
    endsAt: details.resolvedAtMs === undefined ? NO_END : new Date(details.resolvedAtMs).toISOString(),
    generatorURL: details.generatorUrl,
    fingerprint: input.fingerprint,
  };
}

/** common keeps the pairs every map has with the same value. */
function common(maps: readonly Labels[]): Labels {
  if (maps.length === 0) return {};
  return Object.fromEntries(Object.entries(maps[0]!).filter(([k, v]) => maps.every((m) => m[k] === v)));
}

/**
 * webhookPayload wraps alerts for one receiver: the payload is resolved only when every alert is, and carries the
 * labels and annotations they share, as Alertmanager does.
 */
export function webhookPayload(args: { receiver: string; groupKey: string; groupLabels: Labels; externalUrl: string; alerts: WebhookAlert[]; truncated?: number }): WebhookPayload {
  return {
    version: '4',
    groupKey: args.groupKey,
    truncatedAlerts: args.truncated ?? 0,
    status: args.alerts.every((a) => a.status === 'resolved') ? 'resolved' : 'firing',
    receiver: args.receiver,
    groupLabels: args.groupLabels,
    commonLabels: common(args.alerts.map((a) => a.labels)),
    commonAnnotations: common(args.alerts.map((a) => a.annotations)),
    externalURL: args.externalUrl,
    alerts: args.alerts,
  };
}
