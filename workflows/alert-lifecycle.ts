/**
 * alertLifecycleWorkflow owns one alert (`alert/<fingerprint>`) from its first breach to its end. It decides
 * when a pending alert fires (an evaluation still sees the breach once the rule's `for` duration has passed, as
 * in Prometheus) and when a firing alert resolves (the evaluator reports the condition cleared, or no evaluation
 * has reported the series for staleAfterMs). Every transition is written to Redis (alerts:active) and, for firing and resolved, to
 * alert_history. It completes when the alert resolves or clears while pending; a later breach starts a new run.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  activeAlertView,
  ALERT_OBSERVE_SIGNAL,
  alertIdOf,
  type AlertEndReason,
  type AlertInput,
  type AlertOutcome,
  type AlertPhase,
  type HistoryRow,
  type Observation,
} from '../core/alert';

const { setActiveAlert, closeActiveAlert, recordAlertTransition } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** observeSignal carries each evaluation's verdict on the alert's series. */
export const observeSignal = defineSignal<[Observation]>(ALERT_OBSERVE_SIGNAL);
/** stateQuery reads the alert's phase and latest value. */
export const stateQuery = defineQuery<{ phase: AlertPhase; value: number; observations: number }>('state');

/** alertLifecycleWorkflow runs one alert through pending → firing → resolved. */
export async function alertLifecycleWorkflow(input: AlertInput): Promise<AlertOutcome> {
  const state = {
    phase: 'pending' as AlertPhase,
    breaching: input.firstBreach.breaching,
    value: input.firstBreach.value,
    lastObservedMs: input.firstBreach.atMs,
    observations: 0,
  };
  setHandler(observeSignal, (observation) => {
    state.observations++;
    state.breaching = observation.breaching;
    state.value = observation.value;
    state.lastObservedMs = Math.max(state.lastObservedMs, observation.atMs);
  });
  setHandler(stateQuery, () => ({ phase: state.phase, value: state.value, observations: state.observations }));

  const { workflowId } = workflowInfo();
  const alertId = alertIdOf(input.fingerprint, input.firstBreach.atMs);
  const firesAtMs = input.firstBreach.atMs + input.rule.durationMs;
  let firedAtMs: number | undefined;

  await setActiveAlert(activeAlertView(input, workflowId, 'pending', state.value, Date.now()));

  for (;;) {
    const now = Date.now();
    const reason: AlertEndReason | undefined = !state.breaching
      ? 'condition-cleared'
      : now - state.lastObservedMs >= input.staleAfterMs
        ? 'stale'
        : undefined;
    if (reason) return end(reason);
    // As in Prometheus, a pending alert fires on an evaluation that still sees the breach once `for` has passed,
    // never on a timer alone: the condition must be confirmed at or after firesAtMs.
    if (state.phase === 'pending' && state.lastObservedMs >= firesAtMs) {
      state.phase = 'firing';
      firedAtMs = now;
      await setActiveAlert(activeAlertView(input, workflowId, 'firing', state.value, now));
      await recordAlertTransition(historyRow('firing', now, ''));
      continue;
    }
    const seen = state.observations;
    const observed = await condition(() => state.observations !== seen, Math.max(state.lastObservedMs + input.staleAfterMs - now, 1));
    if (observed && state.breaching) {
      await setActiveAlert(activeAlertView(input, workflowId, state.phase === 'pending' ? 'pending' : 'firing', state.value, Date.now()));
    }
  }

  async function end(reason: AlertEndReason): Promise<AlertOutcome> {
    const now = Date.now();
    const fired = firedAtMs !== undefined;
    if (fired) await recordAlertTransition(historyRow('resolved', now, reason === 'stale' ? 'no data: series not reported' : 'condition cleared'));
    await closeActiveAlert({ service: input.service, alert_id: alertId, rule: input.rule.name, fingerprint: input.fingerprint });
    state.phase = fired ? 'resolved' : 'inactive';
    return { alertId, phase: fired ? 'resolved' : 'inactive', reason, fired };
  }

  function historyRow(status: HistoryRow['status'], atMs: number, notes: string): HistoryRow {
    return {
      alert_id: alertId,
      fingerprint: input.fingerprint,
      rule_name: input.rule.name,
      timestampMs: atMs,
      service_name: input.service,
      instance_id: input.instance,
      severity: input.rule.severity,
      metric_name: input.rule.condition.metric,
      threshold_value: input.rule.condition.threshold,
      actual_value: state.value,
      status,
      duration_minutes: firedAtMs === undefined ? 0 : Math.floor((atMs - firedAtMs) / 60_000),
      acknowledged_by: '',
      resolution_notes: notes,
      labels: input.labels,
      workflow_id: workflowId,
    };
  }
}
