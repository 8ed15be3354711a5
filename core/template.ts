import type { Labels } from './types';

/**
 * Prometheus' alert templates in annotations and labels (Go's text/template as Prometheus uses it): `{{ $labels.x }}`,
 * `{{ $value }}`, `{{ $externalLabels.x }}` (and `.Labels`, `.Value`, `.ExternalLabels`), pipelines through
 * humanize, humanize1024, humanizePercentage, humanizeDuration, humanizeTimestamp, printf, toUpper, toLower, title,
 * reReplaceAll, index, and `{{ if … }} … {{ else }} … {{ end }}` on a value's truth. What is outside that stays as
 * written, so a notification never loses its text; `templateProblems` names it for `rules check`.
 */

export interface TemplateData {
  labels: Labels;
  value: number;
  externalLabels?: Labels;
}

type Value = string | number | boolean | Labels | undefined;

const ACTION = /\{\{-?\s*([\s\S]*?)\s*-?\}\}/g;

/** expandTemplate renders `text` for one alert. */
export function expandTemplate(text: string, data: TemplateData): string {
  if (!text.includes('{{')) return text;
  try {
    return render(text, data);
  } catch {
    return text;
  }
}

/** expandAll renders every value of a map (annotations, labels). */
export function expandAll(map: Labels, data: TemplateData): Labels {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, expandTemplate(v, data)]));
}

/** templateProblems says why a text would not render (undefined: it renders), for `rules check`. */
export function templateProblems(text: string): string | undefined {
  if (!text.includes('{{')) return undefined;
  try {
    render(text, { labels: {}, value: 0 });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

interface Token {
  kind: 'text' | 'action';
  text: string;
}

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(ACTION)) {
    let before = text.slice(last, m.index);
    if (m[0].startsWith('{{-')) before = before.replace(/\s+$/, '');
    out.push({ kind: 'text', text: before });
    out.push({ kind: 'action', text: m[1]! });
    last = m.index! + m[0].length;
    if (m[0].endsWith('-}}')) {
      const rest = text.slice(last);
      last += rest.length - rest.replace(/^\s+/, '').length;
    }
  }
  out.push({ kind: 'text', text: text.slice(last) });
  return out;
}

function render(text: string, data: TemplateData): string {
  const list = tokens(text);
  let i = 0;
  const block = (): { out: string; end: 'end' | 'else' | 'eof' } => {
    let out = '';
    while (i < list.length) {
      const t = list[i++]!;
      if (t.kind === 'text') {
        out += t.text;
        continue;
      }
      const action = t.text.trim();
      if (action.startsWith('/*')) continue;
      if (action === 'end') return { out, end: 'end' };
      if (action === 'else') return { out, end: 'else' };
      const cond = /^if\s+(.*)$/.exec(action);
      if (cond) {
        const truth = truthy(pipeline(cond[1]!, data));
        const then = block();
        let otherwise = '';
        if (then.end === 'else') {
          const rest = block();
          if (rest.end !== 'end') throw new Error('{{ if }} without {{ end }}');
          otherwise = rest.out;
        } else if (then.end !== 'end') throw new Error('{{ if }} without {{ end }}');
        out += truth ? then.out : otherwise;
        continue;
      }
      if (/^(range|with|define|template|block)\b/.test(action)) throw new Error(`{{ ${action.split(/\s/)[0]} }} is not supported in alert templates here`);
      out += show(pipeline(action, data));
    }
    return { out, end: 'eof' };
  };
  const result = block();
  if (result.end !== 'eof') throw new Error(`unexpected {{ ${result.end} }}`);
  return result.out;
}

function truthy(v: Value): boolean {
  if (v === undefined || v === '' || v === 0 || v === false) return false;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function show(v: Value): string {
  if (v === undefined) return '<no value>';
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${v[k]}`).join(' ')}]`;
  return String(v);
}

/** words splits a command into its arguments (quoted strings kept whole). */
function words(command: string): string[] {
  return [...command.matchAll(/"(?:[^"\\]|\\.)*"|`[^`]*`|\S+/g)].map((m) => m[0]);
}

function pipeline(text: string, data: TemplateData): Value {
  let value: Value;
  let first = true;
  for (const command of text.split(/\|(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const args = words(command.trim());
    if (args.length === 0) throw new Error('empty command');
    value = first ? call(args, data, undefined, false) : call(args, data, value, true);
    first = false;
  }
  return value;
}

function operand(word: string, data: TemplateData): Value {
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (word.startsWith('`')) return word.slice(1, -1);
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(word)) return Number(word);
  if (word === 'true' || word === 'false') return word === 'true';
  const path = /^(\$labels|\$externalLabels|\$value|\.Labels|\.ExternalLabels|\.Value|\$)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(word);
  if (!path) throw new Error(`"${word}" is not a value this template knows`);
  const root = path[1]!;
  const base: Value = root === '$labels' || root === '.Labels' ? data.labels : root === '$externalLabels' || root === '.ExternalLabels' ? (data.externalLabels ?? {}) : root === '$' ? data.labels : data.value;
  const keys = path[2]!.split('.').filter(Boolean);
  if (keys.length === 0) return base;
  if (typeof base !== 'object') throw new Error(`${root} has no fields`);
  return keys.length === 1 ? (base[keys[0]!] ?? undefined) : undefined;
}

function call(args: string[], data: TemplateData, piped: Value, hasPiped: boolean): Value {
  const [name, ...rest] = args;
  const values = rest.map((w) => operand(w, data));
  if (hasPiped) values.push(piped);
  const fn = FUNCTIONS[name!];
  if (fn) return fn(...values);
  if (rest.length > 0 || hasPiped) throw new Error(`function "${name}" not defined`);
  return operand(name!, data);
}

const num = (v: Value): number => (typeof v === 'number' ? v : Number(v));

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  humanize: (v) => humanize(num(v), 1000, ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'], ['', 'm', 'u', 'n', 'p', 'f', 'a', 'z', 'y']),
  humanize1024: (v) => humanize(num(v), 1024, ['', 'ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'], []),
  humanizePercentage: (v) => `${printf('%.4g', num(v) * 100)}%`,
  humanizeDuration: (v) => humanizeDuration(num(v)),
  humanizeTimestamp: (v) => {
    const n = num(v);
    return Number.isFinite(n) ? new Date(n * 1000).toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, ' +0000 UTC') : show(n);
  },
  printf: (format, ...rest) => printf(String(format), ...rest),
  toUpper: (v) => String(v ?? '').toUpperCase(),
  toLower: (v) => String(v ?? '').toLowerCase(),
  title: (v) => String(v ?? '').replace(/\b\w/g, (c) => c.toUpperCase()),
  reReplaceAll: (pattern, replacement, text) => String(text ?? '').replace(new RegExp(String(pattern), 'g'), String(replacement).replace(/\$\{?(\d+)\}?/g, '$$$1')),
  index: (map, key) => (typeof map === 'object' && map ? map[String(key)] : undefined),
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => num(a) < num(b),
  gt: (a, b) => num(a) > num(b),
  le: (a, b) => num(a) <= num(b),
  ge: (a, b) => num(a) >= num(b),
  not: (a) => !truthy(a),
  and: (a, b) => (truthy(a) ? b : a),
  or: (a, b) => (truthy(a) ? a : b),
  match: (pattern, text) => new RegExp(String(pattern)).test(String(text)),
};

/** humanize writes a number with an SI (or binary) prefix and up to 4 significant digits, as Prometheus does. */
function humanize(v: number, base: number, up: string[], down: string[]): string {
  if (!Number.isFinite(v) || v === 0) return printf('%.4g', v);
  let x = v;
  if (Math.abs(x) >= 1) {
    let i = 0;
    while (Math.abs(x) >= base && i < up.length - 1) {
      x /= base;
      i++;
    }
    return `${printf('%.4g', x)}${up[i]}`;
  }
  if (down.length === 0) return printf('%.4g', v);
  let i = 0;
  while (Math.abs(x) < 1 && i < down.length - 1) {
    x *= 1000;
    i++;
  }
  return `${printf('%.4g', x)}${down[i]}`;
}

function humanizeDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return show(seconds);
  if (Math.abs(seconds) < 1) {
    if (seconds === 0) return '0s';
    let x = seconds;
    for (const unit of ['ms', 'us', 'ns']) {
      x *= 1000;
      if (Math.abs(x) >= 1 || unit === 'ns') return `${printf('%.4g', x)}${unit}`;
    }
  }
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const days = Math.floor(rest / 86_400);
  rest -= days * 86_400;
  const hours = Math.floor(rest / 3_600);
  rest -= hours * 3_600;
  const minutes = Math.floor(rest / 60);
  rest -= minutes * 60;
  const parts = [days ? `${days}d ` : '', hours ? `${hours}h ` : '', minutes ? `${minutes}m ` : ''].join('');
  return `${sign}${parts}${printf('%.4g', rest)}s`;
}

/** printf is Go's fmt.Sprintf for the verbs templates use: %s %v %d %f %g %e %x %%, with width and precision. */
export function printf(format: string, ...args: Value[]): string {
  let k = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([svdfFgGeExXq%])/g, (_all, flags: string, width?: string, precision?: string, verb?: string) => {
    if (verb === '%') return '%';
    const arg = args[k++];
    let out: string;
    const p = precision === undefined ? undefined : Number(precision);
    switch (verb) {
      case 'd':
        out = String(Math.trunc(num(arg)));
        break;
      case 'f':
      case 'F':
        out = Number.isFinite(num(arg)) ? num(arg).toFixed(p ?? 6) : show(num(arg));
        break;
      case 'e':
      case 'E':
        out = goExp(num(arg), p ?? 6);
        if (verb === 'E') out = out.toUpperCase();
        break;
      case 'g':
      case 'G':
        out = p === undefined ? goFloat(num(arg)) : goG(num(arg), p);
        break;
      case 'x':
      case 'X':
        out = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Array.from(String(arg), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
        if (verb === 'X') out = out.toUpperCase();
        break;
      case 'q':
        out = JSON.stringify(String(arg ?? ''));
        break;
      default:
        out = show(arg);
    }
    if (flags.includes('+') && typeof arg === 'number' && num(arg) >= 0) out = `+${out}`;
    const w = width === undefined ? 0 : Number(width);
    if (out.length < w) out = flags.includes('-') ? out.padEnd(w) : flags.includes('0') ? out.padStart(w, '0') : out.padStart(w);
    return out;
  });
}

/** goExp is Go's %e: mantissa with `precision` decimals and a two-digit exponent at least. */
function goExp(v: number, precision: number): string {
  if (!Number.isFinite(v)) return show(v);
  const [m, e] = v.toExponential(precision).split('e') as [string, string];
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** goG is Go's %.Ng: N significant digits, the exponent form when the exponent is < -4 or >= N, no trailing zeros. */
function goG(v: number, precision: number): string {
  if (!Number.isFinite(v)) return show(v);
  if (v === 0) return '0';
  const p = precision === 0 ? 1 : precision;
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(p)))));
  if (exp < -4 || exp >= p) return goExp(Number(v.toPrecision(p)), p - 1).replace(/\.?0+e/, 'e');
  return Number(v.toPrecision(p)).toString().includes('e') ? v.toFixed(Math.max(0, p - 1 - exp)) : String(Number(v.toPrecision(p)));
}

/** goFloat is Go's %v of a float64 (strconv 'g', shortest digits): the exponent form when the exponent is < -4 or >= 6. */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}
