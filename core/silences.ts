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
  /** The silence that mutes (undefined for inhibition). */
  silenceId?: string;
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
  return { muted: true, reason: silenceReason(hit), untilMs: hit.endsAtMs, silenceId: hit.id };
}

/** silenceReason says which silence mutes an alert: its id, matchers, author and end. */
export function silenceReason(s: Silence): string {
  return `silenced by ${s.id} (${describeMatchers(s.matchers)}, by ${s.createdBy}, until ${new Date(s.endsAtMs).toISOString()})`;
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

/**
 * Dependency is a rule's parent (`depends_on`): while an alert matching `matchers` fires — with the same values of
 * the `equal` labels as the child — the child's alerts do not page; they are recorded, and resolve, as ever.
 */
export interface Dependency {
  matchers: Matcher[];
  equal: string[];
}

/** dependencyDecision mutes a child alert while a firing alert (anywhere) is its parent. */
export function dependencyDecision(child: Labels, firingEverywhere: readonly Labels[], dependency: Dependency): MuteDecision {
  const parent = firingEverywhere.find((p) => matchesAll(p, dependency.matchers) && dependency.equal.every((l) => (p[l] ?? '') === (child[l] ?? '')));
  if (!parent) return { muted: false, reason: `its parent ${describeMatchers(dependency.matchers)} is not firing` };
  const where = ['service', 'instance'].filter((l) => parent[l]).map((l) => `${l}=${parent[l]}`).join(', ');
  return { muted: true, reason: `depends on ${parent.alertname ?? 'its parent'}${where ? ` (${where})` : ''}, which is firing: the parent pages, this is recorded` };
}

/**
 * notificationMute runs the stages in Alertmanager's order — silences, then inhibition — and then the rule's
 * dependency (`firingEverywhere` is every service's firing alerts; only read for a rule that has a parent).
 */
export function notificationMute(
  labels: Labels,
  silences: readonly Silence[],
  firing: readonly Labels[],
  rules: readonly InhibitRule[],
  nowMs: number,
  dependency?: { on: Dependency; firingEverywhere: readonly Labels[] },
): MuteDecision {
  const silenced = silenceDecision(labels, silences, nowMs);
  if (silenced.muted) return silenced;
  const inhibited = inhibitionDecision(labels, firing, rules);
  if (inhibited.muted) return inhibited;
  if (dependency) {
    const child = dependencyDecision(labels, dependency.firingEverywhere, dependency.on);
    if (child.muted) return child;
  }
  return { muted: false, reason: 'not silenced or inhibited' };
}

/**
 * parseDependency reads a rule's `depends_on`: a map of the parent's labels (`alertname: ClickHouseDown`, exact
 * values) with an optional `equal: [label, …]` the child must share; or, in an annotation (Prometheus files have no
 * such key), matchers in Alertmanager syntax (`alertname="ClickHouseDown", cluster=~"eu.*"`) with `depends_on_equal`.
 */
export function parseDependency(raw: unknown, equalRaw: unknown, field: string): Dependency {
  let matchers: Matcher[];
  let equal: unknown = equalRaw;
  if (typeof raw === 'string') matchers = parseMatcherText(raw, field);
  else if (isRecord(raw)) {
    const { equal: inner, ...labels } = raw;
    equal = inner ?? equalRaw;
    if (Object.keys(labels).length === 0) throw new SilenceError(field, 'expected the parent\'s labels, e.g. {alertname: ClickHouseDown}');
    matchers = Object.entries(labels).map(([name, value]) => {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || (typeof value !== 'string' && typeof value !== 'number')) throw new SilenceError(`${field}.${name}`, 'expected a label name and its value');
      return { name, value: String(value), isRegex: false, isEqual: true };
    });
  } else throw new SilenceError(field, 'expected the parent\'s labels, e.g. {alertname: ClickHouseDown, equal: [cluster]}');
  if (typeof equal === 'string') equal = equal.split(',').map((l) => l.trim()).filter(Boolean);
  if (equal !== undefined && (!Array.isArray(equal) || !equal.every((l) => typeof l === 'string' && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l)))) throw new SilenceError(`${field}.equal`, 'expected a list of label names');
  return { matchers, equal: (equal as string[] | undefined) ?? [] };
}

/** parseMatchers validates Alertmanager-style matchers from an API body or a file. */
export function parseMatchers(raw: unknown, field: string): Matcher[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new SilenceError(field, 'expected at least one matcher: {name, value, isRegex?, isEqual?} or a string such as severity="critical"');
  // A string may hold several matchers ({a="b", c=~"d"}): each becomes its own.
  const out = raw.flatMap((m, i): Matcher[] => {
    const f = `${field}[${i}]`;
    if (typeof m === 'string') return parseMatcherText(m, f);
    if (!isRecord(m)) throw new SilenceError(f, 'expected {name, value, isRegex?, isEqual?} or a string such as severity="critical"');
    if (typeof m.name !== 'string' || !validLabelName(m.name)) throw new SilenceError(`${f}.name`, 'expected a label name');
    if (typeof m.value !== 'string' || m.value.length > 1024) throw new SilenceError(`${f}.value`, 'expected a string of at most 1024 characters');
    if (m.isRegex !== undefined && typeof m.isRegex !== 'boolean') throw new SilenceError(`${f}.isRegex`, 'expected a boolean');
    if (m.isEqual !== undefined && typeof m.isEqual !== 'boolean') throw new SilenceError(`${f}.isEqual`, 'expected a boolean');
    return [checked({ name: m.name, value: m.value, isRegex: m.isRegex === true, isEqual: m.isEqual !== false }, `${f}.value`)];
  });
  if (out.length > 32) throw new SilenceError(field, 'at most 32 matchers');
  return out;
}

/** validLabelName: a label name as Alertmanager takes it — classic, or any UTF-8 text without control characters. */
const validLabelName = (name: string) => name.length > 0 && name.length <= 256 && !/[\u0000-\u001f]/.test(name);

function checked(m: Matcher, field: string): Matcher {
  if (m.isRegex) {
    try {
      anchored(m.value);
    } catch (err) {
      throw new SilenceError(field, `invalid regular expression: ${(err as Error).message}`);
    }
  }
  return m;
}

/**
 * parseMatcherText reads Alertmanager's matcher syntax: `name="value"`, `name=~"re"`, `name!="v"`, `name!~"re"`,
 * unquoted values (`severity=critical`), quoted UTF-8 names (`"service.name"="api"`), several in braces
 * (`{a="b", c=~"d"}`), as amtool and Alertmanager's own configuration write them.
 */
export function parseMatcherText(text: string, field: string): Matcher[] {
  let body = text.trim();
  if (body.startsWith('{')) {
    if (!body.endsWith('}')) throw new SilenceError(field, `unclosed brace in ${JSON.stringify(text)}`);
    body = body.slice(1, -1);
  }
  const out: Matcher[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^\s!=~"{},]+))\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,}]*?))\s*(?:,|$)/y;
  while (re.lastIndex < body.length) {
    const start = re.lastIndex;
    const m = re.exec(body);
    if (!m || m[0] === '') throw new SilenceError(field, `not a matcher: ${JSON.stringify(body.slice(start))} (write name="value", name=~"regex", name!="value" or name!~"regex")`);
    const name = m[1] !== undefined ? JSON.parse(`"${m[1]}"`) as string : m[2]!;
    const value = m[4] !== undefined ? JSON.parse(`"${m[4]}"`) as string : m[5]!;
    if (!validLabelName(name)) throw new SilenceError(field, `invalid label name ${JSON.stringify(name)}`);
    if (value.length > 1024) throw new SilenceError(field, 'a matcher value has at most 1024 characters');
    const op = m[3]!;
    out.push(checked({ name, value, isRegex: op.endsWith('~'), isEqual: !op.startsWith('!') }, field));
  }
  if (out.length === 0) throw new SilenceError(field, 'expected at least one matcher');
  return out;
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
