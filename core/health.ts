import { compare, isShadow, isThresholdRule, type Rule } from './rules';
import type { ActiveAlert, HealthStatus, RealtimeSnapshot, Severity } from './types';

/** HealthVerdict is a service's status and the rules that decided it. */
export interface HealthVerdict {
  status: HealthStatus;
  reasons: Array<{ rule: string; severity: Severity; metric: string; value: number; threshold: number; instance?: string }>;
}

/**
 * serviceHealth derives a service's status from its realtime snapshot and the thresholds of the plain-threshold
 * rules (`metric{service=…} OP number`) that apply to it, and from the anomaly rules by the anomaly scan's verdicts
 * (their alerts, firing or acknowledged): critical when a critical rule's condition holds now, warning for a warning
 * rule, healthy otherwise, unknown without a snapshot (stale or never seen). Rules filtering on labels other than the
 * service do not apply to the service-wide snapshot and are skipped. A metric its instances report is judged on each
 * live instance (the worst decides, and the reason names it), not on a combined value that could hide one instance
 * at 99 % behind two idle ones; a metric only the service reports is judged on the service. An anomaly rule has no
 * threshold to compare (its expression is descriptive), so only its alert counts.
 */
export function serviceHealth(service: string, snapshot: RealtimeSnapshot | null, rules: readonly Rule[], alerts: readonly ActiveAlert[] = []): HealthVerdict {
  if (!snapshot) return { status: 'unknown', reasons: [] };
  const reasons: HealthVerdict['reasons'] = [];
  const anomalyRules = new Set(rules.filter((r) => !isThresholdRule(r)).map((r) => r.name));
  for (const rule of rules) {
    const { expr, op, threshold } = rule.condition;
    if (!isThresholdRule(rule) || isShadow(rule) || expr.kind !== 'selector' || rule.severity === 'info') continue;
    const { metric, matchers } = expr;
    const applies = matchers.every((m) => (m.label === 'service' || m.label === 'service_name') && m.op === '=' && m.value === service);
    if (!applies) continue;
    const byInstance = snapshot.instances.filter((i) => i.metrics[metric] !== undefined);
    if (byInstance.length > 0) {
      for (const { instance, metrics } of byInstance) {
        const value = metrics[metric]!;
        if (compare(value, op, threshold)) reasons.push({ rule: rule.name, severity: rule.severity, metric, value, threshold, instance });
      }
      continue;
    }
    const value = snapshot.metrics[metric];
    if (value !== undefined && compare(value, op, threshold)) reasons.push({ rule: rule.name, severity: rule.severity, metric, value, threshold });
  }
  for (const alert of alerts) {
    if (!anomalyRules.has(alert.rule) || alert.service !== service || alert.status === 'pending' || alert.severity === 'info') continue;
    reasons.push({ rule: alert.rule, severity: alert.severity, metric: alert.metric, value: alert.current_value, threshold: alert.threshold });
  }
  const status: HealthStatus = reasons.some((r) => r.severity === 'critical')
    ? 'critical'
    : reasons.length > 0
      ? 'warning'
      : 'healthy';
  return { status, reasons };
}
