import { FieldError } from './errors';
/**
 * Silences and inhibition: the two stages that may mute an alert's notifications, as in Alertmanager. Each is a
 * pure decision returning why it muted (or did not), so the reason can be shown on the alert and in its history.
 * - A silence mutes alerts whose labels match all its matchers during its time window.
 * - An inhibition rule mutes a target alert while a source alert fires with the same values of the `equal` labels
 *   (the shipped rule: a firing critical mutes the warning of the same service, instance and category).
 */
import { isRecord } from './guards';
import type { Labels } from './types';

/** Matcher is one Alertmanager matcher: label name, value, regex or literal, equal or not equal. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** Silence mutes matching alerts between startsAtMs and endsAtMs. */
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
}

/** InhibitRule mutes targets while a matching source fires with equal values of the `equal` labels. */
export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

/** MuteDecision says whether notifications are muted, why, and until when if known. */
export interface MuteDecision {
  muted: boolean;
  reason: string;
  /** When the mute ends by itself (a silence's end); undefined for inhibition, which lasts while its source fires. */
  untilMs?: number;
}

/** SilenceError names the field of a silence or inhibition rule that is wrong. */
export class SilenceError extends FieldError {}

const regexCache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    // Alertmanager (like Prometheus) anchors regex matchers at both ends.
    re = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** matches applies one matcher to labels (a missing label is the empty string, as in Prometheus). */
export function matches(labels: Labels, m: Matcher): boolean {
  const value = labels[m.name] ?? '';
  const hit = m.isRegex ? anchored(m.value).test(value) : value === m.value;
  return hit === m.isEqual;
}

/** matchesAll says whether labels satisfy every matcher. */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => matches(labels, m));
}

/** describeMatchers writes matchers as Alertmanager shows them: {service="a", severity=~"warn.*"}. */
export function describeMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.isEqual ? '' : '!'}${m.isRegex ? '~' : '='}${JSON.stringify(m.value)}`).join(', ')}}`;
}

/** silenceDecision mutes an alert's labels if an active silence matches them. */
export function silenceDecision(labels: Labels, silences: readonly Silence[], nowMs: number): MuteDecision {
  const hit = silences.find((s) => s.startsAtMs <= nowMs && nowMs < s.endsAtMs && matchesAll(labels, s.matchers));
  if (!hit) return { muted: false, reason: 'no active silence matches' };
  return { muted: true, reason: `silenced by ${hit.id} (${describeMatchers(hit.matchers)}, by ${hit.createdBy}, until ${new Date(hit.endsAtMs).toISOString()})`, untilMs: hit.endsAtMs };
}

/** inhibitionDecision mutes a target alert while a firing source of some rule shares its `equal` labels. */
export function inhibitionDecision(target: Labels, firing: readonly Labels[], rules: readonly InhibitRule[]): MuteDecision {
  for (const rule of rules) {
    if (!matchesAll(target, rule.target)) continue;
    const source = firing.find((s) => matchesAll(s, rule.source) && !matchesAll(s, rule.target) && rule.equal.every((l) => (s[l] ?? '') === (target[l] ?? '')));
    if (source) {
      return { muted: true, reason: `inhibited by a firing ${source.alertname ?? 'alert'} ${describeMatchers(rule.source)} with the same ${rule.equal.join(', ')}` };
    }
  }
  return { muted: false, reason: 'no firing source inhibits it' };
}

/** notificationMute runs the stages in Alertmanager's order: silences, then inhibition. */
export function notificationMute(labels: Labels, silences: readonly Silence[], firing: readonly Labels[], rules: readonly InhibitRule[], nowMs: number): MuteDecision {
  const silenced = silenceDecision(labels, silences, nowMs);
  if (silenced.muted) return silenced;
  const inhibited = inhibitionDecision(labels, firing, rules);
  if (inhibited.muted) return inhibited;
  return { muted: false, reason: 'not silenced or inhibited' };
}

/** parseMatchers validates Alertmanager-style matchers from an API body or a file. */
export function parseMatchers(raw: unknown, field: string): Matcher[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new SilenceError(field, 'expected at least one matcher {name, value, isRegex?, isEqual?}');
  if (raw.length > 32) throw new SilenceError(field, 'at most 32 matchers');
  return raw.map((m, i): Matcher => {
    const f = `${field}[${i}]`;
    if (!isRecord(m)) throw new SilenceError(f, 'expected {name, value, isRegex?, isEqual?}');
    if (typeof m.name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name)) throw new SilenceError(`${f}.name`, 'expected a label name');
    if (typeof m.value !== 'string' || m.value.length > 1024) throw new SilenceError(`${f}.value`, 'expected a string of at most 1024 characters');
    if (m.isRegex !== undefined && typeof m.isRegex !== 'boolean') throw new SilenceError(`${f}.isRegex`, 'expected a boolean');
    if (m.isEqual !== undefined && typeof m.isEqual !== 'boolean') throw new SilenceError(`${f}.isEqual`, 'expected a boolean');
    const isRegex = m.isRegex === true;
    if (isRegex) {
      try {
        anchored(m.value);
      } catch (err) {
        throw new SilenceError(`${f}.value`, `invalid regular expression: ${(err as Error).message}`);
      }
    }
    return { name: m.name, value: m.value, isRegex, isEqual: m.isEqual !== false };
  });
}

/** parseInhibitRules validates the inhibition rules of config/inhibit.yaml (already parsed YAML). */
export function parseInhibitRules(doc: unknown, source: string): InhibitRule[] {
  if (!isRecord(doc) || !Array.isArray(doc.inhibit_rules)) throw new SilenceError(`${source}: inhibit_rules`, 'expected a list');
  return doc.inhibit_rules.map((r, i) => {
    const f = `${source}: inhibit_rules[${i}]`;
    if (!isRecord(r)) throw new SilenceError(f, 'expected {source_matchers, target_matchers, equal}');
    const equal = r.equal ?? [];
    if (!Array.isArray(equal) || !equal.every((e) => typeof e === 'string')) throw new SilenceError(`${f}.equal`, 'expected a list of label names');
    return { source: parseMatchers(r.source_matchers, `${f}.source_matchers`), target: parseMatchers(r.target_matchers, `${f}.target_matchers`), equal: equal as string[] };
  });
}
