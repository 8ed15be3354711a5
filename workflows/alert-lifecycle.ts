/**
 * alertLifecycleWorkflow owns one alert (`alert/<fingerprint>`) from its first breach to its end. It decides
 * when a pending alert fires (an evaluation still sees the breach once the rule's `for` duration has passed, as
 * in Prometheus), records an acknowledgement, and when the alert ends: the evaluator reports the condition
 * cleared, no evaluation has reported the series for staleAfterMs, or someone resolves it by hand. Every
 * transition is written to Redis (alerts:active) and, from firing on, to alert_history — by the main loop only,
 * so transitions are recorded in the order they happened. A later breach starts a new run.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  actionRefusal,
  activeAlertView,
  ALERT_ACKNOWLEDGE_UPDATE,
  ALERT_OBSERVE_SIGNAL,
  ALERT_RESOLVE_UPDATE,
  ALERT_STATE_QUERY,
  alertIdOf,
  type AlertAction,
  type AlertEndReason,
  type AlertInput,
  type AlertOutcome,
  type AlertPhase,
  type AlertView,
  type HistoryRow,
  type Observation,
} from '../core/alert';

const { setActiveAlert, closeActiveAlert, recordAlertTransition } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** observeSignal carries each evaluation's verdict on the alert's series. */
export const observeSignal = defineSignal<[Observation]>(ALERT_OBSERVE_SIGNAL);
/** acknowledgeUpdate records who took the alert; refused unless the alert is firing. */
export const acknowledgeUpdate = defineUpdate<AlertView, [AlertAction]>(ALERT_ACKNOWLEDGE_UPDATE);
/** resolveUpdate ends the alert by hand with a note; refused once it has ended. */
export const resolveUpdate = defineUpdate<AlertView, [AlertAction]>(ALERT_RESOLVE_UPDATE);
/** stateQuery reads the alert as an on-call engineer sees it. */
export const stateQuery = defineQuery<AlertView>(ALERT_STATE_QUERY);

/** alertLifecycleWorkflow runs one alert through pending → firing → (acknowledged) → resolved. */
export async function alertLifecycleWorkflow(input: AlertInput): Promise<AlertOutcome> {
  const alertId = alertIdOf(input.fingerprint, input.firstBreach.atMs);
  const carried = input.carried;
  const state = {
    phase: (carried?.phase ?? 'pending') as AlertPhase,
    breaching: input.firstBreach.breaching,
    value: carried?.value ?? input.firstBreach.value,
    lastObservedMs: carried?.lastObservedMs ?? input.firstBreach.atMs,
    observations: 0,
    /** Bumped by every update, so the main loop wakes to record what it changed. */
    changes: 0,
    acknowledgedBy: carried?.acknowledgedBy,
    acknowledgedAtMs: carried?.acknowledgedAtMs,
    acknowledgementRecorded: carried?.acknowledgedBy !== undefined,
    resolution: undefined as AlertAction | undefined,
  };
  const view = (): AlertView => ({
    alertId,
    service: input.service,
    rule: input.rule.name,
    phase: state.phase,
    value: state.value,
    observations: state.observations,
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAtMs: state.acknowledgedAtMs } : {}),
    ...(state.resolution ? { resolvedBy: state.resolution.by } : {}),
  });
  const refuseIf = (refusal: string | undefined) => {
    if (refusal) throw new Error(refusal);
  };

  setHandler(observeSignal, (observation) => {
    state.observations++;
    state.breaching = observation.breaching;
    state.value = observation.value;
    state.lastObservedMs = Math.max(state.lastObservedMs, observation.atMs);
  });
  setHandler(
    acknowledgeUpdate,
    (action) => {
      state.phase = 'acknowledged';
      state.acknowledgedBy = action.by;
      state.acknowledgedAtMs = Date.now();
      state.changes++;
      return view();
    },
    { validator: (action: AlertAction) => refuseIf(actionRefusal('acknowledge', view(), action)) },
  );
  setHandler(
    resolveUpdate,
    (action) => {
      state.resolution = action;
      // Ended from now on: an ack arriving while the resolution is being recorded is refused, not lost.
      state.phase = firedAtMs === undefined ? 'inactive' : 'resolved';
      state.changes++;
      return view();
    },
    { validator: (action: AlertAction) => refuseIf(actionRefusal('resolve', view(), action)) },
  );
  setHandler(stateQuery, view);

  const { workflowId } = workflowInfo();
  const firesAtMs = input.firstBreach.atMs + input.rule.durationMs;
  let firedAtMs: number | undefined = carried?.firedAtMs;
  const publish = (now: number) => {
    const status = state.phase === 'pending' ? 'pending' : state.phase === 'acknowledged' ? 'acknowledged' : 'firing';
    return setActiveAlert(activeAlertView(input, workflowId, status, state.value, now, state.acknowledgedBy));
  };

  await publish(Date.now());

  for (;;) {
    const now = Date.now();
    const reason: AlertEndReason | undefined = state.resolution
      ? 'resolved-by-hand'
      : !state.breaching
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
      await publish(now);
      await recordAlertTransition(historyRow('firing', now, ''));
      continue;
    }
    if (state.acknowledgedBy && !state.acknowledgementRecorded) {
      state.acknowledgementRecorded = true;
      await publish(now);
      await recordAlertTransition(historyRow('acknowledged', state.acknowledgedAtMs ?? now, ''));
      continue;
    }
    // A long-lived alert (firing for days) would outgrow its history: hand the state to a fresh run.
    const tooLong = workflowInfo().continueAsNewSuggested || state.observations >= (input.maxObservationsPerRun ?? Infinity);
    if (tooLong && state.phase !== 'resolved' && state.phase !== 'inactive') {
      await condition(allHandlersFinished);
      const phase = state.phase;
      return continueAsNew<typeof alertLifecycleWorkflow>({
        ...input,
        carried: {
          phase,
          value: state.value,
          lastObservedMs: state.lastObservedMs,
          ...(firedAtMs !== undefined ? { firedAtMs } : {}),
          ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAtMs: state.acknowledgedAtMs } : {}),
        },
      });
    }
    const seen = { observations: state.observations, changes: state.changes };
    const woke = await condition(
      () => state.observations !== seen.observations || state.changes !== seen.changes,
      Math.max(state.lastObservedMs + input.staleAfterMs - now, 1),
    );
    if (woke && state.breaching && state.observations !== seen.observations) await publish(Date.now());
  }

  async function end(reason: AlertEndReason): Promise<AlertOutcome> {
    const now = Date.now();
    const fired = firedAtMs !== undefined;
    // From here the alert is over for the updates' validators, while its last transitions are recorded.
    state.phase = fired ? 'resolved' : 'inactive';
    // An ack accepted in the same instant as the end (racing a resolve) is still recorded, before the resolution.
    if (fired && state.acknowledgedBy && !state.acknowledgementRecorded) {
      state.acknowledgementRecorded = true;
      await recordAlertTransition(historyRow('acknowledged', state.acknowledgedAtMs ?? now, ''));
    }
    if (fired) {
      const notes =
        reason === 'resolved-by-hand'
          ? `resolved by ${state.resolution!.by}${state.resolution!.note ? `: ${state.resolution!.note}` : ''}`
          : reason === 'stale'
            ? 'no data: series not reported'
            : 'condition cleared';
      await recordAlertTransition(historyRow('resolved', now, notes));
    }
    await closeActiveAlert({ service: input.service, alert_id: alertId, rule: input.rule.name, fingerprint: input.fingerprint });
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
      acknowledged_by: state.acknowledgedBy ?? '',
      resolution_notes: notes,
      labels: input.labels,
      workflow_id: workflowId,
    };
  }
}
