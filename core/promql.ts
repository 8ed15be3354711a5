import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parseDuration } from './duration';

/**
 * The PromQL subset alert rules are written in (DESIGN.md): selectors with label matchers, `rate` / `increase` /
 * `*_over_time` over a `[range]`, `avg|sum|min|max|count by (…)`, arithmetic, and one comparison with a number at the
 * top. Text is parsed with @prometheus-io/lezer-promql (Prometheus' own grammar) and turned into the small `Expr`
 * tree below, which core/rule-sql.ts compiles to ClickHouse SQL. Anything else is refused with its position and the
 * reason, so a rule that loads is a rule that evaluates.
 */

/** ComparisonOp is a PromQL comparison operator. */
export type ComparisonOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** LabelMatcher is one `{label op "value"}` selector term. */
export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** RANGE_FUNCTIONS are the functions over a range vector the subset compiles. */
export const RANGE_FUNCTIONS = [
  'rate',
  'increase',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
] as const;
export type RangeFunction = (typeof RANGE_FUNCTIONS)[number];

/** AGGREGATIONS are the aggregation operators the subset compiles. */
export const AGGREGATIONS = ['avg', 'sum', 'min', 'max', 'count'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** ArithmeticOp is a binary arithmetic operator. */
export type ArithmeticOp = '+' | '-' | '*' | '/';

/** Expr is an expression of the subset: a tree whose leaves are selectors and numbers. */
export type Expr =
  | { kind: 'number'; value: number }
  | { kind: 'selector'; metric: string; matchers: LabelMatcher[] }
  | { kind: 'range'; fn: RangeFunction; metric: string; matchers: LabelMatcher[]; rangeMs: number }
  | { kind: 'aggregate'; op: Aggregation; by: string[]; expr: Expr }
  | { kind: 'binary'; op: ArithmeticOp; left: Expr; right: Expr };

/** Condition is a parsed alert expression: a vector expression compared with a number. */
export interface Condition {
  expr: Expr;
  op: ComparisonOp;
  threshold: number;
  /** The first metric the expression reads: what notifications name as the alert's metric. */
  metric: string;
}

/** PromqlError is a refusal with the 0-based position in the expression text. */
export class PromqlError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'PromqlError';
  }
}

const COMPARISONS: Record<string, ComparisonOp> = { Gtr: '>', Gte: '>=', Lss: '<', Lte: '<=', Eql: '==', Neq: '!=' };
const ARITHMETIC: Record<string, ArithmeticOp> = { Add: '+', Sub: '-', Mul: '*', Div: '/' };
const MATCH_OPS: Record<string, LabelMatcher['op']> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };
const FLIPPED: Record<ComparisonOp, ComparisonOp> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=', '==': '==', '!=': '!=' };

/** parseCondition parses an alert expression, `<vector expression> OP <number>` (or the number first). */
export function parseCondition(text: string): Condition {
  const top = parseTree(text);
  const fail = (message: string, node: SyntaxNode = top): never => {
    throw new PromqlError(message, node.from);
  };
  const node = unwrapParens(top);
  if (node.name !== 'BinaryExpr') fail('an alert expression compares with a number, e.g. "… > 80"');
  const [left, opNode, right] = binaryParts(node, text);
  const op = COMPARISONS[opNode.name];
  if (!op && !ARITHMETIC[opNode.name]) fail(`operator "${text.slice(opNode.from, opNode.to)}" is outside the supported subset (+ - * / and one comparison)`, opNode);
  if (!op) fail('an alert expression compares with a number, e.g. "… > 80"', node);
  const leftExpr = toExpr(left, text);
  const rightExpr = toExpr(right, text);
  if (rightExpr.kind === 'number' && leftExpr.kind !== 'number') {
    return { expr: leftExpr, op: op!, threshold: rightExpr.value, metric: firstMetric(leftExpr) };
  }
  if (leftExpr.kind === 'number' && rightExpr.kind !== 'number') {
    return { expr: rightExpr, op: FLIPPED[op!], threshold: leftExpr.value, metric: firstMetric(rightExpr) };
  }
  return fail('one side of the comparison must be a number and the other a series expression', opNode);
}

/** parseExpr parses a vector expression of the subset (no comparison). */
export function parseExpr(text: string): Expr {
  return toExpr(parseTree(text), text);
}

/** parseTree parses text with Prometheus' grammar, refusing a syntax error with its position; returns the top expression. */
export function parseTree(text: string): SyntaxNode {
  const tree = parser.parse(text);
  let error: SyntaxNode | undefined;
  tree.iterate({
    enter(ref) {
      if (error) return false;
      if (ref.type.isError) error = ref.node;
      return undefined;
    },
  });
  if (error) {
    const at = error.from;
    throw new PromqlError(at >= text.length ? 'unexpected end of expression' : `syntax error near "${text.slice(at, at + 12)}"`, at);
  }
  const top = tree.topNode.firstChild;
  if (!top) throw new PromqlError('empty expression', 0);
  return top;
}

function unwrapParens(node: SyntaxNode): SyntaxNode {
  let current = node;
  while (current.name === 'ParenExpr' && current.firstChild) current = current.firstChild;
  return current;
}

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

function binaryParts(node: SyntaxNode, text: string): [SyntaxNode, SyntaxNode, SyntaxNode] {
  const parts = children(node);
  const modifier = parts.find((p) => p.name === 'BoolModifier' || p.name === 'MatchingModifierClause');
  if (modifier) {
    throw new PromqlError(`"${text.slice(modifier.from, modifier.to)}" is outside the supported subset (no bool, on() or ignoring())`, modifier.from);
  }
  const [left, op, right] = parts;
  if (!left || !op || !right) throw new PromqlError('incomplete binary expression', node.from);
  return [left, op, right];
}

function toExpr(raw: SyntaxNode, text: string): Expr {
  const node = unwrapParens(raw);
  const source = (n: SyntaxNode) => text.slice(n.from, n.to);
  switch (node.name) {
    case 'NumberDurationLiteral': {
      const value = Number(source(node));
      if (!Number.isFinite(value)) throw new PromqlError(`"${source(node)}" is not a finite number`, node.from);
      return { kind: 'number', value };
    }
    case 'VectorSelector':
      return { kind: 'selector', ...selector(node, text) };
    case 'UnaryExpr': {
      const [opNode, operand] = children(node);
      const expr = toExpr(operand!, text);
      if (source(opNode!) === '+') return expr;
      return expr.kind === 'number' ? { kind: 'number', value: -expr.value } : { kind: 'binary', op: '*', left: expr, right: { kind: 'number', value: -1 } };
    }
    case 'BinaryExpr': {
      const [left, opNode, right] = binaryParts(node, text);
      const op = ARITHMETIC[opNode.name];
      if (!op) {
        throw new PromqlError(
          COMPARISONS[opNode.name]
            ? 'a comparison is allowed only once, at the top of the expression'
            : `operator "${source(opNode)}" is outside the supported subset (+ - * / and one comparison)`,
          opNode.from,
        );
      }
      const l = toExpr(left, text);
      const r = toExpr(right, text);
      if (l.kind === 'number' && r.kind === 'number') return { kind: 'number', value: arithmetic(op, l.value, r.value) };
      return { kind: 'binary', op, left: l, right: r };
    }
    case 'FunctionCall':
      return functionCall(node, text);
    case 'AggregateExpr':
      return aggregate(node, text);
    case 'MatrixSelector':
      throw new PromqlError('a range vector must be the argument of rate, increase or a *_over_time function', node.from);
    case 'OffsetExpr':
      throw new PromqlError('offset is outside the supported subset', node.from);
    case 'SubqueryExpr':
      throw new PromqlError('subqueries are outside the supported subset', node.from);
    case 'StringLiteral':
      throw new PromqlError('a string is not a series expression', node.from);
    default:
      throw new PromqlError(`"${source(node)}" is outside the supported subset`, node.from);
  }
}

function arithmetic(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

function selector(node: SyntaxNode, text: string): { metric: string; matchers: LabelMatcher[] } {
  const identifier = node.getChild('Identifier');
  if (!identifier) throw new PromqlError('a selector needs a metric name (e.g. cpu_usage_percent{…})', node.from);
  const matchers: LabelMatcher[] = [];
  const list = node.getChild('LabelMatchers');
  for (const matcher of list ? children(list) : []) {
    if (matcher.name !== 'UnquotedLabelMatcher') {
      throw new PromqlError(`"${text.slice(matcher.from, matcher.to)}" is outside the supported subset (label="value" matchers only)`, matcher.from);
    }
    const label = matcher.getChild('LabelName');
    const opNode = matcher.getChild('MatchOp')?.firstChild;
    const value = matcher.getChild('StringLiteral');
    if (!label || !opNode || !value) throw new PromqlError('incomplete label matcher', matcher.from);
    const name = text.slice(label.from, label.to);
    if (name === '__name__') throw new PromqlError('write the metric name before the braces instead of __name__', label.from);
    const op = MATCH_OPS[opNode.name];
    if (!op) throw new PromqlError(`matcher operator "${text.slice(opNode.from, opNode.to)}" is not supported`, opNode.from);
    matchers.push({ label: name, op, value: unquote(text.slice(value.from, value.to), value.from) });
  }
  return { metric: text.slice(identifier.from, identifier.to), matchers };
}

/** unquote reads a PromQL string literal: "…" or '…' with Go escapes, or a `…` raw string. */
function unquote(literal: string, position: number): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  return body.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/g, (_, esc: string) => {
    if (esc.length > 1) return String.fromCharCode(parseInt(esc.slice(1), 16));
    const out = escapes[esc];
    if (out === undefined) throw new PromqlError(`unknown escape \\${esc} in a string`, position);
    return out;
  });
}

function functionCall(node: SyntaxNode, text: string): Expr {
  const nameNode = node.getChild('FunctionIdentifier');
  const name = nameNode ? text.slice(nameNode.from, nameNode.to) : '';
  if (!(RANGE_FUNCTIONS as readonly string[]).includes(name)) {
    throw new PromqlError(`function ${name}() is outside the supported subset (${RANGE_FUNCTIONS.join(', ')})`, node.from);
  }
  const args = children(node.getChild('FunctionCallBody')!).filter((c) => c.name !== '(' && c.name !== ')' && c.name !== ',');
  const arg = args.length === 1 ? args[0]! : undefined;
  if (!arg || unwrapParens(arg).name !== 'MatrixSelector') {
    throw new PromqlError(`${name}() takes one range vector, e.g. ${name}(metric[5m])`, arg?.from ?? node.from);
  }
  const matrix = unwrapParens(arg);
  const vector = matrix.getChild('VectorSelector');
  const duration = matrix.getChild('DurationExpr');
  if (!vector || !duration) throw new PromqlError('a range vector is metric{…}[duration]', matrix.from);
  let rangeMs: number;
  try {
    rangeMs = parseDuration(text.slice(duration.from, duration.to));
  } catch (err) {
    throw new PromqlError((err as Error).message, duration.from);
  }
  if (rangeMs <= 0) throw new PromqlError('the range must be positive', duration.from);
  return { kind: 'range', fn: name as RangeFunction, rangeMs, ...selector(vector, text) };
}

function aggregate(node: SyntaxNode, text: string): Expr {
  const opNode = node.getChild('AggregateOp');
  const op = opNode ? text.slice(opNode.from, opNode.to) : '';
  if (!(AGGREGATIONS as readonly string[]).includes(op)) {
    throw new PromqlError(`aggregation ${op} is outside the supported subset (${AGGREGATIONS.join(', ')})`, node.from);
  }
  const modifier = node.getChild('AggregateModifier');
  let by: string[] = [];
  if (modifier) {
    if (modifier.getChild('Without')) throw new PromqlError('without() is outside the supported subset: list the labels to keep with by()', modifier.from);
    const labels = modifier.getChild('GroupingLabels');
    by = (labels ? labels.getChildren('LabelName') : []).map((l) => text.slice(l.from, l.to));
  }
  const args = children(node.getChild('FunctionCallBody')!).filter((c) => c.name !== '(' && c.name !== ')' && c.name !== ',');
  if (args.length !== 1) throw new PromqlError(`${op} takes one expression`, node.from);
  const expr = toExpr(args[0]!, text);
  if (expr.kind === 'number') throw new PromqlError(`${op} needs a series expression, not a number`, args[0]!.from);
  return { kind: 'aggregate', op: op as Aggregation, by: [...new Set(by)].sort(), expr };
}

/** firstMetric is the first metric name an expression reads, left to right. */
export function firstMetric(expr: Expr): string {
  switch (expr.kind) {
    case 'number':
      return '';
    case 'selector':
    case 'range':
      return expr.metric;
    case 'aggregate':
      return firstMetric(expr.expr);
    case 'binary':
      return firstMetric(expr.left) || firstMetric(expr.right);
  }
}

/** compare applies a comparison operator. */
export function compare(value: number, op: ComparisonOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
