import { PromqlError, type ComparisonOp, type Condition } from './promql';
import { COMPARISON_OPS, parsePromql, typeOf, type Node } from './promql-ast';

/**
 * Alert rules in full PromQL (those the SQL-compiled subset of core/rule-sql.ts does not take): what notifications
 * say of them, and which series they judge. As in Prometheus, every series of the expression's result is firing.
 * To resolve an alert as soon as its series clears (not only when it stops reporting), the rule also reads its
 * candidates: the expression without its top-level filters (`x > 80` → `x`; `a > 80 and b > 0` → `a`), whose series
 * absent from the result are clear.
 */

/** parsePromqlRule parses an alert expression in full PromQL: it must be an instant vector. */
export function parsePromqlRule(text: string): { node: Node; condition: Condition } {
  const node = parsePromql(text);
  const type = typeOf(node);
  if (type !== 'vector') throw new PromqlError(`an alert expression must be an instant vector, this one is a ${type === 'matrix' ? 'range vector' : type}`, 0);
  return { node, condition: describe(node) };
}

const unparen = (node: Node): Node => (node.type === 'paren' ? unparen(node.expr) : node);
const FLIPPED: Record<ComparisonOp, ComparisonOp> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=', '==': '==', '!=': '!=' };

/**
 * describe is what notifications show of a PromQL rule: its first metric, and the comparison with a number it
 * filters by (the leftmost of its top-level filters; `> 0` when it has none — every result series fires).
 */
function describe(node: Node): Condition {
  let op: ComparisonOp = '>';
  let threshold = 0;
  const n = unparen(node);
  const filter = topFilter(n);
  if (filter) {
    const [vectorSide, numberSide, flipped] = unparen(filter.rhs).type === 'number' ? [filter.lhs, unparen(filter.rhs), false] : [filter.rhs, unparen(filter.lhs), true];
    if (numberSide.type === 'number' && typeOf(vectorSide) === 'vector') {
      op = flipped ? FLIPPED[filter.op as ComparisonOp] : (filter.op as ComparisonOp);
      threshold = numberSide.value;
    }
  }
  return { expr: { kind: 'number', value: 0 }, op, threshold, metric: firstMetric(node) };
}

/** topFilter is the leftmost comparison (without bool) of the expression's top-level filters, if any. */
function topFilter(node: Node): Extract<Node, { type: 'binary' }> | undefined {
  const n = unparen(node);
  if (n.type === 'call' && (n.fn === 'label_replace' || n.fn === 'label_join')) return topFilter(n.args[0]!);
  if (n.type !== 'binary') return undefined;
  if (COMPARISON_OPS.has(n.op) && !n.bool) return n;
  if (n.op === 'and' || n.op === 'unless') return topFilter(n.lhs);
  if (n.op === 'or' || COMPARISON_OPS.has(n.op)) return undefined;
  return topFilter(n.lhs) ?? topFilter(n.rhs);
}

/** firstMetric is the metric name of the expression's first selector ('' if it names none). */
function firstMetric(node: Node): string {
  switch (node.type) {
    case 'vector':
      return node.name ?? node.matchers.find((m) => m.label === '__name__' && m.op === '=')?.value ?? '';
    case 'matrix':
      return firstMetric(node.vector);
    case 'subquery':
    case 'paren':
    case 'unary':
      return firstMetric(node.expr);
    case 'call':
      return node.args.map(firstMetric).find(Boolean) ?? '';
    case 'aggregate':
      return firstMetric(node.expr);
    case 'binary':
      return firstMetric(node.lhs) || firstMetric(node.rhs);
    default:
      return '';
  }
}

/**
 * candidatesOf is the expression whose series the rule judges: without its top-level filters (a comparison with a
 * number or another vector, without bool; the left side of `and` / `unless`), also where a filter sits inside
 * arithmetic or a relabelling (`(x > 80) * on(instance) group_left(nodename) node_uname_info` → `x * on(instance)
 * group_left(nodename) node_uname_info`), or undefined when there is no filter (then its result alone says what
 * fires, and a series leaves it by going stale).
 */
export function candidatesOf(node: Node): Node | undefined {
  const n = unparen(node);
  if (n.type === 'call' && (n.fn === 'label_replace' || n.fn === 'label_join' || n.fn === 'sort' || n.fn === 'sort_desc')) {
    const inner = candidatesOf(n.args[0]!);
    return inner ? { ...n, args: [inner, ...n.args.slice(1)] } : undefined;
  }
  if (n.type !== 'binary' || typeOf(n) !== 'vector') return undefined;
  if (n.op === 'and' || n.op === 'unless') return candidatesOf(n.lhs) ?? n.lhs;
  if (COMPARISON_OPS.has(n.op) && !n.bool) {
    const l = typeOf(n.lhs);
    const r = typeOf(n.rhs);
    if (l === 'vector' && r === 'scalar') return n.lhs;
    if (l === 'scalar' && r === 'vector') return n.rhs;
    if (l === 'vector' && r === 'vector') return n.lhs;
    return undefined;
  }
  if (COMPARISON_OPS.has(n.op) || n.op === 'or') return undefined;
  // Arithmetic: the side holding the filter judges, the other side applied as written.
  const left = typeOf(n.lhs) === 'vector' ? candidatesOf(n.lhs) : undefined;
  if (left) return { ...n, lhs: left };
  const right = typeOf(n.rhs) === 'vector' ? candidatesOf(n.rhs) : undefined;
  if (right) return { ...n, rhs: right };
  return undefined;
}
