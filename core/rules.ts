import { parse as parseYaml } from 'yaml';
import { parseDuration } from './duration';
import type { Labels, Severity } from './types';
import { SEVERITIES } from './types';
import { isRecord } from './guards';
import { compare, parseCondition, PromqlError, type Condition } from './promql';
import { parsePromql, typeOf, type Node } from './promql-ast';
import { parsePromqlRule } from './promql-rule';
import { ANOMALY_METHODS, DEFAULT_ANOMALY_METHOD } from './anomaly';
import { FieldError } from './errors';
import { parseDependency, type Dependency } from './silences';

export { compare, type ComparisonOp, type LabelMatcher } from './promql';

/**
 * Alert rules: the seed's YAML (`monitoring_rules` / `business_rules` maps of groups, each a list of
 * {name, expression, duration, severity, labels, annotations}) and Prometheus rule files
 * (`groups: [{name, interval, rules: [{alert, expr, for, labels, annotations}]}]`) load into one Rule model.
 * Expressions are the PromQL subset of core/promql.ts.
 */

/** Rule is one alerting rule, whichever file format it came from. */
export interface Rule {
  /** The rule's identity (its alerts' key); unique across the loaded rules (see mergeRuleGroups). */
  name: string;
  /** The alert name written in the file, when `name` had to tell a second rule of that name apart. */
  alertname?: string;
  group: string;
  expression: string;
  condition: Condition;
  /**
   * Set when the expression is outside the subset compiled to SQL (core/rule-sql.ts): it is evaluated in full PromQL
   * by core/promql-engine.ts, and `condition` only describes it (its first metric and the number it compares with).
   */
  promql?: Node;
  durationMs: number;
  /** Prometheus' keep_firing_for: a firing alert resolves only once its condition has stayed clear this long. */
  keepFiringForMs?: number;
  /**
   * What a firing alert does when its series stops being reported: `resolve` (after 4 evaluation intervals, the
   * default) or `keep` (stay as it is until data shows it clear, or someone resolves it).
   */
  noData?: NoDataPolicy;
  severity: Severity;
  labels: Labels;
  annotations: Labels;
  /**
   * Set for a rule of `type: anomaly`: instead of comparing an expression with a threshold, the anomaly scan judges
   * each service's five-minute `statistic` of `metric` with the detector `method` (core/anomaly.ts). Its
   * `expression` is descriptive and its `condition` is not evaluated.
   */
  anomaly?: AnomalySpec;
  /** The rule's parent (`depends_on`): while it fires, this rule's alerts are recorded but do not page. */
  dependsOn?: Dependency;
}

/**
 * isShadow says a rule runs in the shadow (`shadow: true`, the label shadow="true"): evaluated live beside the others,
 * its alerts fire, resolve and are recorded, but page nobody, count for no health, mute nothing and list nowhere
 * but in its own history — for its weekly diff against the rule it would replace (`shadow_of`, else its alertname).
 */
export function isShadow(rule: Pick<Rule, 'labels'>): boolean {
  return rule.labels.shadow === 'true';
}

/** ANOMALY_STATISTICS are the five-minute statistics an anomaly rule can watch (from the 1-minute rollup). */
export const ANOMALY_STATISTICS = ['avg', 'max', 'min', 'p50', 'p95', 'p99'] as const;

/** AnomalySpec is what an anomaly rule watches and how. */
export interface AnomalySpec {
  metric: string;
  statistic: (typeof ANOMALY_STATISTICS)[number];
  method: string;
}

/** isThresholdRule tells the rules the evaluation schedules compare with thresholds (not the anomaly scan's). */
export const isThresholdRule = (rule: Rule): boolean => rule.anomaly === undefined;

/** evaluatedGroups are the groups with a threshold or recording rule: those that get an evaluation schedule. */
export function evaluatedGroups(groups: readonly RuleGroup[]): RuleGroup[] {
  return groups.filter((g) => g.rules.some(isThresholdRule) || (g.records?.length ?? 0) > 0);
}

/** NoDataPolicy is a rule's answer to a series that stops reporting. */
export type NoDataPolicy = 'resolve' | 'keep';

/**
 * RecordingRule is a Prometheus recording rule: its expression is evaluated with the group and each resulting
 * sample written back as a series named `record` (with `labels` added), which alerts and queries read like any other.
 */
export interface RecordingRule {
  record: string;
  expression: string;
  promql: Node;
  labels: Labels;
}

/** RuleGroup is a set of rules evaluated together at one interval. */
export interface RuleGroup {
  name: string;
  intervalMs: number | undefined;
  rules: Rule[];
  /** Recording rules, evaluated in order before the group's alerts (so an alert reads this evaluation's records). */
  records?: RecordingRule[];
  /**
   * Prometheus' group `limit`: a rule whose evaluation yields more alerts (alerting) or series (recording) than this
   * fails that evaluation — nothing of it is used, the error logged — instead of flooding. 0 or absent: no limit.
   */
  limit?: number;
  /** Prometheus' query_offset: the group evaluates this long before the evaluation's time (late-arriving data). */
  queryOffsetMs?: number;
}

/**
 * limitAlerts applies a group's `limit` to one evaluation's series, as Prometheus does: a rule with more alerts
 * (breaching series) than the limit fails this evaluation — its series are not used, so its alerts go stale and
 * resolve after the staleness interval — and is reported in `exceeded`. A limit of 0 changes nothing.
 */
export function limitAlerts<T extends { value: number; breaching?: boolean }>(rules: readonly Rule[], series: T[][], limit: number): { series: T[][]; exceeded: Array<{ rule: string; alerts: number }> } {
  if (limit <= 0) return { series, exceeded: [] };
  const exceeded: Array<{ rule: string; alerts: number }> = [];
  const kept = series.map((list, i) => {
    const rule = rules[i]!;
    const alerts = list.filter((s) => s.breaching ?? compare(s.value, rule.condition.op, rule.condition.threshold)).length;
    if (alerts <= limit) return list;
    exceeded.push({ rule: rule.name, alerts });
    return [];
  });
  return { series: kept, exceeded };
}

/** parseRecordingRule reads a `{record, expr, labels}` rule of a Prometheus rule file. */
export function parseRecordingRule(raw: Record<string, unknown>, field: string): RecordingRule {
  const record = raw.record;
  if (typeof record !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(record)) throw new RuleError(`${field}.record`, 'required metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*');
  const expression = raw.expr;
  if (typeof expression !== 'string') throw new RuleError(`${field}.expr`, 'required expression string');
  if (raw.for !== undefined || raw.annotations !== undefined || raw.keep_firing_for !== undefined) throw new RuleError(field, 'a recording rule has no for, keep_firing_for or annotations');
  let promql: Node;
  try {
    promql = parsePromql(expression);
    const type = typeOf(promql);
    if (type !== 'vector' && type !== 'scalar') throw new PromqlError(`a recording rule's expression must be an instant vector or a scalar, this one is a ${type === 'matrix' ? 'range vector' : type}`, 0);
  } catch (err) {
    if (err instanceof PromqlError) throw new RuleError(`${field}.expr`, err.message, err.position);
    throw err;
  }
  const labels = stringMap(raw.labels, `${field}.labels`);
  for (const name of Object.keys(labels)) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name === '__name__') throw new RuleError(`${field}.labels.${name}`, 'invalid label name');
  return { record, expression, promql, labels };
}

/** RuleError says what is wrong with a rule, where: the file path of the field and, for expressions, the column. */
export class RuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly position?: number,
  ) {
    super(position === undefined ? `${field}: ${message}` : `${field}: ${message} at column ${position + 1}`);
    this.name = 'RuleError';
  }
}

/** parseExpression parses an alert expression of the PromQL subset, naming the field and column of any error. */
export function parseExpression(text: string, field = 'expression'): Condition {
  try {
    return parseCondition(text);
  } catch (err) {
    if (err instanceof PromqlError) throw new RuleError(field, err.message, err.position);
    throw err;
  }
}

/**
 * parseAlertExpression reads an alert expression: the subset compiled to SQL when it is one (a vector expression
 * compared with a number, the fast path of a thousand rules), else full PromQL, evaluated in memory (`promql`).
 * An expression neither takes is refused with PromQL's reason and column.
 */
export function parseAlertExpression(text: string, field = 'expression'): { condition: Condition; promql?: Node } {
  try {
    return { condition: parseCondition(text) };
  } catch (subsetError) {
    if (!(subsetError instanceof PromqlError)) throw subsetError;
    try {
      const { node, condition } = parsePromqlRule(text);
      return { condition, promql: node };
    } catch (err) {
      if (err instanceof PromqlError) throw new RuleError(field, err.message, err.position);
      throw err;
    }
  }
}

function stringMap(value: unknown, field: string): Labels {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new RuleError(field, 'expected a map of strings');
  const out: Labels = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
      throw new RuleError(`${field}.${key}`, 'expected a string');
    }
    out[key] = String(entry);
  }
  return out;
}

/**
 * severityLevel maps a severity as rule files write it to the level routing, escalation and health use: the three
 * levels themselves, the usual words and priorities for each (page, high, error, P1 … → critical; low, notice, P4 …
 * → info), anything else warning.
 */
export function severityLevel(text: string): Severity {
  const t = text.trim().toLowerCase();
  if ((SEVERITIES as readonly string[]).includes(t)) return t as Severity;
  if (/^(crit|page|pager|paging|emergency|emerg|alert|fatal|high|highest|urgent|error|err|major|disaster|p0|p1|p2|sev-?[012]|s[012])$/.test(t)) return 'critical';
  if (/^(informational|notice|low|lowest|none|debug|minor|ok|p4|p5|sev-?[45]|s[45])$/.test(t)) return 'info';
  return 'warning';
}

/** parseRule validates one rule object (seed or Prometheus keys) of a group; errors name `field`. */
export function parseRule(raw: unknown, group: string, field: string): Rule {
  if (!isRecord(raw)) throw new RuleError(field, 'expected a rule object');
  if (raw.type !== undefined && raw.type !== 'threshold' && raw.type !== 'anomaly') throw new RuleError(`${field}.type`, 'expected threshold or anomaly');
  if (raw.type === 'anomaly') return parseAnomalyRule(raw, group, field);
  const nameKey = raw.alert !== undefined ? 'alert' : 'name';
  const exprKey = raw.expr !== undefined ? 'expr' : 'expression';
  const forKey = raw.for !== undefined ? 'for' : 'duration';
  const name = raw[nameKey];
  if (typeof name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_:]*$/.test(name)) {
    throw new RuleError(`${field}.${nameKey}`, 'required rule name matching [a-zA-Z_][a-zA-Z0-9_:]*');
  }
  const expression = raw[exprKey];
  if (typeof expression !== 'string') throw new RuleError(`${field}.${exprKey}`, 'required expression string');
  const { condition, promql } = parseAlertExpression(expression, `${field}.${exprKey}`);
  let durationMs = 0;
  if (raw[forKey] !== undefined) {
    try {
      durationMs = parseDuration(String(raw[forKey]));
    } catch (err) {
      throw new RuleError(`${field}.${forKey}`, (err as Error).message);
    }
  }
  let keepFiringForMs = 0;
  if (raw.keep_firing_for !== undefined) {
    try {
      keepFiringForMs = parseDuration(String(raw.keep_firing_for));
    } catch (err) {
      throw new RuleError(`${field}.keep_firing_for`, (err as Error).message);
    }
  }
  const noData = raw.no_data ?? 'resolve';
  if (noData !== 'resolve' && noData !== 'keep') throw new RuleError(`${field}.no_data`, 'expected resolve or keep');
  const labels = stringMap(raw.labels, `${field}.labels`);
  const annotations = stringMap(raw.annotations, `${field}.annotations`);
  let dependsOn: Dependency | undefined;
  try {
    if (raw.depends_on !== undefined) dependsOn = parseDependency(raw.depends_on, undefined, `${field}.depends_on`);
    else if (annotations.depends_on !== undefined) dependsOn = parseDependency(annotations.depends_on, annotations.depends_on_equal, `${field}.annotations.depends_on`);
  } catch (err) {
    if (err instanceof FieldError) throw new RuleError(err.field, err.message.slice(err.field.length + 2));
    throw err;
  }
  // shadow: true (or {replaces: rule}) — or the labels shadow="true" and shadow_of in a Prometheus file.
  if (raw.shadow !== undefined) {
    const shadow = raw.shadow;
    if (shadow === true) labels.shadow = 'true';
    else if (isRecord(shadow) && typeof shadow.replaces === 'string' && /^[a-zA-Z_][a-zA-Z0-9_:]*$/.test(shadow.replaces)) Object.assign(labels, { shadow: 'true', shadow_of: shadow.replaces });
    else if (shadow !== false) throw new RuleError(`${field}.shadow`, 'expected true, false or {replaces: <rule name>}');
  }
  const severityText = raw.severity ?? labels.severity ?? 'warning';
  if (typeof severityText !== 'string' || severityText.trim() === '') throw new RuleError(`${field}.severity`, 'expected a severity string');
  const severity = severityLevel(severityText);
  // A severity of the level's own name lives in `severity`; any other (page, P1, high, …) also stays a label, as written.
  if (severityText === severity) delete labels.severity;
  else labels.severity = severityText;
  return {
    name,
    group,
    expression,
    condition,
    ...(promql ? { promql } : {}),
    durationMs,
    ...(keepFiringForMs ? { keepFiringForMs } : {}),
    ...(noData !== 'resolve' ? { noData } : {}),
    severity,
    labels,
    annotations,
    ...(dependsOn ? { dependsOn } : {}),
  };
}

/**
 * parseAnomalyRule reads a rule of `type: anomaly`: {name, type, metric, statistic (avg), method (novelty),
 * duration, severity, labels, annotations}.
 */
function parseAnomalyRule(raw: Record<string, unknown>, group: string, field: string): Rule {
  const name = raw.name ?? raw.alert;
  if (typeof name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_:]*$/.test(name)) throw new RuleError(`${field}.name`, 'required rule name matching [a-zA-Z_][a-zA-Z0-9_:]*');
  const metric = raw.metric;
  if (typeof metric !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metric)) throw new RuleError(`${field}.metric`, 'required metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*');
  const statistic = raw.statistic ?? 'avg';
  if (!ANOMALY_STATISTICS.includes(statistic as AnomalySpec['statistic'])) throw new RuleError(`${field}.statistic`, `expected one of ${ANOMALY_STATISTICS.join(', ')}`);
  const method = raw.method ?? DEFAULT_ANOMALY_METHOD;
  if (typeof method !== 'string' || !Object.hasOwn(ANOMALY_METHODS, method)) throw new RuleError(`${field}.method`, `expected one of ${Object.keys(ANOMALY_METHODS).join(', ')}`);
  // The rest (duration, severity, labels, annotations) reads as a threshold rule's does, on a placeholder expression.
  const base = parseRule({ ...raw, type: undefined, name, expression: `${metric} != 0` }, group, field);
  return { ...base, expression: `anomaly(${statistic}(${metric}), ${method})`, anomaly: { metric, statistic: statistic as AnomalySpec['statistic'], method } };
}

/** parseRuleDocument reads one rule file's text (seed YAML or Prometheus rule file) into groups. */
export function parseRuleDocument(text: string, source = 'rules'): RuleGroup[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new RuleError(source, `not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new RuleError(source, 'expected a map at the top level');
  const groups: RuleGroup[] = [];
  if (Array.isArray(doc.groups)) {
    doc.groups.forEach((rawGroup, gi) => {
      const field = `${source}:groups[${gi}]`;
      if (!isRecord(rawGroup) || typeof rawGroup.name !== 'string') throw new RuleError(`${field}.name`, 'required group name');
      if (!Array.isArray(rawGroup.rules)) throw new RuleError(`${field}.rules`, 'required list of rules');
      const intervalMs = rawGroup.interval === undefined ? undefined : parseDuration(String(rawGroup.interval));
      const limit = rawGroup.limit === undefined ? 0 : Number(rawGroup.limit);
      if (!Number.isInteger(limit) || limit < 0) throw new RuleError(`${field}.limit`, 'a whole number of alerts or series (0: no limit)');
      const queryOffsetMs = rawGroup.query_offset === undefined ? 0 : parseDuration(String(rawGroup.query_offset));
      if (rawGroup.labels !== undefined && !isRecord(rawGroup.labels)) throw new RuleError(`${field}.labels`, 'a map of labels');
      const groupLabels = (rawGroup.labels ?? {}) as Record<string, unknown>;
      const name = rawGroup.name;
      const rules: Rule[] = [];
      const records: RecordingRule[] = [];
      rawGroup.rules.forEach((rule, ri) => {
        // A group's labels go on each of its rules (the rule's own win), as in Prometheus 3.
        const withLabels = isRecord(rule) && Object.keys(groupLabels).length ? { ...rule, labels: { ...groupLabels, ...(isRecord(rule.labels) ? rule.labels : {}) } } : rule;
        if (isRecord(withLabels) && withLabels.record !== undefined) records.push(parseRecordingRule(withLabels, `${field}.rules[${ri}]`));
        else rules.push(parseRule(withLabels, name, `${field}.rules[${ri}]`));
      });
      groups.push({ name, intervalMs, rules, ...(records.length ? { records } : {}), ...(limit ? { limit } : {}), ...(queryOffsetMs ? { queryOffsetMs } : {}) });
    });
    return groups;
  }
  // Seed format: top-level sections (monitoring_rules, business_rules), each a map of group name → rule list.
  for (const [section, body] of Object.entries(doc)) {
    if (!isRecord(body)) throw new RuleError(`${source}:${section}`, 'expected a map of rule groups');
    for (const [groupName, rules] of Object.entries(body)) {
      const field = `${source}:${section}.${groupName}`;
      if (!Array.isArray(rules)) throw new RuleError(field, 'expected a list of rules');
      groups.push({ name: groupName, intervalMs: undefined, rules: rules.map((rule, ri) => parseRule(rule, groupName, `${field}[${ri}]`)) });
    }
  }
  return groups;
}

/**
 * mergeRuleGroups joins groups from several files. Prometheus lets one alert name stand for several rules (the
 * usual warning/critical pair): the first keeps the name, each later one is told apart as `name:severity` (or
 * `name:severity:n`), which keys its alerts, while its `alertname` label stays the name written in the file.
 */
export function mergeRuleGroups(documents: RuleGroup[][]): RuleGroup[] {
  const seen = new Set<string>();
  const merged: RuleGroup[] = [];
  for (const groups of documents) {
    for (const group of groups) {
      const rules = group.rules.map((rule) => {
        if (!seen.has(rule.name)) {
          seen.add(rule.name);
          return rule;
        }
        const base = `${rule.name}:${rule.labels.severity ?? rule.severity}`;
        let name = base;
        for (let n = 2; seen.has(name); n++) name = `${base}:${n}`;
        seen.add(name);
        return { ...rule, name, alertname: rule.alertname ?? rule.name };
      });
      merged.push({ ...group, rules });
    }
  }
  return merged;
}

/**
 * overlayRules applies rules edited through the admin API over the files' groups: an edited rule replaces the file
 * rule of the same name (wherever it was) and joins its own group, which is created if no file has it.
 */
export function overlayRules(groups: RuleGroup[], edited: readonly Rule[]): RuleGroup[] {
  const names = new Set(edited.map((r) => r.name));
  const out = groups.map((g) => ({ ...g, rules: g.rules.filter((r) => !names.has(r.name)) }));
  for (const rule of edited) {
    let group = out.find((g) => g.name === rule.group);
    if (!group) out.push((group = { name: rule.group, intervalMs: undefined, rules: [] }));
    group.rules.push(rule);
  }
  return out.filter((g) => g.rules.length > 0 || (g.records?.length ?? 0) > 0);
}
