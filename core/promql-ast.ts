import type { SyntaxNode } from '@lezer/common';
import { parseDuration } from './duration';
import { parseTree, PromqlError, type LabelMatcher } from './promql';
import { fullRegex } from './promql-regex';

/**
 * The whole of PromQL (Prometheus 3's stable language: no native histograms, no experimental functions) as a tree
 * the evaluator (core/promql-engine.ts) walks. Parsed with @prometheus-io/lezer-promql, Prometheus' own grammar;
 * positions are 0-based offsets into the text, so every refusal names its column.
 */

/** At is an `@` modifier: a fixed instant in milliseconds, or the query's start or end. */
export type At = number | 'start' | 'end';

/** Matching is a binary operator's vector matching: on()/ignoring() and group_left()/group_right(). */
export interface Matching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  on: boolean;
  labels: string[];
  include: string[];
}

export type Node =
  | { type: 'number'; value: number; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'vector'; name: string | undefined; matchers: LabelMatcher[]; offsetMs: number; at?: At; pos: number }
  | { type: 'matrix'; vector: VectorNode; rangeMs: number; pos: number }
  | { type: 'subquery'; expr: Node; rangeMs: number; stepMs: number | undefined; offsetMs: number; at?: At; pos: number }
  | { type: 'call'; fn: string; args: Node[]; pos: number }
  | { type: 'aggregate'; op: string; param: Node | undefined; expr: Node; grouping: string[]; without: boolean; pos: number }
  | { type: 'binary'; op: BinaryOp; lhs: Node; rhs: Node; bool: boolean; matching: Matching | undefined; pos: number }
  | { type: 'unary'; expr: Node; pos: number }
  | { type: 'paren'; expr: Node; pos: number };

export type VectorNode = Extract<Node, { type: 'vector' }>;

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2' | '==' | '!=' | '>' | '<' | '>=' | '<=' | 'and' | 'or' | 'unless';

/** ValueType is what an expression evaluates to. */
export type ValueType = 'scalar' | 'string' | 'vector' | 'matrix';

const BINARY: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};
const MATCH_OPS: Record<string, LabelMatcher['op']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };
export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);

/** AGGREGATION_OPS are the aggregation operators evaluated; the experimental limitk/limit_ratio are refused. */
export const AGGREGATION_OPS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values'] as const;

/** FUNCTIONS: each evaluated function's argument types and result type (Prometheus' signatures; trailing optional arguments counted apart). */
export const FUNCTIONS: Record<string, { args: ValueType[]; optional?: number; variadic?: boolean; returns: ValueType }> = {
  abs: { args: ['vector'], returns: 'vector' },
  absent: { args: ['vector'], returns: 'vector' },
  absent_over_time: { args: ['matrix'], returns: 'vector' },
  acos: { args: ['vector'], returns: 'vector' },
  acosh: { args: ['vector'], returns: 'vector' },
  asin: { args: ['vector'], returns: 'vector' },
  asinh: { args: ['vector'], returns: 'vector' },
  atan: { args: ['vector'], returns: 'vector' },
  atanh: { args: ['vector'], returns: 'vector' },
  avg_over_time: { args: ['matrix'], returns: 'vector' },
  ceil: { args: ['vector'], returns: 'vector' },
  changes: { args: ['matrix'], returns: 'vector' },
  clamp: { args: ['vector', 'scalar', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  cos: { args: ['vector'], returns: 'vector' },
  cosh: { args: ['vector'], returns: 'vector' },
  count_over_time: { args: ['matrix'], returns: 'vector' },
  day_of_month: { args: ['vector'], optional: 1, returns: 'vector' },
  day_of_week: { args: ['vector'], optional: 1, returns: 'vector' },
  day_of_year: { args: ['vector'], optional: 1, returns: 'vector' },
  days_in_month: { args: ['vector'], optional: 1, returns: 'vector' },
  deg: { args: ['vector'], returns: 'vector' },
  delta: { args: ['matrix'], returns: 'vector' },
  deriv: { args: ['matrix'], returns: 'vector' },
  // Prometheus 2's holt_winters under its Prometheus 3 name (written holt_winters, it is read as this).
  double_exponential_smoothing: { args: ['matrix', 'scalar', 'scalar'], returns: 'vector' },
  exp: { args: ['vector'], returns: 'vector' },
  floor: { args: ['vector'], returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
  hour: { args: ['vector'], optional: 1, returns: 'vector' },
  idelta: { args: ['matrix'], returns: 'vector' },
  increase: { args: ['matrix'], returns: 'vector' },
  irate: { args: ['matrix'], returns: 'vector' },
  label_join: { args: ['vector', 'string', 'string', 'string'], optional: 1, variadic: true, returns: 'vector' },
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector' },
  last_over_time: { args: ['matrix'], returns: 'vector' },
  ln: { args: ['vector'], returns: 'vector' },
  log10: { args: ['vector'], returns: 'vector' },
  log2: { args: ['vector'], returns: 'vector' },
  max_over_time: { args: ['matrix'], returns: 'vector' },
  min_over_time: { args: ['matrix'], returns: 'vector' },
  minute: { args: ['vector'], optional: 1, returns: 'vector' },
  month: { args: ['vector'], optional: 1, returns: 'vector' },
  pi: { args: [], returns: 'scalar' },
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  present_over_time: { args: ['matrix'], returns: 'vector' },
  quantile_over_time: { args: ['scalar', 'matrix'], returns: 'vector' },
  rad: { args: ['vector'], returns: 'vector' },
  rate: { args: ['matrix'], returns: 'vector' },
  resets: { args: ['matrix'], returns: 'vector' },
  round: { args: ['vector', 'scalar'], optional: 1, returns: 'vector' },
  scalar: { args: ['vector'], returns: 'scalar' },
  sgn: { args: ['vector'], returns: 'vector' },
  sin: { args: ['vector'], returns: 'vector' },
  sinh: { args: ['vector'], returns: 'vector' },
  sort: { args: ['vector'], returns: 'vector' },
  sort_desc: { args: ['vector'], returns: 'vector' },
  sqrt: { args: ['vector'], returns: 'vector' },
  stddev_over_time: { args: ['matrix'], returns: 'vector' },
  stdvar_over_time: { args: ['matrix'], returns: 'vector' },
  sum_over_time: { args: ['matrix'], returns: 'vector' },
  tan: { args: ['vector'], returns: 'vector' },
  tanh: { args: ['vector'], returns: 'vector' },
  time: { args: [], returns: 'scalar' },
  timestamp: { args: ['vector'], returns: 'vector' },
  vector: { args: ['scalar'], returns: 'vector' },
  year: { args: ['vector'], optional: 1, returns: 'vector' },
};

/** parsePromql parses a PromQL expression and checks its types, or throws PromqlError with the position. */
export function parsePromql(source: string): Node {
  const text = trailingDots(source);
  const top = parseTree(text);
  const node = new Builder(text).expr(top);
  typeOf(node);
  return node;
}

/**
 * trailingDots writes a number with a trailing dot (`1.`, which PromQL accepts and the lezer grammar does not) as
 * `1.0`, outside strings, keeping every later position one column further (errors still point close enough).
 */
function trailingDots(source: string): string {
  // Prometheus 2's holt_winters() is Prometheus 3's double_exponential_smoothing(), which the grammar knows.
  const text = source.replace(/\bholt_winters(\s*\()/g, 'double_exponential_smoothing$1');
  if (!/[0-9]\.(?![0-9])/.test(text)) return text;
  let out = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    out += c;
    if (quote) {
      if (c === '\\') out += text[++i] ?? '';
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '.' && /[0-9]/.test(text[i - 1] ?? '') && !/[0-9]/.test(text[i + 1] ?? '') && !/[a-zA-Z_:]/.test(text[i - 2] ?? '')) out += '0';
  }
  return out;
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

/** unquote reads a PromQL string literal: "…" or '…' with Go escapes, or a `…` raw string. */
export function unquote(literal: string, position: number): string {
  const quote = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== quote) throw new PromqlError('unterminated string', position);
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|[0-7]{3}|.)/g, (_, esc: string) => {
    if (/^[0-7]{3}$/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
    if (esc.length > 1) return String.fromCodePoint(parseInt(esc.slice(1), 16));
    const out = escapes[esc];
    if (out === undefined) throw new PromqlError(`unknown escape \\${esc} in a string`, position);
    return out;
  });
}

/** parseNumber reads a PromQL number: decimal, hex, Inf, NaN, or a duration (its seconds). */
function parseNumber(text: string, position: number): number {
  const t = text.replace(/_/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (/^inf$/i.test(body)) return sign * Infinity;
  if (/^nan$/i.test(body)) return Number.NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * parseInt(body.slice(2), 16);
  const n = Number(body);
  if (body !== '' && Number.isFinite(n)) return sign * n;
  try {
    return (sign * parseDuration(body)) / 1000;
  } catch {
    throw new PromqlError(`"${text}" is not a number`, position);
  }
}

class Builder {
  constructor(private readonly text: string) {}

  private src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  private fail(message: string, n: SyntaxNode): never {
    throw new PromqlError(message, n.from);
  }

  expr(n: SyntaxNode): Node {
    switch (n.name) {
      case 'NumberDurationLiteral':
        return { type: 'number', value: parseNumber(this.src(n), n.from), pos: n.from };
      case 'StringLiteral':
        return { type: 'string', value: unquote(this.src(n), n.from), pos: n.from };
      case 'ParenExpr': {
        const inner = children(n).find((c) => c.name !== '(' && c.name !== ')');
        if (!inner) this.fail('empty parentheses', n);
        return { type: 'paren', expr: this.expr(inner), pos: n.from };
      }
      case 'VectorSelector':
        return this.vector(n);
      case 'MatrixSelector': {
        const inner = this.expr(n.firstChild!);
        const rangeMs = this.duration(n.getChild('DurationExpr')!);
        if (inner.type !== 'vector') this.fail('ranges only allowed for vector selectors', n);
        if (inner.offsetMs !== 0 || inner.at !== undefined) this.fail('no offset or @ modifiers allowed before range', n);
        if (rangeMs <= 0) this.fail('the range must be positive', n);
        return { type: 'matrix', vector: inner, rangeMs, pos: n.from };
      }
      case 'SubqueryExpr': {
        const inner = this.expr(n.firstChild!);
        const durations = n.getChildren('DurationExpr');
        const rangeMs = this.duration(durations[0]!);
        const stepMs = durations[1] ? this.duration(durations[1]) : undefined;
        if (rangeMs <= 0) this.fail('the subquery range must be positive', n);
        if (stepMs !== undefined && stepMs <= 0) this.fail('the subquery step must be positive', n);
        return { type: 'subquery', expr: inner, rangeMs, stepMs, offsetMs: 0, pos: n.from };
      }
      case 'OffsetExpr': {
        const inner = this.expr(n.firstChild!);
        const offset = n.getChild('OffsetDurationExpr')!;
        const offsetMs = this.offsetDuration(offset);
        return this.modify(inner, n, (target) => {
          if (target.offsetMs !== 0) this.fail('offset may not be set multiple times', n);
          target.offsetMs = offsetMs;
        });
      }
      case 'StepInvariantExpr': {
        const inner = this.expr(n.firstChild!);
        const number = n.getChild('NumberDurationLiteral');
        const pre = n.getChild('AtModifierPreprocessors');
        const at: At = number ? Math.round(parseNumber(this.src(number), number.from) * 1000) : this.src(pre!).startsWith('start') ? 'start' : 'end';
        if (typeof at === 'number' && !Number.isFinite(at)) this.fail('timestamp out of bounds for @ modifier', n);
        return this.modify(inner, n, (target) => {
          if (target.at !== undefined) this.fail('@ <timestamp> may not be set multiple times', n);
          target.at = at;
        });
      }
      case 'UnaryExpr': {
        const [op, operand] = children(n);
        const expr = this.expr(operand!);
        if (this.src(op!) === '+') return expr;
        if (expr.type === 'number') return { ...expr, value: -expr.value };
        return { type: 'unary', expr, pos: n.from };
      }
      case 'BinaryExpr':
        return this.binary(n);
      case 'FunctionCall':
        return this.call(n);
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.fail('anchored and smoothed ranges are experimental and not evaluated here', n);
      case 'AggregateExpr':
        return this.aggregate(n);
      default:
        return this.fail(`"${this.src(n)}" is outside PromQL as evaluated here`, n);
    }
  }

  /** modify applies an offset or @ to the selector or subquery it follows (inside a range, it is the range's). */
  private modify(inner: Node, n: SyntaxNode, apply: (target: { offsetMs: number; at?: At }) => void): Node {
    // The grammar may bind a modifier after a unary or binary expression; it belongs to the operand it follows.
    if (inner.type === 'unary') return { ...inner, expr: this.modify(inner.expr, n, apply) };
    if (inner.type === 'binary') return { ...inner, rhs: this.modify(inner.rhs, n, apply) };
    if (inner.type === 'vector' || inner.type === 'subquery') {
      apply(inner);
      return inner;
    }
    if (inner.type === 'matrix') {
      apply(inner.vector);
      return inner;
    }
    return this.fail('offset and @ modifiers must follow a selector or a subquery', n);
  }

  private duration(n: SyntaxNode): number {
    const text = this.src(n).trim();
    if (!/^[0-9]+(\.[0-9]+)?$|^([0-9]+(ms|[smhdwy]))+$/.test(text)) this.fail('duration arithmetic and step()/range() are experimental and not evaluated here', n);
    if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
    try {
      return parseDuration(text);
    } catch (err) {
      return this.fail((err as Error).message, n);
    }
  }

  private offsetDuration(n: SyntaxNode): number {
    const text = this.src(n).replace(/\s+/g, '');
    if (!/^[+-]?([0-9]+(\.[0-9]+)?|([0-9]+(ms|[smhdwy]))+)$/.test(text)) this.fail('duration arithmetic and step()/range() are experimental and not evaluated here', n);
    const sign = text.startsWith('-') ? -1 : 1;
    const body = text.replace(/^[+-]/, '');
    if (/^[0-9]+(\.[0-9]+)?$/.test(body)) return sign * Math.round(Number(body) * 1000);
    try {
      return sign * parseDuration(body);
    } catch (err) {
      return this.fail((err as Error).message, n);
    }
  }

  private vector(n: SyntaxNode): Node {
    const identifier = n.getChild('Identifier');
    const matchers: LabelMatcher[] = [];
    let name = identifier ? this.src(identifier) : undefined;
    const list = n.getChild('LabelMatchers');
    for (const m of list ? children(list) : []) {
      if (m.name === '{' || m.name === '}' || m.name === ',') continue;
      if (m.name === 'QuotedLabelName') {
        // {"metric.name"}: a quoted metric name alone.
        if (name !== undefined) this.fail('metric name must not be set twice', m);
        name = unquote(this.src(m), m.from);
        continue;
      }
      const labelNode = m.name === 'UnquotedLabelMatcher' ? m.getChild('LabelName') : m.getChild('QuotedLabelName');
      const opNode = m.getChild('MatchOp')?.firstChild;
      const value = m.getChild('StringLiteral');
      if (!labelNode || !opNode || !value) this.fail('incomplete label matcher', m);
      const label = m.name === 'UnquotedLabelMatcher' ? this.src(labelNode) : unquote(this.src(labelNode), labelNode.from);
      const op = MATCH_OPS[opNode.name]!;
      const matcher = { label, op, value: unquote(this.src(value), value.from) };
      if (op === '=~' || op === '!~') {
        try {
          fullRegex(matcher.value);
        } catch {
          this.fail(`invalid regular expression "${matcher.value}"`, value);
        }
      }
      matchers.push(matcher);
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.label === '__name__')) this.fail(`metric name must not be set twice: "${name}"`, n);
      matchers.unshift({ label: '__name__', op: '=', value: name });
    }
    // A selector must not match everything: at least one matcher that does not match the empty string.
    if (!matchers.some((m) => !matchesEmpty(m))) this.fail('vector selector must contain at least one non-empty matcher', n);
    return { type: 'vector', name, matchers, offsetMs: 0, pos: n.from };
  }

  private args(body: SyntaxNode): Node[] {
    return children(body)
      .filter((c) => c.name !== '(' && c.name !== ')' && c.name !== ',')
      .map((c) => this.expr(c));
  }

  private call(n: SyntaxNode): Node {
    const id = n.getChild('FunctionIdentifier')!;
    const fn = this.src(id);
    const spec = FUNCTIONS[fn];
    if (!spec) this.fail(`function ${fn}() is not evaluated here (experimental or native-histogram only)`, n);
    const args = this.args(n.getChild('FunctionCallBody')!);
    const min = spec.args.length - (spec.optional ?? 0);
    if (args.length < min || (!spec.variadic && args.length > spec.args.length)) {
      this.fail(`expected ${min === spec.args.length ? min : `${min} to ${spec.args.length}`} argument(s) in call to "${fn}", got ${args.length}`, n);
    }
    return { type: 'call', fn, args, pos: n.from };
  }

  private aggregate(n: SyntaxNode): Node {
    const op = this.src(n.getChild('AggregateOp')!).toLowerCase();
    if (!(AGGREGATION_OPS as readonly string[]).includes(op)) this.fail(`aggregation ${op} is not evaluated here (experimental)`, n);
    const modifier = n.getChild('AggregateModifier');
    let grouping: string[] = [];
    let without = false;
    if (modifier) {
      without = modifier.getChild('Without') !== null;
      grouping = this.groupingLabels(modifier.getChild('GroupingLabels')!);
    }
    const args = this.args(n.getChild('FunctionCallBody')!);
    const takesParam = op === 'topk' || op === 'bottomk' || op === 'quantile' || op === 'count_values';
    if (args.length !== (takesParam ? 2 : 1)) this.fail(`wrong number of arguments for aggregate expression provided, expected ${takesParam ? 2 : 1}, got ${args.length}`, n);
    return { type: 'aggregate', op, param: takesParam ? args[0] : undefined, expr: args[takesParam ? 1 : 0]!, grouping, without, pos: n.from };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    return children(n)
      .filter((c) => c.name === 'LabelName' || c.name === 'QuotedLabelName')
      .map((c) => (c.name === 'LabelName' ? this.src(c) : unquote(this.src(c), c.from)));
  }

  private binary(n: SyntaxNode): Node {
    const parts = children(n);
    const [left, opNode] = parts;
    const right = parts[parts.length - 1]!;
    const op = BINARY[opNode!.name];
    if (!op) this.fail(`operator "${this.src(opNode!)}" is not evaluated here (experimental)`, opNode!);
    const bool = parts.some((p) => p.name === 'BoolModifier');
    if (parts.some((p) => p.name === 'FillModifier')) this.fail('fill modifiers are experimental and not evaluated here', n);
    const clause = parts.find((p) => p.name === 'MatchingModifierClause');
    const lhs = this.expr(left!);
    const rhs = this.expr(right);
    let matching: Matching | undefined;
    if (clause) {
      const lists = clause.getChildren('GroupingLabels');
      const card = clause.getChild('GroupLeft') ? 'many-to-one' : clause.getChild('GroupRight') ? 'one-to-many' : 'one-to-one';
      matching = { card, on: clause.getChild('On') !== null, labels: this.groupingLabels(lists[0]!), include: lists[1] ? this.groupingLabels(lists[1]) : [] };
      if (card !== 'one-to-one' && SET_OPS.has(op)) this.fail(`no grouping allowed for "${op}" operation`, clause);
    }
    if (SET_OPS.has(op)) matching = { ...(matching ?? { on: false, labels: [], include: [] }), card: 'many-to-many' };
    if (bool && !COMPARISON_OPS.has(op)) this.fail('bool modifier can only be used on comparison operators', n);
    const node: Node = { type: 'binary', op, lhs, rhs, bool, matching, pos: opNode!.from };
    if (COMPARISON_OPS.has(op) && !bool && typeOf(lhs) === 'scalar' && typeOf(rhs) === 'scalar') {
      this.fail('comparisons between scalars must use BOOL modifier', opNode!);
    }
    return node;
  }
}

/** matchesEmpty: the matcher matches a series without the label. */
export function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return fullRegex(m.value).test('');
    case '!~':
      return !fullRegex(m.value).test('');
  }
}

/** typeOf checks an expression's types as Prometheus' parser does and returns what it evaluates to. */
export function typeOf(node: Node): ValueType {
  const fail = (message: string): never => {
    throw new PromqlError(message, node.pos);
  };
  switch (node.type) {
    case 'number':
      return 'scalar';
    case 'string':
      return 'string';
    case 'vector':
      return 'vector';
    case 'matrix':
    case 'subquery':
      if (node.type === 'subquery' && typeOf(node.expr) !== 'vector') fail(`subquery is only allowed on instant vector, got ${typeOf(node.expr)} instead`);
      return 'matrix';
    case 'paren':
      return typeOf(node.expr);
    case 'unary': {
      const t = typeOf(node.expr);
      if (t !== 'scalar' && t !== 'vector') fail(`unary expression only allowed on expressions of type scalar or instant vector, got ${t}`);
      return t;
    }
    case 'call': {
      const spec = FUNCTIONS[node.fn]!;
      node.args.forEach((arg, i) => {
        const want = spec.args[Math.min(i, spec.args.length - 1)]!;
        const got = typeOf(arg);
        if (got !== want) {
          throw new PromqlError(`expected type ${typeName(want)} in call to function "${node.fn}", got ${typeName(got)}`, arg.pos);
        }
      });
      return spec.returns;
    }
    case 'aggregate': {
      if (typeOf(node.expr) !== 'vector') fail(`expected type instant vector in aggregation expression, got ${typeName(typeOf(node.expr))}`);
      if (node.param) {
        const want = node.op === 'count_values' ? 'string' : 'scalar';
        if (typeOf(node.param) !== want) fail(`expected type ${typeName(want)} in aggregation parameter, got ${typeName(typeOf(node.param))}`);
      }
      return 'vector';
    }
    case 'binary': {
      const l = typeOf(node.lhs);
      const r = typeOf(node.rhs);
      for (const t of [l, r]) if (t !== 'scalar' && t !== 'vector') fail('binary expression must contain only scalar and instant vector types');
      if (SET_OPS.has(node.op) && (l !== 'vector' || r !== 'vector')) fail(`set operator "${node.op}" not allowed in binary scalar expression`);
      if (node.matching && (l !== 'vector' || r !== 'vector')) fail('vector matching only allowed between instant vectors');
      return l === 'scalar' && r === 'scalar' ? 'scalar' : 'vector';
    }
  }
}

function typeName(t: ValueType): string {
  return t === 'vector' ? 'instant vector' : t === 'matrix' ? 'range vector' : t;
}
