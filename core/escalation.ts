import { FieldError } from './errors';
/**
 * Escalation policies (config/escalation.yaml): who is notified when an alert fires and, while nobody acknowledges
 * it, who next. A policy is a list of steps — each notifies its targets, then waits — run in order and repeated
 * `repeat` more times, as PagerDuty does. The alert workflow takes a snapshot of its policy when it fires, so an
 * edit applies to later alerts, never halfway through one.
 */
import { parse as parseYaml } from 'yaml';
import { formatDuration, parseDuration } from './duration';
import { isRecord } from './guards';
import { isPhoneNumber } from './paging';
import type { Rule } from './rules';
import { ALERTMANAGER_DEFAULTS, type GroupingSpec } from './grouping';

/** NotificationChannel is where a notification goes (one receiver each, activities/receivers/). */
export type NotificationChannel = 'slack' | 'email' | 'webhook' | 'pagerduty' | 'opsgenie' | 'sms' | 'voice';

/**
 * EscalationTarget is one destination: a Slack channel (id or #name), an e-mail address, a webhook URL, a PagerDuty
 * routing key's name (PAGERDUTY_ROUTING_KEYS), an Opsgenie team, or a phone number (E.164) to text or to call.
 */
export interface EscalationTarget {
  channel: NotificationChannel;
  to: string;
}

/**
 * EscalationStep notifies its targets, then waits `waitMs` for an acknowledgement before the next step. `oncall`
 * names on-call schedules (core/oncall.ts) whose primary at the step's instant is notified too, on their contacts.
 */
export interface EscalationStep {
  waitMs: number;
  targets: EscalationTarget[];
  oncall?: string[];
}

/** EscalationPolicy is a named list of steps, run once and then `repeat` more times while unacknowledged. */
export interface EscalationPolicy {
  name: string;
  description: string;
  repeat: number;
  steps: EscalationStep[];
  /** Notification grouping (core/grouping.ts); without it each alert notifies on its own. */
  grouping?: GroupingSpec;
}

/** EscalationConfig is the parsed policy file: the policies and the one used when a rule names none. */
export interface EscalationConfig {
  defaultPolicy: string;
  policies: EscalationPolicy[];
}

/** PlannedNotification is one step of a policy's run: its place in the run and its targets. */
export interface PlannedNotification {
  /** Position in the whole run (0-based), the step's identity in notification keys. */
  index: number;
  /** 1-based escalation level (the step within its round). */
  level: number;
  /** 0 for the first pass through the steps, then 1, 2… for each repeat. */
  round: number;
  targets: EscalationTarget[];
  /** On-call schedules whose primary the step notifies, resolved when the step runs. */
  oncall?: string[];
  waitMs: number;
}

/**
 * Delivery is what a sent notification left behind: the Slack message to edit later, or the e-mail's Message-ID.
 * `group` is set when the message is a group's batch listing several alerts: its group workflow redraws it.
 */
export type Delivery =
  | { key: string; channel: 'slack'; to: string; slackChannel: string; ts: string; group?: string }
  | { key: string; channel: 'email'; to: string; messageId: string; group?: string }
  | { key: string; channel: 'webhook' | 'pagerduty' | 'opsgenie' | 'sms' | 'voice'; to: string; status: number; group?: string };

/** EscalationSnapshot is the policy an alert escalates along, taken when it fires, and how hard to try each delivery. */
export interface EscalationSnapshot {
  policy: EscalationPolicy;
  /** Re-fire suppression limits (core/dedup.ts). */
  dedup: { windowMs: number; maxPerHour: number };
  timeoutMs: number;
  maxAttempts: number;
}

/** SentNotification is a delivery with the escalation step it belongs to (a Slack message is redrawn with it). */
export type SentNotification = Delivery & { step: Pick<PlannedNotification, 'index' | 'level' | 'round'> };

/** EscalationError names the field of the policy file that is wrong. */
export class EscalationError extends FieldError {}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const SLACK_CHANNEL = /^(#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{6,})$/;
/** MAX_REPEAT bounds a policy's repeats: an unacknowledged alert is re-paged at most this many more rounds. */
export const MAX_REPEAT = 10;

/** parseTarget validates one target: {slack: "#channel" | "C0123ABCD"}, {email: "address"} or {webhook: "https://…"}. */
export function parseTarget(raw: unknown, field: string): EscalationTarget {
  if (!isRecord(raw) || Object.keys(raw).length !== 1) throw new EscalationError(field, 'expected one of {slack: "#channel"}, {email: "address"}, {webhook: "https://…"} or {oncall: "schedule"}');
  const [channel, to] = Object.entries(raw)[0]!;
  if (channel === 'slack') {
    if (typeof to !== 'string' || !SLACK_CHANNEL.test(to)) throw new EscalationError(`${field}.slack`, 'expected a channel id (C0123ABCD) or #name');
    return { channel, to };
  }
  if (channel === 'email') {
    if (typeof to !== 'string' || !EMAIL.test(to)) throw new EscalationError(`${field}.email`, 'expected an e-mail address');
    return { channel, to };
  }
  if (channel === 'webhook') {
    if (typeof to !== 'string' || !isHttpUrl(to)) throw new EscalationError(`${field}.webhook`, 'expected an http(s) URL');
    return { channel, to };
  }
  if (channel === 'pagerduty' || channel === 'opsgenie') {
    if (typeof to !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(to)) {
      throw new EscalationError(`${field}.${channel}`, channel === 'pagerduty' ? 'expected the name of a routing key in PAGERDUTY_ROUTING_KEYS' : 'expected an Opsgenie team name (lowercase letters, digits, - and _)');
    }
    return { channel, to };
  }
  if (channel === 'sms' || channel === 'voice') {
    if (typeof to !== 'string' || !isPhoneNumber(to)) throw new EscalationError(`${field}.${channel}`, 'expected a phone number in E.164 form, e.g. +4915112345678');
    return { channel, to };
  }
  throw new EscalationError(`${field}.${channel}`, 'unknown channel; expected slack, email, webhook, pagerduty, opsgenie, sms, voice or oncall');
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '' && value.length <= 2048;
  } catch {
    return false;
  }
}

/** parseEscalationPolicy validates one policy (from the file or the admin API). */
export function parseEscalationPolicy(raw: unknown, field: string): EscalationPolicy {
  if (!isRecord(raw)) throw new EscalationError(field, 'expected a policy object');
  const { name, description = '', repeat = 0, steps } = raw;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) throw new EscalationError(`${field}.name`, 'expected a name of lowercase letters, digits, - and _');
  if (typeof description !== 'string') throw new EscalationError(`${field}.description`, 'expected a string');
  if (!Number.isInteger(repeat) || (repeat as number) < 0 || (repeat as number) > MAX_REPEAT) {
    throw new EscalationError(`${field}.repeat`, `expected an integer from 0 to ${MAX_REPEAT}`);
  }
  if (!Array.isArray(steps) || steps.length === 0) throw new EscalationError(`${field}.steps`, 'expected at least one step');
  const parsed = steps.map((step, i): EscalationStep => {
    const stepField = `${field}.steps[${i}]`;
    if (!isRecord(step)) throw new EscalationError(stepField, 'expected {wait, targets}');
    if (typeof step.wait !== 'string') throw new EscalationError(`${stepField}.wait`, 'expected a duration such as 5m');
    let waitMs: number;
    try {
      waitMs = parseDuration(step.wait);
    } catch (err) {
      throw new EscalationError(`${stepField}.wait`, (err as Error).message);
    }
    if (waitMs < 1000) throw new EscalationError(`${stepField}.wait`, 'must be at least 1s');
    if (!Array.isArray(step.targets) || step.targets.length === 0) throw new EscalationError(`${stepField}.targets`, 'expected at least one target');
    // {oncall: schedule} targets the schedule's primary when the step runs; every other target is a fixed one.
    const oncall: string[] = [];
    const targets: EscalationTarget[] = [];
    step.targets.forEach((t, j) => {
      const targetField = `${stepField}.targets[${j}]`;
      if (isRecord(t) && Object.keys(t).length === 1 && 'oncall' in t) {
        if (typeof t.oncall !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(t.oncall)) throw new EscalationError(`${targetField}.oncall`, 'expected the name of an on-call schedule');
        if (!oncall.includes(t.oncall)) oncall.push(t.oncall);
      } else targets.push(parseTarget(t, targetField));
    });
    return { waitMs, targets, ...(oncall.length ? { oncall } : {}) };
  });
  const grouping = parseGrouping(raw, field);
  return { name, description, repeat: repeat as number, steps: parsed, ...(grouping ? { grouping } : {}) };
}

/**
 * parseGrouping reads a policy's `group_by`, `group_wait`, `group_interval` and `repeat_interval`; undefined when the
 * policy has no `group_by` (its alerts notify one by one).
 */
export function parseGrouping(raw: Record<string, unknown>, field: string): GroupingSpec | undefined {
  if (raw.group_by === undefined) {
    for (const key of ['group_wait', 'group_interval', 'repeat_interval']) {
      if (raw[key] !== undefined) throw new EscalationError(`${field}.${key}`, 'needs group_by');
    }
    return undefined;
  }
  if (!Array.isArray(raw.group_by) || raw.group_by.some((l) => typeof l !== 'string' || !/^([a-zA-Z_][a-zA-Z0-9_]*|\.\.\.)$/.test(l))) {
    throw new EscalationError(`${field}.group_by`, 'expected a list of label names (alertname for the rule), or [...]');
  }
  const duration = (key: string, fallback: number, min: number): number => {
    const value = raw[key];
    if (value === undefined) return fallback;
    let ms: number;
    try {
      ms = parseDuration(String(value));
    } catch (err) {
      throw new EscalationError(`${field}.${key}`, (err as Error).message);
    }
    if (ms < min) throw new EscalationError(`${field}.${key}`, `must be at least ${formatDuration(min)}`);
    return ms;
  };
  return {
    groupBy: [...new Set(raw.group_by as string[])].sort(),
    groupWaitMs: duration('group_wait', ALERTMANAGER_DEFAULTS.groupWaitMs, 0),
    groupIntervalMs: duration('group_interval', ALERTMANAGER_DEFAULTS.groupIntervalMs, 1000),
    repeatIntervalMs: duration('repeat_interval', ALERTMANAGER_DEFAULTS.repeatIntervalMs, 1000),
  };
}

/** parseEscalationConfig reads config/escalation.yaml: `default_policy` and a `policies` list. */
export function parseEscalationConfig(text: string, source: string): EscalationConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new EscalationError(source, `not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc.policies)) throw new EscalationError(`${source}: policies`, 'expected a list of policies');
  const policies = doc.policies.map((p, i) => parseEscalationPolicy(p, `${source}: policies[${i}]`));
  const names = new Set<string>();
  for (const p of policies) {
    if (names.has(p.name)) throw new EscalationError(`${source}: policies`, `policy ${p.name} is defined twice`);
    names.add(p.name);
  }
  const defaultPolicy = doc.default_policy;
  if (typeof defaultPolicy !== 'string' || !names.has(defaultPolicy)) {
    throw new EscalationError(`${source}: default_policy`, `expected the name of a policy (${[...names].join(', ')})`);
  }
  return { defaultPolicy, policies };
}

/** policyNameOf is the policy a rule asks for (label or annotation `escalation_policy`), else the default. */
export function policyNameOf(rule: Pick<Rule, 'labels' | 'annotations'>, config: Pick<EscalationConfig, 'defaultPolicy'>): string {
  return rule.labels.escalation_policy ?? rule.annotations.escalation_policy ?? config.defaultPolicy;
}

/** escalationPlan unrolls a policy into its notifications in order: every step of every round. */
export function escalationPlan(policy: EscalationPolicy): PlannedNotification[] {
  const plan: PlannedNotification[] = [];
  for (let round = 0; round <= policy.repeat; round++) {
    policy.steps.forEach((step, i) => plan.push({ index: plan.length, level: i + 1, round, targets: step.targets, ...(step.oncall ? { oncall: step.oncall } : {}), waitMs: step.waitMs }));
  }
  return plan;
}

/**
 * DELIVERY_HEARTBEAT is a notification delivery's heartbeat timeout: the worker heartbeats an attempt that runs
 * longer than a second, so an attempt whose worker died is retried within it rather than after the start-to-close.
 */
export const DELIVERY_HEARTBEAT = '3s';

/** notificationKey identifies one delivery — (alert, step, channel, destination) — for exactly-once sending. */
export function notificationKey(alertId: string, stepIndex: number, target: EscalationTarget): string {
  return `${alertId}:${stepIndex}:${target.channel}:${target.to}`;
}
