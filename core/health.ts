import { compare, type Rule } from './rules';
import type { HealthStatus, RealtimeSnapshot, Severity } from './types';

/** HealthVerdict is a service's status and the rules that decided it. */
export interface HealthVerdict {
  status: HealthStatus;
  reasons: Array<{ rule: string; severity: Severity; metric: string; value: number; threshold: number }>;
}

/**
 * serviceHealth derives a service's status from its realtime snapshot and the thresholds of the plain-threshold
 * rules (`metric{service=…} OP number`) that apply to it: critical when a critical rule's condition holds now, warning for a warning rule, healthy otherwise,
 * unknown without a snapshot (stale or never seen). Rules filtering on labels other than the service do not apply
 * to the service-wide snapshot and are skipped.
 */
export function serviceHealth(service: string, snapshot: RealtimeSnapshot | null, rules: readonly Rule[]): HealthVerdict {
  if (!snapshot) return { status: 'unknown', reasons: [] };
  const reasons: HealthVerdict['reasons'] = [];
  for (const rule of rules) {
    const { expr, op, threshold } = rule.condition;
    if (expr.kind !== 'selector' || rule.severity === 'info') continue;
    const { metric, matchers } = expr;
    const value = snapshot.metrics[metric];
    if (value === undefined) continue;
    const applies = matchers.every((m) => (m.label === 'service' || m.label === 'service_name') && m.op === '=' && m.value === service);
    if (applies && compare(value, op, threshold)) reasons.push({ rule: rule.name, severity: rule.severity, metric, value, threshold });
  }
  const status: HealthStatus = reasons.some((r) => r.severity === 'critical')
    ? 'critical'
    : reasons.length > 0
      ? 'warning'
      : 'healthy';
  return { status, reasons };
}
