/**
 * The alert lifecycle as pure transitions: `next(state, input, event) → {state, commands}`. The workflow
 * (workflows/alert-lifecycle.ts) owns no decision of its own: it feeds the machine the messages it receives and a
 * `tick` each time it wakes, and runs the commands it gets back (activities, timers, the escalation); the escalation
 * runs beside it (workflows/alert-escalation.ts). Unit-tested without any server (test/unit/alert-machine.test.ts).
 *
 * pending → firing: an evaluation still sees the breach once the rule's `for` has passed (Prometheus' rule, never a
 * timer alone). firing → acknowledged: by hand. → resolved (or inactive, if it never fired): the condition cleared
 * (after keep_firing_for), the series went stale — the evaluator says so once the rule was evaluated without it for the
 * stale period, so an outage of evaluation resolves nothing; an alert it lost track of ends the same way after a long
 * silence checked against the rule's evaluations —, or by hand. A long-lived alert continues as new, carrying its state.
 */
import type { AlertAction, AlertEndReason, AlertInput, AlertPhase, AlertView, CarriedAlertState, HistoryRow, Observation } from './alert';

/** LifecycleState is an alert's own state (the escalation's is the escalation runner's). */
export interface LifecycleState {
  phase: AlertPhase;
  breaching: boolean;
  value: number;
  lastObservedMs: number;
  observations: number;
  /** Bumped by every acknowledge and resolve, so the workflow wakes to record what changed. */
  changes: number;
  acknowledgedBy?: string;
  acknowledgedAtMs?: number;
  acknowledgementRecorded: boolean;
  resolution?: AlertAction;
  /** Since when the condition has been seen clear (keep_firing_for), while it stays clear. */
  clearedSinceMs?: number;
  firedAtMs?: number;
  /** A stale verdict the rule's coverage deferred: not asked again before this. */
  staleNotBeforeMs: number;
  /** The evaluator said the series vanished (and has not seen it since). */
  vanished?: boolean;
}

/** LifecycleEvent is what happens to an alert: a message, a wake-up (tick), or the answer to a coverage check. */
export type LifecycleEvent =
  | { type: 'observe'; observation: Observation }
  | { type: 'acknowledge'; action: AlertAction; atMs: number }
  | { type: 'resolve'; action: AlertAction }
  | { type: 'tick'; now: number; continueAsNewSuggested: boolean }
  /** How long the rule has been evaluated without seeing the series (undefined: never recorded). */
  | { type: 'coverage'; now: number; unseenMs: number | undefined };

/** LifecycleCommand is what the workflow runs for the machine, in order. */
export type LifecycleCommand =
  /** Write the alert's current view to Redis (alerts:active). */
  | { type: 'publish' }
  /** Append a transition to alert_history. */
  | { type: 'record'; status: HistoryRow['status']; atMs: number; notes: string }
  /** Start the escalation (it pages first, then waits out each step). */
  | { type: 'escalate' }
  /** Redraw the alert's Slack messages that do not show its current state. */
  | { type: 'redraw'; note?: string }
  /** Ask how long the rule was evaluated without this series, then send a `coverage` event. */
  | { type: 'checkCoverage' }
  /** Wait for the escalation's step in flight (bounded). */
  | { type: 'settleEscalation' }
  /** Remember when this occurrence resolved (re-fire suppression, core/dedup.ts), if it notified. */
  | { type: 'rememberResolved'; atMs: number }
  /**
   * An occurrence that ends without having fired: a workflow task lost with its worker may still have recorded (and
   * published) a firing of it before the task was retried and found the condition cleared; if so, record its
   * resolution, so no firing is left without one.
   */
  | { type: 'settleUnfired'; atMs: number; notes: string }
  /** Remove the alert from alerts:active. */
  | { type: 'close' }
  /** Complete the run. */
  | { type: 'complete'; reason: AlertEndReason; fired: boolean }
  /** Hand the state to a fresh run (after the escalation's step in flight settled). */
  | { type: 'continueAsNew'; carried: Omit<CarriedAlertState, 'escalation'> }
  /** Sleep until a message arrives or `ms` pass (Infinity: until a message). */
  | { type: 'wait'; ms: number };

/** Transition is the machine's answer to one event. */
export interface Transition {
  state: LifecycleState;
  commands: LifecycleCommand[];
}

/** initialState is a run's state: fresh from the first breach, or as a previous run handed it over. */
export function initialState(input: AlertInput): LifecycleState {
  const carried = input.carried;
  return {
    phase: carried?.phase ?? 'pending',
    breaching: input.firstBreach.breaching,
    value: carried?.value ?? input.firstBreach.value,
    lastObservedMs: carried?.lastObservedMs ?? input.firstBreach.atMs,
    observations: 0,
    changes: 0,
    ...(carried?.acknowledgedBy !== undefined ? { acknowledgedBy: carried.acknowledgedBy, acknowledgedAtMs: carried.acknowledgedAtMs } : {}),
    acknowledgementRecorded: carried?.acknowledgedBy !== undefined,
    ...(carried?.firedAtMs !== undefined ? { firedAtMs: carried.firedAtMs } : {}),
    staleNotBeforeMs: 0,
  };
}

/**
 * startCommands are what a run does before its first tick: a continued alert's escalation picks up where the
 * previous run left it (the previous run published it); a fresh alert is published as pending — unless its first
 * breach already confirms it, then it fires at once without a pending view in between.
 */
export function startCommands(state: LifecycleState, input: AlertInput, hasEscalation: boolean): LifecycleCommand[] {
  if (input.carried) return hasEscalation && state.phase === 'firing' ? [{ type: 'escalate' }] : [];
  const firesAtOnce = state.phase === 'pending' && state.lastObservedMs >= firesAtMs(input);
  return firesAtOnce ? [] : [{ type: 'publish' }];
}

/** firesAtMs is when the rule's `for` has passed since the first breach. */
export const firesAtMs = (input: AlertInput) => input.firstBreach.atMs + input.rule.durationMs;

/** ended is true once the alert is resolved or inactive. */
export const ended = (state: LifecycleState) => state.phase === 'resolved' || state.phase === 'inactive';

/** holding says a fired alert whose condition cleared still fires: keep_firing_for has not passed. */
export function holding(state: LifecycleState, input: AlertInput, now: number): boolean {
  const keepMs = input.rule.keepFiringForMs ?? 0;
  return state.firedAtMs !== undefined && keepMs > 0 && state.clearedSinceMs !== undefined && now - state.clearedSinceMs < keepMs;
}

/** next applies one event. */
export function next(state: LifecycleState, input: AlertInput, event: LifecycleEvent): Transition {
  switch (event.type) {
    case 'observe': {
      const o = event.observation;
      if (o.stale) return { state: { ...state, observations: state.observations + 1, vanished: true }, commands: [] };
      return {
        state: {
          ...state,
          observations: state.observations + 1,
          breaching: o.breaching,
          clearedSinceMs: o.breaching ? undefined : (state.clearedSinceMs ?? o.atMs),
          value: o.value,
          lastObservedMs: Math.max(state.lastObservedMs, o.atMs),
          vanished: false,
        },
        commands: [],
      };
    }
    case 'acknowledge':
      return { state: { ...state, phase: 'acknowledged', acknowledgedBy: event.action.by, acknowledgedAtMs: event.atMs, changes: state.changes + 1 }, commands: [] };
    case 'resolve':
      // Ended from now on: an ack arriving while the resolution is being recorded is refused, not lost.
      return { state: { ...state, resolution: event.action, phase: state.firedAtMs === undefined ? 'inactive' : 'resolved', changes: state.changes + 1 }, commands: [] };
    case 'coverage':
      if (event.unseenMs !== undefined && event.unseenMs < input.staleAfterMs) {
        // Evaluation was down meanwhile: the series is not known to be gone; ask again once it could be.
        return { state: { ...state, staleNotBeforeMs: event.now + input.staleAfterMs - event.unseenMs }, commands: [] };
      }
      return end(state, 'stale', event.now);
    case 'tick':
      return tick(state, input, event.now, event.continueAsNewSuggested);
  }
}

function tick(state: LifecycleState, input: AlertInput, now: number, continueAsNewSuggested: boolean): Transition {
  if (state.resolution) return end(state, 'resolved-by-hand', now);
  if (!state.breaching && !holding(state, input, now)) return end(state, 'condition-cleared', now);
  if (state.vanished && state.breaching && input.rule.noData !== 'keep') return end(state, 'stale', now);
  if (state.breaching && input.rule.noData !== 'keep' && now - state.lastObservedMs >= input.staleAfterMs && now >= state.staleNotBeforeMs) {
    return { state, commands: [{ type: 'checkCoverage' }] };
  }
  if (state.phase === 'pending' && state.lastObservedMs >= firesAtMs(input)) {
    // The page goes first; the records follow while it is being sent.
    return { state: { ...state, phase: 'firing', firedAtMs: now }, commands: [{ type: 'escalate' }, { type: 'publish' }, { type: 'record', status: 'firing', atMs: now, notes: '' }] };
  }
  if (state.acknowledgedBy && !state.acknowledgementRecorded) {
    return {
      state: { ...state, acknowledgementRecorded: true },
      commands: [{ type: 'publish' }, { type: 'record', status: 'acknowledged', atMs: state.acknowledgedAtMs ?? now, notes: '' }, { type: 'redraw' }],
    };
  }
  // A long-lived alert (firing for days) would outgrow its history: hand the state to a fresh run.
  if ((continueAsNewSuggested || state.observations >= (input.maxObservationsPerRun ?? Infinity)) && !ended(state)) {
    return { state, commands: [{ type: 'continueAsNew', carried: carriedState(state) }] };
  }
  // Wake for the next message, or when the series goes stale, or when keep_firing_for runs out.
  let wakeInMs = input.rule.noData === 'keep' ? Infinity : Math.max(state.lastObservedMs + input.staleAfterMs, state.staleNotBeforeMs) - now;
  if (holding(state, input, now)) wakeInMs = Math.min(wakeInMs, state.clearedSinceMs! + (input.rule.keepFiringForMs ?? 0) - now);
  return { state, commands: [{ type: 'wait', ms: wakeInMs === Infinity ? Infinity : Math.max(wakeInMs, 1) }] };
}

/**
 * end closes the alert: an ack accepted in the same instant (racing a resolve) is still recorded, before the
 * resolution; the escalation's step in flight settles before the messages are redrawn as resolved.
 */
function end(state: LifecycleState, reason: AlertEndReason, now: number): Transition {
  const fired = state.firedAtMs !== undefined;
  const commands: LifecycleCommand[] = [];
  const next: LifecycleState = { ...state, phase: fired ? 'resolved' : 'inactive' };
  if (fired && state.acknowledgedBy && !state.acknowledgementRecorded) {
    next.acknowledgementRecorded = true;
    commands.push({ type: 'record', status: 'acknowledged', atMs: state.acknowledgedAtMs ?? now, notes: '' });
  }
  commands.push({ type: 'settleEscalation' });
  if (fired) {
    const notes = resolutionNotes(reason, state.resolution);
    // The dedup window runs from the incident's end: for a series that went silent, the last time it was seen — an
    // alert whose data stopped hours ago (the stack was down) and is noticed stale only now must not make the next
    // breach "the same incident again" and keep it from paging.
    const endedAtMs = reason === 'stale' ? Math.min(now, state.lastObservedMs) : now;
    commands.push({ type: 'record', status: 'resolved', atMs: now, notes }, { type: 'redraw', note: notes }, { type: 'rememberResolved', atMs: endedAtMs });
  }
  if (!fired) commands.push({ type: 'settleUnfired', atMs: now, notes: `${resolutionNotes(reason, state.resolution)} (it never fired)` });
  commands.push({ type: 'close' }, { type: 'complete', reason, fired });
  return { state: next, commands };
}

/** resolutionNotes is what alert_history and the messages say about how an alert ended. */
export function resolutionNotes(reason: AlertEndReason, resolution?: AlertAction): string {
  if (reason === 'resolved-by-hand') return `resolved by ${resolution?.by ?? 'someone'}${resolution?.note ? `: ${resolution.note}` : ''}`;
  return reason === 'stale' ? 'no data: series not reported' : 'condition cleared';
}

/** carriedState is the alert's own part of what a run hands to its continuation (the escalation adds its own). */
export function carriedState(state: LifecycleState): Omit<CarriedAlertState, 'escalation'> {
  return {
    phase: state.phase as CarriedAlertState['phase'],
    value: state.value,
    lastObservedMs: state.lastObservedMs,
    ...(state.firedAtMs !== undefined ? { firedAtMs: state.firedAtMs } : {}),
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAtMs: state.acknowledgedAtMs } : {}),
  };
}

/** alertView is the alert as the state query and the updates answer it. */
export function alertView(state: LifecycleState, input: AlertInput, alertId: string, escalation?: AlertView['escalation']): AlertView {
  return {
    alertId,
    service: input.service,
    rule: input.rule.name,
    phase: state.phase,
    value: state.value,
    observations: state.observations,
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAtMs: state.acknowledgedAtMs } : {}),
    ...(state.resolution ? { resolvedBy: state.resolution.by } : {}),
    ...(escalation ? { escalation } : {}),
  };
}

/** historyRow is one alert_history row for a transition of the alert at `atMs`. */
export function historyRow(state: LifecycleState, input: AlertInput, ids: { alertId: string; workflowId: string }, status: HistoryRow['status'], atMs: number, notes: string): HistoryRow {
  return {
    alert_id: ids.alertId,
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
    duration_minutes: state.firedAtMs === undefined ? 0 : Math.floor((atMs - state.firedAtMs) / 60_000),
    acknowledged_by: state.acknowledgedBy ?? '',
    resolution_notes: notes,
    labels: input.labels,
    workflow_id: ids.workflowId,
  };
}
