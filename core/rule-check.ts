import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { parseRecordingRule, parseRule, parseRuleDocument, RuleError } from './rules';

/**
 * checkRuleFile is `promtool check rules` for one file: every problem of every rule, not only the first, each at its
 * line and column in the file and named as promtool names it — `L:C: group "g", rule N, "name": message` — so a
 * rule file's author can fix them all in one pass.
 */

/** RuleProblem is one fault of a rule file, where it is. */
export interface RuleProblem {
  line: number;
  col: number;
  /** promtool's wording of where: `group "g", rule 2, "HighCpu"` (empty for the file or a group's own fields). */
  where: string;
  message: string;
}

const KNOWN_RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations', 'name', 'expression', 'duration', 'severity', 'type', 'no_data', 'metric', 'statistic', 'method', 'sensitivity', 'group']);
const KNOWN_GROUP_KEYS = new Set(['name', 'interval', 'limit', 'rules', 'query_offset', 'labels']);

/** checkRuleFile checks a rule file's text (Prometheus' format or the seed's) and returns its problems. */
export function checkRuleFile(text: string, source: string): { problems: RuleProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (node: YamlNode | null | undefined, fallback?: YamlNode | null) => {
    const offset = (node ?? fallback)?.range?.[0] ?? 0;
    const { line, col } = lines.linePos(offset);
    return { line, col };
  };
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((e) => ({ ...lines.linePos(e.pos[0]), where: '', message: e.message.split('\n')[0]! })) };
  }
  const root = doc.contents;
  const groupsNode = isMap(root) ? root.get('groups', true) : undefined;
  // The seed's format has no group list to walk: its loader's first fault, at the start of the file, is all we say.
  if (!isSeq(groupsNode)) return { problems: loaderProblems(text, source) };
  const problems: RuleProblem[] = [];
  const names = new Set<string>();
  groupsNode.items.forEach((groupNode, gi) => {
    if (!isMap(groupNode)) return void problems.push({ ...at(groupNode as YamlNode), where: '', message: `groups[${gi}]: expected a map` });
    const name = groupNode.get('name');
    if (typeof name !== 'string' || !name) problems.push({ ...at(groupNode), where: '', message: 'Groupname must not be empty' });
    else if (names.has(name)) problems.push({ ...at(groupNode.get('name', true) as YamlNode), where: '', message: `groupname: "${name}" is repeated in the same file` });
    else names.add(name);
    for (const pair of groupNode.items) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      if (!KNOWN_GROUP_KEYS.has(key)) problems.push({ ...at(pair.key as YamlNode), where: `group "${name}"`, message: `field ${key} not found in type rulefmt.RuleGroup` });
    }
    const rulesNode = groupNode.get('rules', true);
    if (!isSeq(rulesNode)) return void problems.push({ ...at(groupNode), where: `group "${name}"`, message: 'rules: required list of rules' });
    rulesNode.items.forEach((ruleNode, ri) => {
      const where = (label: string) => `group "${name}", rule ${ri + 1}, "${label}"`;
      if (!isMap(ruleNode)) return void problems.push({ ...at(ruleNode as YamlNode), where: `group "${name}", rule ${ri + 1}`, message: 'expected a map' });
      const raw = ruleNode.toJSON() as Record<string, unknown>;
      const label = String(raw.alert ?? raw.record ?? raw.name ?? '');
      for (const pair of ruleNode.items) {
        const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
        if (!KNOWN_RULE_KEYS.has(key)) problems.push({ ...at(pair.key as YamlNode), where: where(label), message: `field ${key} not found in type rulefmt.Rule` });
      }
      if (raw.alert !== undefined && raw.record !== undefined) return void problems.push({ ...at(ruleNode), where: where(label), message: 'only one of "record" and "alert" must be set' });
      try {
        if (raw.record !== undefined) parseRecordingRule(raw, `groups[${gi}].rules[${ri}]`);
        else parseRule(raw, String(name ?? ''), `groups[${gi}].rules[${ri}]`);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        // Point at the value of the field at fault (its last path part), inside it for an expression's column.
        const fieldName = /\.(\w+)$/.exec(err.field)?.[1] ?? '';
        const valueNode = ruleNode.get(fieldName, true) as YamlNode | undefined;
        const pos = at(valueNode, ruleNode);
        problems.push({ line: pos.line, col: pos.col, where: where(label), message: err.message.replace(`${err.field}: `, `${fieldName ? `${fieldName}: ` : ''}`) });
      }
    });
  });
  // What the walk above does not look at (a group's interval, limit, labels) the loader still judges.
  return { problems: problems.length > 0 ? problems : loaderProblems(text, source) };
}

/** loaderProblems is the rule loader's first fault, at the start of the file (none when it loads). */
function loaderProblems(text: string, source: string): RuleProblem[] {
  try {
    parseRuleDocument(text, source);
    return [];
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    return [{ line: 1, col: 1, where: '', message: err.message }];
  }
}

/** formatProblem writes a problem as promtool does: `file: L:C: group "g", rule N, "name": message`. */
export function formatProblem(file: string, p: RuleProblem): string {
  return `${file}: ${p.line}:${p.col}: ${p.where ? `${p.where}: ` : ''}${p.message}`;
}
