/**
 * alertLifecycleWorkflow owns one alert (`alert/<fingerprint>`) from its first breach to its end. Every decision is
 * the pure machine's (core/alert-machine.ts): this workflow feeds it the messages it receives — observations from
 * the evaluator, acknowledge and resolve updates — and a tick each time it wakes, and runs the commands it answers
 * (Redis view, alert_history rows, the escalation of workflows/alert-escalation.ts, timers). Transitions are recorded
 * by this loop only, so in the order they happened. A later breach starts a new run.
 */
import { allHandlersFinished, condition, continueAsNew, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { actionRefusal, activeAlertView, alertIdOf, type AlertAction, type AlertInput, type AlertOutcome, type AlertView } from '../core/alert';
import { alertView, historyRow, initialState, next, startCommands, type LifecycleCommand, type LifecycleEvent, type LifecycleState } from '../core/alert-machine';
import { isShadow } from '../core/rules';
import { createEscalation } from './alert-escalation';
import { alertIo } from './alert-io';
import { acknowledgeUpdate, groupDeliveredSignal, muteSignal, observeSignal, resolveUpdate, stateQuery } from './messages';


/** alertLifecycleWorkflow runs one alert through pending → firing → (acknowledged) → resolved. */
export async function alertLifecycleWorkflow(input: AlertInput): Promise<AlertOutcome> {
  const alertId = alertIdOf(input.fingerprint, input.firstBreach.atMs);
  const { workflowId } = workflowInfo();
  // (patched() is asked in this order so that a run records each marker its code path depends on.)
  const io = alertIo(patched('alert-io-serial') ? 'serial' : patched('alert-io-local-activities') ? 'local' : 'remote');
  const { setActiveAlert, closeActiveAlert, recordAlertTransition, rememberResolved, ruleCoverage, settleUnfiredAlert } = io;
  let state: LifecycleState = initialState(input);
  const escalation = createEscalation({ input, alertId, workflowId, io, lifecycle: () => state });
  const apply = (event: LifecycleEvent) => {
    const transition = next(state, input, event);
    state = transition.state;
    return transition.commands;
  };
  const view = (): AlertView => alertView(state, input, alertId, escalation.view());
  const refuseIf = (refusal: string | undefined) => {
    if (refusal) throw new Error(refusal);
  };

  setHandler(observeSignal, (observation) => void apply({ type: 'observe', observation }));
  setHandler(
    acknowledgeUpdate,
    (action) => {
      apply({ type: 'acknowledge', action, atMs: Date.now() });
      return view();
    },
    { validator: (action: AlertAction) => refuseIf(actionRefusal('acknowledge', view(), action)) },
  );
  setHandler(
    resolveUpdate,
    (action) => {
      apply({ type: 'resolve', action });
      return view();
    },
    { validator: (action: AlertAction) => refuseIf(actionRefusal('resolve', view(), action)) },
  );
  setHandler(stateQuery, view);
  setHandler(muteSignal, (notice) => escalation.muted(notice));
  setHandler(groupDeliveredSignal, (answer) => {
    if (answer.alertId === alertId) escalation.groupDelivered(answer);
  });

  const publish = (write = setActiveAlert) => {
    const status = state.phase === 'pending' ? 'pending' : state.phase === 'acknowledged' ? 'acknowledged' : 'firing';
    return write(activeAlertView(input, workflowId, status, state.value, Date.now(), state.acknowledgedBy));
  };

  /** run carries out one command; an outcome ends the run. */
  async function run(command: LifecycleCommand): Promise<AlertOutcome | 'continued' | undefined> {
    switch (command.type) {
      case 'publish':
        // A shadow rule's alert is not an active alert anyone sees (or a silence, inhibition or health reads).
        if (!isShadow(input.rule)) await publish();
        return undefined;
      case 'record':
        await recordAlertTransition(historyRow(state, input, { alertId, workflowId }, command.status, command.atMs, command.notes));
        return undefined;
      case 'escalate':
        escalation.start();
        return undefined;
      case 'redraw':
        await escalation.redraw(command.note);
        return undefined;
      case 'settleEscalation':
        await escalation.settle();
        return undefined;
      case 'rememberResolved':
        if (escalation.hasSnapshot) await rememberResolved(input.fingerprint, command.atMs);
        return undefined;
      case 'settleUnfired':
        // Runs recorded before this step existed replay without it.
        if (patched('settle-unfired-alerts')) await settleUnfiredAlert(historyRow(state, input, { alertId, workflowId }, 'resolved', command.atMs, command.notes));
        return undefined;
      case 'close':
        await closeActiveAlert({ service: input.service, alert_id: alertId, rule: input.rule.name, fingerprint: input.fingerprint });
        return undefined;
      case 'complete':
        return { alertId, phase: command.fired ? 'resolved' : 'inactive', reason: command.reason, fired: command.fired };
      case 'checkCoverage': {
        const seen = { observations: state.observations, changes: state.changes };
        const unseenMs = await evaluatedWithoutSeries();
        // An observation or a hand resolution that arrived meanwhile decides instead: judge again.
        if (state.observations !== seen.observations || state.changes !== seen.changes || state.resolution) return undefined;
        for (const c of apply({ type: 'coverage', now: Date.now(), unseenMs })) {
          const outcome = await run(c);
          if (outcome) return outcome;
        }
        return undefined;
      }
      case 'continueAsNew': {
        await condition(allHandlersFinished);
        // Let a step being delivered finish, so the next run knows what was sent.
        escalation.pause();
        await escalation.settle();
        // The view as this run leaves it (its values were last written by the evaluator), as an ordinary activity
        // even in a run with local ones: it keeps the hand-over out of the workflow task that handled the last signal
        // (Temporal's time-skipping test server refuses a completion cancelling a timer alongside continue-as-new:
        // temporalio/sdk-java#2606). Rare enough (a long-lived alert) to cost its activity task.
        await publish(alertIo('remote').setActiveAlert);
        const escalationCarried = escalation.carried();
        await continueAsNew<typeof alertLifecycleWorkflow>({ ...input, carried: { ...command.carried, ...(escalationCarried ? { escalation: escalationCarried } : {}) } });
        return 'continued';
      }
      case 'wait': {
        const seen = { observations: state.observations, changes: state.changes };
        const changed = () => state.observations !== seen.observations || state.changes !== seen.changes;
        if (command.ms === Infinity) await condition(changed);
        else await condition(changed, command.ms);
        return undefined;
      }
    }
  }

  /**
   * evaluatedWithoutSeries is how long the rule has been evaluated, without a gap, since the series was last seen;
   * undefined when no evaluation was ever recorded (the clock decides); 0 when Redis cannot say.
   */
  async function evaluatedWithoutSeries(): Promise<number | undefined> {
    try {
      const coverage = await ruleCoverage(input.rule.name);
      return coverage ? Math.max(0, coverage.lastMs - Math.max(coverage.sinceMs, state.lastObservedMs)) : undefined;
    } catch {
      return 0;
    }
  }

  for (const command of startCommands(state, input, escalation.hasSnapshot)) await run(command);
  for (;;) {
    for (const command of apply({ type: 'tick', now: Date.now(), continueAsNewSuggested: workflowInfo().continueAsNewSuggested })) {
      const outcome = await run(command);
      if (outcome === 'continued') throw new Error('unreachable: continueAsNew does not return');
      if (outcome) return outcome;
    }
  }
}
