import { isRecord } from './guards';
import { md5 } from './md5';
import { fullRegex } from './promql-regex';
import type { Labels } from './types';

/**
 * Prometheus relabeling (`relabel_configs`, `metric_relabel_configs`) with Prometheus' semantics: source label
 * values joined by the separator, an RE2 regex anchored at both ends, Go's `$1` / `${name}` expansion in the
 * replacement (and in a replace's target label), an empty result deleting the label, md5-based hashmod, and the
 * actions replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase.
 */

export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/** RelabelConfig is one step, its defaults filled in as Prometheus fills them. */
export interface RelabelConfig {
  action: RelabelAction;
  sourceLabels: string[];
  separator: string;
  regex: RegExp;
  targetLabel: string;
  replacement: string;
  modulus: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FIELDS = new Set(['action', 'source_labels', 'separator', 'regex', 'target_label', 'replacement', 'modulus']);

/** parseRelabelConfigs reads a list of relabel steps; every fault names its field (`field[i].name`). */
export function parseRelabelConfigs(value: unknown, field: string): RelabelConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${field}: expected a list of relabel steps`);
  return value.map((step: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(step)) throw new Error(`${at}: expected a map`);
    for (const key of Object.keys(step)) if (!FIELDS.has(key)) throw new Error(`${at}.${key}: unknown field (${[...FIELDS].join(', ')})`);
    const action = String(step.action ?? 'replace').toLowerCase() as RelabelAction;
    if (!RELABEL_ACTIONS.includes(action)) throw new Error(`${at}.action: "${step.action}" is not one of ${RELABEL_ACTIONS.join(', ')}`);
    const sourceLabels = step.source_labels === undefined ? [] : Array.isArray(step.source_labels) ? step.source_labels.map(String) : undefined;
    if (!sourceLabels) throw new Error(`${at}.source_labels: expected a list of label names`);
    const bad = sourceLabels.find((l) => !LABEL_NAME.test(l));
    if (bad !== undefined) throw new Error(`${at}.source_labels: "${bad}" is not a label name`);
    let regex: RegExp;
    try {
      regex = fullRegex(step.regex === undefined ? '(.*)' : String(step.regex));
    } catch (err) {
      throw new Error(`${at}.regex: ${(err as Error).message}`);
    }
    const targetLabel = step.target_label === undefined ? '' : String(step.target_label);
    const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
    if (needsTarget && !targetLabel) throw new Error(`${at}.target_label: required for action ${action}`);
    const templated = action === 'replace' && targetLabel.includes('$');
    if (targetLabel && !templated && !LABEL_NAME.test(targetLabel)) throw new Error(`${at}.target_label: "${targetLabel}" is not a label name`);
    const modulus = step.modulus === undefined ? 0 : Number(step.modulus);
    if (action === 'hashmod' && !(Number.isInteger(modulus) && modulus > 0)) throw new Error(`${at}.modulus: a positive integer is required for hashmod`);
    return { action, sourceLabels, separator: step.separator === undefined ? ';' : String(step.separator), regex, targetLabel, replacement: step.replacement === undefined ? '$1' : String(step.replacement), modulus };
  });
}

/** expand is Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}` (the longest name), `$$`; a missing group is empty. */
export function expand(template: string, match: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i + 1;
    if (template[end] === '{') {
      const close = template.indexOf('}', end);
      const inner = close < 0 ? '' : template.slice(end + 1, close);
      if (close > 0 && /^[a-zA-Z0-9_]+$/.test(inner)) {
        name = inner;
        end = close + 1;
      }
    } else {
      const m = /^[a-zA-Z0-9_]+/.exec(template.slice(end));
      if (m) {
        name = m[0];
        end += m[0].length;
      }
    }
    if (name === undefined) {
      out += '$'; // malformed: the $ is text
      continue;
    }
    out += (/^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name]) ?? '';
    i = end - 1;
  }
  return out;
}

/** hashMod is Prometheus' hashmod: the last 8 bytes of the value's md5, big-endian, modulo `modulus`. */
export function hashMod(value: string, modulus: number): number {
  const digest = md5(value);
  return Number(new DataView(digest.buffer).getBigUint64(8, false) % BigInt(modulus));
}

/** relabel applies the steps to a copy of `labels`; undefined when a keep/drop step drops it. Empty values delete. */
export function relabel(labels: Labels, configs: readonly RelabelConfig[]): Labels | undefined {
  if (configs.length === 0) return labels;
  const out: Labels = { ...labels };
  const set = (name: string, value: string) => {
    if (value === '') delete out[name];
    else out[name] = value;
  };
  for (const cfg of configs) {
    const value = cfg.sourceLabels.map((l) => out[l] ?? '').join(cfg.separator);
    switch (cfg.action) {
      case 'drop':
        if (cfg.regex.test(value)) return undefined;
        break;
      case 'keep':
        if (!cfg.regex.test(value)) return undefined;
        break;
      case 'dropequal':
        if ((out[cfg.targetLabel] ?? '') === value) return undefined;
        break;
      case 'keepequal':
        if ((out[cfg.targetLabel] ?? '') !== value) return undefined;
        break;
      case 'replace': {
        const match = cfg.regex.exec(value);
        if (!match) break;
        const target = expand(cfg.targetLabel, match);
        if (!LABEL_NAME.test(target)) break;
        set(target, expand(cfg.replacement, match));
        break;
      }
      case 'lowercase':
        set(cfg.targetLabel, value.toLowerCase());
        break;
      case 'uppercase':
        set(cfg.targetLabel, value.toUpperCase());
        break;
      case 'hashmod':
        set(cfg.targetLabel, String(hashMod(value, cfg.modulus)));
        break;
      case 'labelmap':
        for (const name of Object.keys(out)) {
          const match = cfg.regex.exec(name);
          if (match) set(expand(cfg.replacement, match), out[name]!);
        }
        break;
      case 'labeldrop':
        for (const name of Object.keys(out)) if (cfg.regex.test(name)) delete out[name];
        break;
      case 'labelkeep':
        for (const name of Object.keys(out)) if (!cfg.regex.test(name)) delete out[name];
        break;
    }
  }
  return out;
}
