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
  log,
  patched,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  actionRefusal,
  activeAlertView,
  alertIdOf,
  alertLabels,
  type AlertAction,
  type AlertEndReason,
  type AlertInput,
  type AlertOutcome,
  type AlertPhase,
  type AlertView,
  type HistoryRow,
} from '../core/alert';
import { refireDecision, type RefireDecision } from '../core/dedup';
import { escalationPlan, notificationKey, type EscalationSnapshot, type SentNotification } from '../core/escalation';
import type { NotificationState } from '../core/notification';
import { alertGroup, type AlertGroup, type GroupDelivered } from '../core/grouping';
import { acknowledgeUpdate, groupDeliveredSignal, memberSignal, observeSignal, resolveUpdate, stateQuery } from './messages';

const {
  setActiveAlert,
  closeActiveAlert,
  recordAlertTransition,
  escalationSnapshot,
  updateSlackMessages,
  recallFirings,
  rememberNotified,
  rememberResolved,
  notificationGate,
  joinAlertGroup,
} = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});


// Asked only when an alert would go stale: a quick answer or none (then the alert waits another stale period).
const { ruleCoverage } = proxyActivities<Activities>({ startToCloseTimeout: '5s', retry: { initialInterval: '1s', maximumAttempts: 3 } });

/**
 * STALE_COVERAGE_PATCH marks runs that call a series stale only when its rule was evaluated without seeing it for
 * the stale period: an outage of Temporal or of the workers (no evaluation at all) no longer resolves every open
 * alert, to page again as a new alert once evaluation resumes.
 */
const STALE_COVERAGE_PATCH = 'stale-needs-evaluations-v1';

/** MUTE_RECHECK_MS is how often a muted alert asks again whether it may notify (an inhibiting alert may end). */
const MUTE_RECHECK_MS = 60_000;

/** ESCALATION_SETTLE_MS bounds how long an ending alert waits for its escalation's step in flight. */
const ESCALATION_SETTLE_MS = 120_000;

/** ESCALATION_PATCH marks the workflow code that notifies and escalates (Temporal versioning). */
const ESCALATION_PATCH = 'escalation-v1';

/** PAGE_FIRST_PATCH marks runs that start paging before recording the firing, reading policy and memory together. */
const PAGE_FIRST_PATCH = 'page-first-v1';

/** GROUPING_PATCH marks the workflow code that delivers through notification groups. */
const GROUPING_PATCH = 'grouping-v1';

/**
 * FAST_PAGE_PATCH marks runs that page with fewer steps: an alert firing on its first evaluation is not first
 * published as pending, the first step's silence/inhibition gate is read with the policy, and a steady breach's
 * evaluations no longer rewrite the Redis view (the evaluator writes their values there itself).
 */
const FAST_PAGE_PATCH = 'fast-page-v1';


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
    /** Since when the condition has been seen clear (keep_firing_for), while it stays clear. */
    clearedSinceMs: undefined as number | undefined,
  };
  const keepFiringForMs = input.rule.keepFiringForMs ?? 0;
  /** holding says a fired alert whose condition cleared still fires: keep_firing_for has not passed. */
  const holding = (now: number) => firedAtMs !== undefined && keepFiringForMs > 0 && state.clearedSinceMs !== undefined && now - state.clearedSinceMs < keepFiringForMs;
  /** Escalation: the policy snapshot taken at fire time, the next step to run, and what was delivered. */
  const escalation = {
    snapshot: carried?.escalation?.snapshot as EscalationSnapshot | undefined,
    /** Whether this firing notifies (core/dedup.ts), decided once per alert occurrence. */
    decision: carried?.escalation?.decision as RefireDecision | undefined,
    nextStep: carried?.escalation?.nextStep ?? 0,
    nextStepAtMs: carried?.escalation?.nextStepAtMs ?? 0,
    sent: (carried?.escalation?.sent ?? []) as SentNotification[],
    failed: 0,
    /** Why notifications are muted right now (a silence or an inhibiting alert), if they are. */
    mutedBy: undefined as string | undefined,
    /** The status each Slack message was last drawn with, by notification key. */
    drawn: new Map<string, NotificationState['status']>((carried?.escalation?.sent ?? []).map((d) => [d.key, carried?.escalation?.drawnAs ?? 'firing'])),
    /** The notification group the steps go through (policies with group_by), and its answers by step. */
    group: carried?.escalation?.group as AlertGroup | undefined,
    groupAnswers: new Map<number, GroupDelivered>(),
    /** Steps handed to the group whose answer the escalation stopped waiting for. */
    abandonedSteps: new Set<number>(),
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
    ...(escalation.snapshot
      ? {
          escalation: {
            policy: escalation.snapshot.policy.name,
            stepsRun: escalation.nextStep,
            notified: escalation.sent.length,
            failed: escalation.failed,
            ...(escalation.decision ? { notifies: escalation.decision.notify, reason: escalation.decision.reason } : {}),
            ...(escalation.mutedBy ? { mutedBy: escalation.mutedBy } : {}),
          },
        }
      : {}),
  });
  const refuseIf = (refusal: string | undefined) => {
    if (refusal) throw new Error(refusal);
  };

  setHandler(observeSignal, (observation) => {
    state.observations++;
    state.breaching = observation.breaching;
    if (observation.breaching) state.clearedSinceMs = undefined;
    else state.clearedSinceMs ??= observation.atMs;
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
  setHandler(groupDeliveredSignal, (answer) => {
    if (answer.alertId !== alertId) return;
    escalation.groupAnswers.set(answer.stepIndex, answer);
    // Acknowledged (or ended) while the group was sending this step: what it sent still gets redrawn.
    if (escalation.abandonedSteps.has(answer.stepIndex)) {
      escalation.abandonedSteps.delete(answer.stepIndex);
      recordGroupAnswer(answer, answer.stepIndex);
      void redraw();
    }
  });

  const { workflowId } = workflowInfo();
  const firesAtMs = input.firstBreach.atMs + input.rule.durationMs;
  let firedAtMs: number | undefined = carried?.firedAtMs;
  const publish = (now: number) => {
    const status = state.phase === 'pending' ? 'pending' : state.phase === 'acknowledged' ? 'acknowledged' : 'firing';
    return setActiveAlert(activeAlertView(input, workflowId, status, state.value, now, state.acknowledgedBy));
  };

  let escalationSettled = true;
  let escalationPaused = false;
  let redrawing: Promise<void> = Promise.resolve();
  // (Read before anything runs the escalation, which consults it.)
  const fastPage = patched(FAST_PAGE_PATCH);
  // A continued alert picks its escalation up where the previous run left it.
  if (escalation.snapshot && state.phase === 'firing') void escalate();

  // (A run continued from an earlier one was published by it just before.)
  const firesAtOnce = !carried && state.phase === 'pending' && state.lastObservedMs >= firesAtMs;
  if (!(fastPage && (firesAtOnce || carried))) await publish(Date.now());

  // A stale verdict deferred because the rule was not evaluated meanwhile: not asked again before this.
  let staleNotBeforeMs = 0;
  for (;;) {
    const now = Date.now();
    let reason: AlertEndReason | undefined = state.resolution
      ? 'resolved-by-hand'
      : !state.breaching
        ? holding(now)
          ? undefined
          : 'condition-cleared'
        : now - state.lastObservedMs >= input.staleAfterMs && now >= staleNotBeforeMs && input.rule.noData !== 'keep'
          ? 'stale'
          : undefined;
    if (reason === 'stale' && patched(STALE_COVERAGE_PATCH)) {
      const seen = { observations: state.observations, changes: state.changes };
      const unseenMs = await evaluatedWithoutSeries();
      // An observation or a hand resolution that arrived meanwhile decides instead: judge again.
      if (state.observations !== seen.observations || state.changes !== seen.changes || state.resolution) continue;
      if (unseenMs !== undefined && unseenMs < input.staleAfterMs) {
        staleNotBeforeMs = Date.now() + input.staleAfterMs - unseenMs;
        reason = undefined;
      }
    }
    if (reason) return end(reason);
    // As in Prometheus, a pending alert fires on an evaluation that still sees the breach once `for` has passed,
    // never on a timer alone: the condition must be confirmed at or after firesAtMs.
    if (state.phase === 'pending' && state.lastObservedMs >= firesAtMs) {
      state.phase = 'firing';
      firedAtMs = now;
      // The page goes first; the records follow while it is being sent. (Runs from before PAGE_FIRST_PATCH recorded
      // first; alerts started before escalation existed replay without it.)
      const pageFirst = patched(PAGE_FIRST_PATCH);
      if (pageFirst) void escalate();
      await publish(now);
      await recordAlertTransition(historyRow('firing', now, ''));
      if (!pageFirst && patched(ESCALATION_PATCH)) void escalate();
      continue;
    }
    if (state.acknowledgedBy && !state.acknowledgementRecorded) {
      state.acknowledgementRecorded = true;
      await publish(now);
      await recordAlertTransition(historyRow('acknowledged', state.acknowledgedAtMs ?? now, ''));
      await redraw();
      continue;
    }
    // A long-lived alert (firing for days) would outgrow its history: hand the state to a fresh run.
    const tooLong = workflowInfo().continueAsNewSuggested || state.observations >= (input.maxObservationsPerRun ?? Infinity);
    if (tooLong && state.phase !== 'resolved' && state.phase !== 'inactive') {
      await condition(allHandlersFinished);
      // Let a step being delivered finish, so the next run knows what was sent.
      escalationPaused = true;
      await escalationToSettle();
      // The view as this run leaves it (its values were last written by the evaluator). Also keeps the hand-over
      // out of the workflow task that handled the last signal (Temporal's time-skipping test server refuses a
      // completion cancelling a timer alongside continue-as-new: temporalio/sdk-java#2606).
      if (fastPage) await publish(Date.now());
      const phase = state.phase;
      return continueAsNew<typeof alertLifecycleWorkflow>({
        ...input,
        carried: {
          phase,
          value: state.value,
          lastObservedMs: state.lastObservedMs,
          ...(firedAtMs !== undefined ? { firedAtMs } : {}),
          ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy, acknowledgedAtMs: state.acknowledgedAtMs } : {}),
          ...(escalation.snapshot
            ? {
                escalation: {
                  snapshot: escalation.snapshot,
                  ...(escalation.decision ? { decision: escalation.decision } : {}),
                  nextStep: escalation.nextStep,
                  nextStepAtMs: escalation.nextStepAtMs,
                  sent: escalation.sent,
                  drawnAs: phase === 'acknowledged' ? 'acknowledged' : 'firing',
                  ...(escalation.group ? { group: escalation.group } : {}),
                },
              }
            : {}),
        },
      });
    }
    const seen = { observations: state.observations, changes: state.changes };
    // Wake for the next message, or when the series goes stale, or when keep_firing_for runs out.
    let wakeInMs = input.rule.noData === 'keep' ? Infinity : Math.max(state.lastObservedMs + input.staleAfterMs, staleNotBeforeMs) - now;
    if (holding(now)) wakeInMs = Math.min(wakeInMs, state.clearedSinceMs! + keepFiringForMs - now);
    const changed = () => state.observations !== seen.observations || state.changes !== seen.changes;
    const woke = wakeInMs === Infinity ? (await condition(changed), true) : await condition(changed, Math.max(wakeInMs, 1));
    if (!fastPage && woke && state.breaching && state.observations !== seen.observations) await publish(Date.now());
  }

  /**
   * evaluatedWithoutSeries is how long the rule has been evaluated, without a gap, since the series was last seen;
   * undefined when no evaluation was ever recorded (the clock decides, as before); 0 when Redis cannot say.
   */
  async function evaluatedWithoutSeries(): Promise<number | undefined> {
    try {
      const coverage = await ruleCoverage(input.rule.name);
      return coverage ? Math.max(0, coverage.lastMs - Math.max(coverage.sinceMs, state.lastObservedMs)) : undefined;
    } catch {
      return 0;
    }
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
    // The escalation sees the alert ended; a step in flight finishes before the messages are redrawn as resolved.
    await escalationToSettle();
    if (fired) {
      const notes =
        reason === 'resolved-by-hand'
          ? `resolved by ${state.resolution!.by}${state.resolution!.note ? `: ${state.resolution!.note}` : ''}`
          : reason === 'stale'
            ? 'no data: series not reported'
            : 'condition cleared';
      await recordAlertTransition(historyRow('resolved', now, notes));
      await redraw(notes);
      if (escalation.snapshot) await rememberResolved(input.fingerprint, now);
    }
    await closeActiveAlert({ service: input.service, alert_id: alertId, rule: input.rule.name, fingerprint: input.fingerprint });
    return { alertId, phase: fired ? 'resolved' : 'inactive', reason, fired };
  }

  /** escalate runs the escalation in the background; a failure there is logged, never the end of the alert. */
  function escalate(): Promise<void> {
    escalationSettled = false;
    return runEscalation()
      .catch((err: unknown) => log.error('escalation failed', { alertId, error: String(err) }))
      .finally(() => {
        escalationSettled = true;
      });
  }

  /**
   * escalationToSettle waits for a step in flight to finish — but not for ever: an escalation stuck retrying (a
   * broken policy file, a channel down for good) must not keep the alert from ending. Its deliveries are bounded
   * by ALERT_NOTIFICATION_TIMEOUT; the policy snapshot is retried for at most this long here.
   */
  async function escalationToSettle(): Promise<void> {
    if (!escalationSettled) await condition(() => escalationSettled, ESCALATION_SETTLE_MS);
  }

  /**
   * runEscalation takes the policy snapshot (once per alert), then runs the plan's steps from escalation.nextStep:
   * each step's targets are notified in parallel — a failing channel never holds up the others — and the next step
   * waits for the step's delay unless the alert is acknowledged or ends first.
   */
  async function runEscalation(): Promise<void> {
    // The policy and the alert's memory are read together (runs from before PAGE_FIRST_PATCH read them in turn).
    const recalled = !escalation.decision && patched(PAGE_FIRST_PATCH) ? recallFirings(input.fingerprint) : undefined;
    // (Awaited below; a failure while the snapshot is still being read must not go unhandled meanwhile.)
    recalled?.catch(() => undefined);
    const gateRequest = { labels: alertLabels(input), service: input.service, fingerprint: input.fingerprint };
    // The first step's gate is read with the policy, not after it.
    let firstGate = fastPage && escalation.nextStep === 0 && !escalation.decision ? notificationGate(gateRequest) : undefined;
    firstGate?.catch(() => undefined);
    escalation.snapshot ??= await escalationSnapshot(input.rule);
    const { policy, timeoutMs, maxAttempts, dedup } = escalation.snapshot;
    const stopped = () => state.phase !== 'firing' || escalationPaused;
    if (!escalation.decision) {
      const memory = await (recalled ?? recallFirings(input.fingerprint));
      escalation.decision = refireDecision(memory, input.firstBreach.atMs, Date.now(), dedup);
      if (!escalation.decision.notify) {
        firstGate = undefined; // (read again when the suppression ends)
        // The same incident again: its earlier Slack messages show it firing again instead of new ones being sent.
        for (const m of memory.messages) {
          escalation.sent.push(m);
          escalation.drawn.set(m.key, 'resolved');
        }
        await redraw(`firing again — ${escalation.decision.reason}`);
        // Still firing after a whole window: no longer a flap but an incident, which escalates normally.
        if (await condition(stopped, dedup.windowMs)) return;
        escalation.decision = { notify: true, reason: `still firing ${Math.round(dedup.windowMs / 1000)}s after a suppressed re-fire` };
        escalation.sent = [];
      }
    }
    const { deliverNotification } = proxyActivities<Activities>({
      startToCloseTimeout: '10s',
      scheduleToCloseTimeout: timeoutMs,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: maxAttempts },
    });
    const plan = escalationPlan(policy);
    while (escalation.nextStep < plan.length) {
      if (escalation.nextStepAtMs > Date.now()) await condition(stopped, escalation.nextStepAtMs - Date.now());
      if (stopped()) return;
      // Silences and inhibition (core/silences.ts) hold the step back while they last; it goes once they end.
      for (;;) {
        const mute = await (firstGate ?? notificationGate(gateRequest));
        firstGate = undefined;
        escalation.mutedBy = mute.muted ? mute.reason : undefined;
        if (!mute.muted) break;
        const recheckMs = Math.max(1_000, Math.min(MUTE_RECHECK_MS, (mute.untilMs ?? Infinity) - Date.now()));
        if (await condition(stopped, recheckMs)) return;
      }
      const step = plan[escalation.nextStep]!;
      const stepRef = { index: step.index, level: step.level, round: step.round };
      if (policy.grouping && patched(GROUPING_PATCH)) {
        // Grouped: the alert's notification group delivers the step, batched with its other alerts (core/grouping.ts).
        const { grouping } = policy;
        escalation.group ??= alertGroup(workflowInfo().taskQueue, policy.name, grouping, { alertname: input.rule.name, ...alertLabels(input) });
        await joinAlertGroup(
          { group: escalation.group, policy: policy.name, grouping, timeoutMs, maxAttempts },
          { alertId, workflowId, step: stepRef, targets: step.targets, alert: { ...input, carried: undefined }, value: state.value, firedAtMs: firedAtMs ?? Date.now(), policy: policy.name, atMs: Date.now() },
        );
        const answerWithinMs = grouping.groupWaitMs + grouping.groupIntervalMs + timeoutMs + 60_000;
        await condition(() => escalation.groupAnswers.has(step.index) || stopped(), answerWithinMs);
        const answer = escalation.groupAnswers.get(step.index);
        if (!answer && stopped()) {
          escalation.abandonedSteps.add(step.index);
          return;
        }
        if (answer) recordGroupAnswer(answer, step.index);
        else escalation.failed += step.targets.length;
      } else {
        const results = await Promise.allSettled(
          step.targets.map((target) =>
            deliverNotification({
              key: notificationKey(alertId, step.index, target),
              target,
              step: stepRef,
              alert: input,
              alertId,
              workflowId,
              value: state.value,
              firedAtMs: firedAtMs ?? Date.now(),
              policy: policy.name,
            }),
          ),
        );
        for (const result of results) {
          if (result.status === 'fulfilled') {
            escalation.sent.push({ ...result.value, step: stepRef });
            escalation.drawn.set(result.value.key, 'firing');
          } else {
            escalation.failed++;
          }
        }
      }
      escalation.nextStep++;
      escalation.nextStepAtMs = Date.now() + step.waitMs;
      // The alert's memory: when this occurrence first notified, and its Slack messages for later re-fires to redraw.
      // (A group's batch message is the group's to redraw, so it is not remembered for re-fires.)
      await rememberNotified(input.fingerprint, step.index === 0 ? (firedAtMs ?? Date.now()) : undefined, escalation.sent.filter((d) => d.channel === 'slack' && !d.group));
      // Acknowledged while this step was being sent: its messages show it too.
      if (state.phase !== 'firing') await redraw();
    }
  }

  /** recordGroupAnswer keeps what the group sent for a step, as a delivery of the alert's own would be kept. */
  function recordGroupAnswer(answer: GroupDelivered, stepIndex: number): void {
    const planned = escalation.snapshot ? escalationPlan(escalation.snapshot.policy)[stepIndex] : undefined;
    const stepRef = { index: stepIndex, level: planned?.level ?? 1, round: planned?.round ?? 0 };
    for (const delivery of answer.sent) {
      escalation.sent.push({ ...delivery, step: stepRef });
      escalation.drawn.set(delivery.key, 'firing');
    }
    escalation.failed += answer.failed;
  }

  /** redraw edits every Slack message of the alert that does not show its current state yet, one redraw at a time. */
  function redraw(note?: string): Promise<void> {
    redrawing = redrawing.then(async () => {
      const status: NotificationState['status'] = state.phase === 'acknowledged' ? 'acknowledged' : state.phase === 'resolved' ? 'resolved' : 'firing';
      const drawnState: NotificationState = {
        status,
        ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
        ...(state.resolution ? { resolvedBy: state.resolution.by } : {}),
        ...(note ? { note } : {}),
        atMs: Date.now(),
      };
      // The group redraws its batch messages, and stops announcing the alert once it is no longer firing.
      if (escalation.group) {
        await getExternalWorkflowHandle(escalation.group.workflowId)
          .signal(memberSignal, { alertId, value: state.value, state: drawnState })
          .catch((err: unknown) => log.info('notification group gone', { group: escalation.group?.workflowId, error: String(err) }));
      }
      const stale = escalation.sent.filter(
        (d): d is Extract<SentNotification, { channel: 'slack' }> => d.channel === 'slack' && !d.group && escalation.drawn.get(d.key) !== status,
      );
      if (stale.length === 0 || !escalation.snapshot) return;
      await updateSlackMessages({
        alert: input,
        alertId,
        workflowId,
        value: state.value,
        firedAtMs: firedAtMs ?? Date.now(),
        policy: escalation.snapshot.policy.name,
        messages: stale.map((d) => ({ slackChannel: d.slackChannel, ts: d.ts, step: d.step })),
        state: drawnState,
      });
      for (const d of stale) escalation.drawn.set(d.key, status);
    });
    return redrawing;
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
