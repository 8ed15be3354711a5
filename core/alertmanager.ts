import type { AlertInput, Observation } from './alert';
import { FieldError } from './errors';
import { fingerprint } from './fingerprint';
import { isRecord } from './guards';
import type { Rule } from './rules';
import { severityLevel } from './rules';
import type { Matcher, Silence } from './silences';
import type { ActiveAlert, Labels } from './types';

/**
 * Alertmanager's API v2 (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml), the pure part
 * (api/routes/alertmanager.ts serves it): Prometheus' postable alerts read into our alert workflows' input, our
 * alerts and silences written in Alertmanager's gettable shapes.
 *
 * A Prometheus alert becomes an alert of ours whose rule is the alert itself: named by `alertname`, severity from
 * its `severity` label (any word, routed by level as rule files are), labels and annotations as sent, no `for`
 * (Prometheus applied it). It fires while Prometheus keeps sending it; `endsAt` in the past resolves it, and one
 * not heard of again by its `endsAt` (default: 5 minutes, Alertmanager's resolve_timeout) resolves as stale.
 */

/** AlertmanagerError names the field of a posted alert or silence that is wrong (a 400). */
export class AlertmanagerError extends FieldError {}

/** PostableAlert is one alert as Prometheus posts it. */
export interface PostableAlert {
  labels: Labels;
  annotations: Labels;
  startsAtMs?: number;
  endsAtMs?: number;
  generatorURL: string;
}

/** RESOLVE_TIMEOUT_MS: how long an alert without endsAt stays firing unheard of (Alertmanager's default). */
export const RESOLVE_TIMEOUT_MS = 5 * 60_000;

function labelMap(value: unknown, field: string, required: boolean): Labels {
  if (value === undefined && !required) return {};
  if (!isRecord(value)) throw new AlertmanagerError(field, 'expected a map of strings');
  const out: Labels = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new AlertmanagerError(`${field}.${k}`, 'expected a string');
    if (k === '' || k.length > 256) throw new AlertmanagerError(`${field}.${k}`, 'invalid label name');
    if (v.length > 4096) throw new AlertmanagerError(`${field}.${k}`, 'at most 4096 characters');
    if (v !== '') out[k] = v;
  }
  return out;
}

function time(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '' || value === '0001-01-01T00:00:00Z' || value === '0001-01-01T00:00:00.000Z') return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new AlertmanagerError(field, 'expected an RFC 3339 time');
  return ms;
}

/** parsePostableAlerts validates a POST /api/v2/alerts body: an array of {labels, annotations?, startsAt?, endsAt?, generatorURL?}. */
export function parsePostableAlerts(body: unknown): PostableAlert[] {
  if (!Array.isArray(body)) throw new AlertmanagerError('body', 'expected an array of alerts');
  if (body.length > 10_000) throw new AlertmanagerError('body', 'at most 10000 alerts a request');
  return body.map((raw, i) => {
    const f = `body[${i}]`;
    if (!isRecord(raw)) throw new AlertmanagerError(f, 'expected an alert object');
    const labels = labelMap(raw.labels, `${f}.labels`, true);
    if (Object.keys(labels).length === 0) throw new AlertmanagerError(`${f}.labels`, 'at least one label');
    if (!labels.alertname) throw new AlertmanagerError(`${f}.labels.alertname`, 'required (it names the alert)');
    if (!/^[a-zA-Z_][a-zA-Z0-9_:.-]*$/.test(labels.alertname)) throw new AlertmanagerError(`${f}.labels.alertname`, 'expected a name of letters, digits, _ : . -');
    const startsAtMs = time(raw.startsAt, `${f}.startsAt`);
    const endsAtMs = time(raw.endsAt, `${f}.endsAt`);
    if (startsAtMs !== undefined && endsAtMs !== undefined && endsAtMs < startsAtMs) throw new AlertmanagerError(`${f}.endsAt`, 'before startsAt');
    if (raw.generatorURL !== undefined && typeof raw.generatorURL !== 'string') throw new AlertmanagerError(`${f}.generatorURL`, 'expected a string');
    return {
      labels,
      annotations: labelMap(raw.annotations, `${f}.annotations`, false),
      ...(startsAtMs !== undefined ? { startsAtMs } : {}),
      ...(endsAtMs !== undefined ? { endsAtMs } : {}),
      generatorURL: (raw.generatorURL as string | undefined) ?? '',
    };
  });
}

/**
 * externalAlert turns a posted alert into our alert workflow's input and the observation to signal: firing until
 * its endsAt, resolved once endsAt has passed. Its fingerprint is Alertmanager's identity, the label set.
 */
export function externalAlert(alert: PostableAlert, nowMs: number): { input: AlertInput; observation: Observation } {
  const { alertname, ...rest } = alert.labels;
  const severityText = rest.severity ?? 'warning';
  const severity = severityLevel(severityText);
  const service = rest.service ?? rest.job ?? 'prometheus';
  const instance = rest.instance ?? '';
  const value = Number(alert.annotations.value);
  const rule: Rule = {
    name: alertname!,
    group: 'alertmanager',
    expression: alert.generatorURL || `alert ${alertname} from Prometheus`,
    condition: { expr: { kind: 'number', value: 0 }, op: '>', threshold: 0, metric: rest.__name__ ?? alertname! },
    durationMs: 0,
    severity,
    labels: severityText === severity ? {} : { severity: severityText },
    annotations: alert.annotations,
  };
  // The alert's labels as an evaluated alert's are: its own, service and instance among them, severity only when
  // it is not a level's own name (alertLabels adds alertname and severity).
  const { severity: _severity, ...labels } = rest;
  if (severityText !== severity) labels.severity = severityText;
  labels.service = service;
  if (instance) labels.instance = instance;
  const firing = alert.endsAtMs === undefined || alert.endsAtMs > nowMs;
  const observation: Observation = { breaching: firing, value: Number.isFinite(value) ? value : 0, atMs: nowMs };
  const staleAfterMs = Math.max(60_000, alert.endsAtMs !== undefined && alert.endsAtMs > nowMs ? alert.endsAtMs - nowMs : RESOLVE_TIMEOUT_MS);
  return {
    input: { fingerprint: fingerprint(alertname!, labels), rule, labels, service, instance, firstBreach: { ...observation, atMs: alert.startsAtMs ?? nowMs }, staleAfterMs },
    observation,
  };
}

/** gettableAlert writes one of our active alerts as Alertmanager's GET /api/v2/alerts does. */
export function gettableAlert(alert: ActiveAlert, silencedBy: string[], nowMs: number) {
  const labels: Labels = { ...(alert.labels ?? {}), alertname: alert.labels?.alertname ?? alert.rule, severity: alert.labels?.severity ?? alert.severity, service: alert.service };
  if (alert.instance) labels.instance = alert.instance;
  return {
    labels,
    annotations: { summary: alert.summary },
    startsAt: alert.started_at,
    endsAt: new Date(Date.parse(alert.last_evaluation) + RESOLVE_TIMEOUT_MS).toISOString(),
    updatedAt: new Date(nowMs).toISOString(),
    generatorURL: alert.workflow_id ? `/api/v1/alerts/${encodeURIComponent(alert.alert_id)}` : '',
    fingerprint: alert.fingerprint,
    receivers: [{ name: 'escalation' }],
    status: { state: silencedBy.length > 0 ? 'suppressed' : 'active', silencedBy, inhibitedBy: [] as string[] },
  };
}

/** gettableSilence writes a silence as Alertmanager's GET /api/v2/silences does. */
export function gettableSilence(s: Silence, nowMs: number) {
  return {
    id: s.id,
    status: { state: nowMs < s.startsAtMs ? 'pending' : nowMs < s.endsAtMs ? 'active' : 'expired' },
    updatedAt: new Date(Math.min(nowMs, s.endsAtMs)).toISOString(),
    matchers: s.matchers.map((m: Matcher) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual })),
    startsAt: new Date(s.startsAtMs).toISOString(),
    endsAt: new Date(s.endsAtMs).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}
