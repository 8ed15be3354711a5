/**
 * An alert's escalation, run beside its lifecycle (workflows/alert-lifecycle.ts) inside the alert's workflow: the
 * policy snapshot taken when it fires, the re-fire decision (core/dedup.ts), then each step of the plan
 * (core/escalation.ts) — held back by silences and inhibition while they last, delivered to every target in
 * parallel (or through the alert's notification group when the policy groups), the next step after the step's wait
 * unless the alert is acknowledged or ends first — and the redrawing of its Slack messages as its state changes.
 */
import { condition, getExternalWorkflowHandle, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { alertLabels, type AlertInput, type AlertView, type CarriedAlertState, type MuteNotice, type MuteTransition } from '../core/alert';
import type { LifecycleState } from '../core/alert-machine';
import { refireDecision, type RefireDecision } from '../core/dedup';
import { DELIVERY_HEARTBEAT, escalationPlan, notificationKey, type EscalationSnapshot, type EscalationTarget, type SentNotification } from '../core/escalation';
import { alertGroup, type AlertGroup, type GroupDelivered } from '../core/grouping';
import { isShadow } from '../core/rules';
import type { NotificationState } from '../core/notification';
import type { AlertIo } from './alert-io';
import { memberSignal } from './messages';

const { updateSlackMessages, publishMuteTransition, publishEscalation } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

// Telling a paging service of an ack or resolution: a few tries, then given up (the page itself went out).
const { syncPagingIncidents } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

// Who is on call is looked up quickly or not at all: a failed lookup pages the step's fixed targets without waiting.
const { resolveOncallTargets } = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { initialInterval: '500ms', maximumAttempts: 3 },
});

/** MUTE_RECHECK_MS is how often a muted alert asks again whether it may notify (an inhibiting alert may end). */
const MUTE_RECHECK_MS = 60_000;

/** ESCALATION_SETTLE_MS bounds how long an ending alert waits for its escalation's step in flight. */
const ESCALATION_SETTLE_MS = 120_000;

/** EscalationContext is what the escalation reads of its alert. */
export interface EscalationContext {
  input: AlertInput;
  alertId: string;
  workflowId: string;
  /** The run's short I/O (workflows/alert-io.ts). */
  io: AlertIo;
  /** The lifecycle's current state (read, never written, by the escalation). */
  lifecycle: () => LifecycleState;
}

/** Escalation is a running alert's escalation, as its workflow drives it. */
export interface Escalation {
  /** hasSnapshot is true once the policy was taken (the alert fired, in this run or an earlier one). */
  readonly hasSnapshot: boolean;
  /** start runs the escalation in the background; a failure there is logged, never the end of the alert. */
  start(): void;
  /**
   * settle waits for a step in flight and for silence announcements — at most ESCALATION_SETTLE_MS each, so a stuck
   * channel cannot keep the alert open.
   */
  settle(): Promise<void>;
  /** pause stops before the next step (continue-as-new hands the rest to the next run). */
  pause(): void;
  /** redraw edits every Slack message of the alert that does not show its current state, one redraw at a time. */
  redraw(note?: string): Promise<void>;
  /** groupDelivered takes the notification group's answer for a step. */
  groupDelivered(answer: GroupDelivered): void;
  /** muted takes a silence's notice (workflows/messages.ts muteSignal) and announces it once, if the alert fired. */
  muted(notice: MuteNotice): void;
  /** view is the escalation as the alert's view shows it. */
  view(): AlertView['escalation'];
  /** carried is what the next run needs to continue the escalation. */
  carried(): CarriedAlertState['escalation'];
}

/** createEscalation builds the escalation of one alert run, picking up what a previous run carried over. */
export function createEscalation(ctx: EscalationContext): Escalation {
  const { input, alertId, workflowId } = ctx;
  const { escalationSnapshot, recallFirings, rememberNotified, notificationGate, joinAlertGroup } = ctx.io;
  const carried = input.carried?.escalation;
  const state = {
    snapshot: carried?.snapshot as EscalationSnapshot | undefined,
    /** Whether this firing notifies (core/dedup.ts), decided once per alert occurrence. */
    decision: carried?.decision as RefireDecision | undefined,
    nextStep: carried?.nextStep ?? 0,
    nextStepAtMs: carried?.nextStepAtMs ?? 0,
    sent: (carried?.sent ?? []) as SentNotification[],
    failed: 0,
    /** Why notifications are muted right now (a silence or an inhibiting alert), if they are. */
    mutedBy: undefined as string | undefined,
    /** The status each Slack message was last drawn with, by notification key. */
    drawn: new Map<string, NotificationState['status']>((carried?.sent ?? []).map((d) => [d.key, carried?.drawnAs ?? 'firing'])),
    /** The notification group the steps go through (policies with group_by), and its answers by step. */
    group: carried?.group as AlertGroup | undefined,
    groupAnswers: new Map<number, GroupDelivered>(),
    /** Steps handed to the group whose answer the escalation stopped waiting for. */
    abandonedSteps: new Set<number>(),
    /** What the alert stream was told of each silence (announced once per occurrence, silence and transition). */
    mutes: { ...(carried?.mutes ?? {}) } as Record<string, MuteTransition>,
  };
  // The alert stream's announcements, one at a time in the order decided; `unannounced` counts those not yet out.
  let announcing: Promise<void> = Promise.resolve();
  let unannounced = 0;
  const announce = (publish: () => Promise<void>, what: string) => {
    unannounced++;
    announcing = announcing
      .then(publish)
      .catch((err: unknown) => log.error(`${what} announcement failed`, { alertId, error: String(err) }))
      .finally(() => unannounced--);
  };
  let settled = true;
  let paused = false;
  let redrawing: Promise<void> = Promise.resolve();
  const firedAtMs = () => ctx.lifecycle().firedAtMs ?? Date.now();
  const stopped = () => ctx.lifecycle().phase !== 'firing' || paused;

  /**
   * announceMute publishes a silence muting the alert or ending, once: `silenced` once per silence, `unsilenced` only
   * after it. Only a fired alert still open announces (a pending one is told by its gate when it fires).
   */
  function announceMute(notice: MuteNotice): void {
    const before = state.mutes[notice.silenceId];
    const phase = ctx.lifecycle().phase;
    if (!state.snapshot || (phase !== 'firing' && phase !== 'acknowledged')) return;
    if (notice.transition === 'silenced' ? before !== undefined : before !== 'silenced') return;
    // Runs recorded before silences were announced replay without it.
    if (!patched('announce-silences')) return;
    state.mutes[notice.silenceId] = notice.transition;
    const request = { ...notice, alertId, workflowId, alert: { ...input, carried: undefined }, value: ctx.lifecycle().value, firedAtMs: firedAtMs() };
    announce(() => publishMuteTransition(request), 'silence');
  }

  /** recordGroupAnswer keeps what the group sent for a step, as a delivery of the alert's own would be kept. */
  function recordGroupAnswer(answer: GroupDelivered, stepIndex: number): void {
    const planned = state.snapshot ? escalationPlan(state.snapshot.policy)[stepIndex] : undefined;
    const stepRef = { index: stepIndex, level: planned?.level ?? 1, round: planned?.round ?? 0 };
    for (const delivery of answer.sent) {
      state.sent.push({ ...delivery, step: stepRef });
      state.drawn.set(delivery.key, 'firing');
    }
    state.failed += answer.failed;
  }

  function redraw(note?: string): Promise<void> {
    redrawing = redrawing.then(async () => {
      const lifecycle = ctx.lifecycle();
      const status: NotificationState['status'] = lifecycle.phase === 'acknowledged' ? 'acknowledged' : lifecycle.phase === 'resolved' ? 'resolved' : 'firing';
      const drawnState: NotificationState = {
        status,
        ...(lifecycle.acknowledgedBy ? { acknowledgedBy: lifecycle.acknowledgedBy } : {}),
        ...(lifecycle.resolution ? { resolvedBy: lifecycle.resolution.by } : {}),
        ...(note ? { note } : {}),
        atMs: Date.now(),
      };
      // The group redraws its batch messages, and stops announcing the alert once it is no longer firing.
      if (state.group) {
        await getExternalWorkflowHandle(state.group.workflowId)
          .signal(memberSignal, { alertId, value: lifecycle.value, state: drawnState })
          .catch((err: unknown) => log.info('notification group gone', { group: state.group?.workflowId, error: String(err) }));
      }
      // The paging services keep an incident per series: acknowledged or resolved here, it follows there (a step's
      // page through its group too, keyed alike). Only alerts that paged one add this command.
      const paged = state.sent.filter((d) => (d.channel === 'pagerduty' || d.channel === 'opsgenie') && state.drawn.get(d.key) !== status);
      if (paged.length > 0 && status !== 'firing') {
        const by = lifecycle.resolution?.by ?? lifecycle.acknowledgedBy;
        const deliveries = paged.map((d) => ({ key: d.key, channel: d.channel as 'pagerduty' | 'opsgenie', to: d.to }));
        await syncPagingIncidents({ fingerprint: input.fingerprint, status, ...(by ? { by } : {}), deliveries }).catch((err: unknown) =>
          log.warn('paging service not told', { alertId, status, error: String(err) }),
        );
        for (const d of paged) state.drawn.set(d.key, status);
      }
      const stale = state.sent.filter((d): d is Extract<SentNotification, { channel: 'slack' }> => d.channel === 'slack' && !d.group && state.drawn.get(d.key) !== status);
      if (stale.length === 0 || !state.snapshot) return;
      await updateSlackMessages({
        alert: input,
        alertId,
        workflowId,
        value: lifecycle.value,
        firedAtMs: firedAtMs(),
        policy: state.snapshot.policy.name,
        messages: stale.map((d) => ({ slackChannel: d.slackChannel, ts: d.ts, step: d.step })),
        state: drawnState,
      });
      for (const d of stale) state.drawn.set(d.key, status);
    });
    return redrawing;
  }

  /**
   * run takes the policy snapshot (once per alert) with the alert's memory and the first step's gate read alongside,
   * then runs the plan's steps from state.nextStep.
   */
  async function run(): Promise<void> {
    // A shadow rule pages nobody (its alerts are recorded for its diff); no command, so other runs are unchanged.
    if (isShadow(input.rule)) return;
    const recalled = state.decision ? undefined : recallFirings(input.fingerprint);
    // (Awaited below; a failure while the snapshot is still being read must not go unhandled meanwhile.)
    recalled?.catch(() => undefined);
    const gateRequest = { labels: alertLabels(input), service: input.service, fingerprint: input.fingerprint, ...(input.rule.dependsOn ? { dependsOn: input.rule.dependsOn } : {}) };
    let firstGate = state.nextStep === 0 && !state.decision ? notificationGate(gateRequest) : undefined;
    firstGate?.catch(() => undefined);
    state.snapshot ??= await escalationSnapshot(input.rule);
    const { policy, timeoutMs, maxAttempts, dedup } = state.snapshot;
    if (!state.decision) {
      const memory = await (recalled ?? recallFirings(input.fingerprint));
      state.decision = refireDecision(memory, input.firstBreach.atMs, Date.now(), dedup);
      if (!state.decision.notify) {
        firstGate = undefined; // (read again when the suppression ends)
        // The same incident again: its earlier Slack messages show it firing again instead of new ones being sent.
        for (const m of memory.messages) {
          state.sent.push(m);
          state.drawn.set(m.key, 'resolved');
        }
        await redraw(`firing again — ${state.decision.reason}`);
        // Still firing after a whole window: no longer a flap but an incident, which escalates normally.
        if (await condition(stopped, dedup.windowMs)) return;
        state.decision = { notify: true, reason: `still firing ${Math.round(dedup.windowMs / 1000)}s after a suppressed re-fire` };
        state.sent = [];
      }
    }
    const { deliverNotification } = proxyActivities<Activities>({
      startToCloseTimeout: '10s',
      // The worker heartbeats a delivery that runs longer than a second (workers/heartbeat.ts): an attempt whose
      // worker died is retried after 3 s, not after its 10 s start-to-close — worker restarts spent the
      // notification's whole schedule-to-close budget on dead attempts and lost the page.
      heartbeatTimeout: DELIVERY_HEARTBEAT,
      scheduleToCloseTimeout: timeoutMs,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: maxAttempts },
    });
    const plan = escalationPlan(policy);
    while (state.nextStep < plan.length) {
      if (state.nextStepAtMs > Date.now()) await condition(stopped, state.nextStepAtMs - Date.now());
      if (stopped()) return;
      // Silences and inhibition (core/silences.ts) hold the step back while they last; it goes once they end.
      for (;;) {
        const mute = await (firstGate ?? notificationGate(gateRequest));
        firstGate = undefined;
        state.mutedBy = mute.muted ? mute.reason : undefined;
        const atMs = Date.now();
        if (mute.silenceId) announceMute({ silenceId: mute.silenceId, transition: 'silenced', reason: mute.reason, atMs });
        // A silence that muted the alert has ended (its own workflow may tell it too: announced once).
        for (const [silenceId, was] of Object.entries(state.mutes)) {
          if (was === 'silenced' && silenceId !== mute.silenceId) announceMute({ silenceId, transition: 'unsilenced', reason: 'the silence ended', atMs });
        }
        if (!mute.muted) break;
        const recheckMs = Math.max(1_000, Math.min(MUTE_RECHECK_MS, (mute.untilMs ?? Infinity) - Date.now()));
        if (await condition(stopped, recheckMs)) return;
      }
      const step = plan[state.nextStep]!;
      const stepRef = { index: step.index, level: step.level, round: step.round };
      // A step that names on-call schedules reaches each one's primary at this instant, besides its fixed targets.
      // (A step without them adds no command: histories recorded before schedules existed replay unchanged.)
      const targets = step.oncall?.length ? withOncall(step.targets, await oncallTargets(step.oncall)) : step.targets;
      const value = ctx.lifecycle().value;
      // A later step (level 2 on, or the policy again) is an escalation: announced once, by this workflow, as it is
      // asked for — before its pages, and also when the alert ends while they are in flight (settle waits for it).
      // Runs recorded before this replay without it, their deliveries announcing instead.
      const announced = (step.level > 1 || step.round > 0) && patched('workflow-announces-escalations');
      if (announced) {
        const request = { alertId, workflowId, alert: { ...input, carried: undefined }, value, firedAtMs: firedAtMs(), atMs: Date.now(), level: step.level, round: step.round };
        announce(() => publishEscalation(request), 'escalation');
      }
      if (policy.grouping) {
        // Grouped: the alert's notification group delivers the step, batched with its other alerts (core/grouping.ts).
        const { grouping } = policy;
        state.group ??= alertGroup(workflowInfo().taskQueue, policy.name, grouping, { alertname: input.rule.name, ...alertLabels(input) });
        await joinAlertGroup(
          { group: state.group, policy: policy.name, grouping, timeoutMs, maxAttempts },
          { alertId, workflowId, step: stepRef, targets, alert: { ...input, carried: undefined }, value, firedAtMs: firedAtMs(), policy: policy.name, atMs: Date.now(), ...(announced ? { announced } : {}) },
        );
        const answerWithinMs = grouping.groupWaitMs + grouping.groupIntervalMs + timeoutMs + 60_000;
        await condition(() => state.groupAnswers.has(step.index) || stopped(), answerWithinMs);
        const answer = state.groupAnswers.get(step.index);
        if (!answer && stopped()) {
          state.abandonedSteps.add(step.index);
          return;
        }
        if (answer) recordGroupAnswer(answer, step.index);
        else state.failed += targets.length;
      } else {
        const results = await Promise.allSettled(
          targets.map((target) =>
            deliverNotification({ key: notificationKey(alertId, step.index, target), target, step: stepRef, alert: input, alertId, workflowId, value, firedAtMs: firedAtMs(), policy: policy.name, ...(announced ? { announced } : {}) }),
          ),
        );
        for (const result of results) {
          if (result.status === 'fulfilled') {
            state.sent.push({ ...result.value, step: stepRef });
            state.drawn.set(result.value.key, 'firing');
          } else {
            state.failed++;
          }
        }
      }
      state.nextStep++;
      state.nextStepAtMs = Date.now() + step.waitMs;
      // The alert's memory: when this occurrence first notified, and its Slack messages for later re-fires to redraw.
      // (A group's batch message is the group's to redraw, so it is not remembered for re-fires.)
      const channels = [...new Set(state.sent.flatMap((d) => (d.channel === 'slack' ? [d.slackChannel] : [])))];
      await rememberNotified(input.fingerprint, step.index === 0 ? firedAtMs() : undefined, state.sent.filter((d) => d.channel === 'slack' && !d.group), channels);
      // Acknowledged while this step was being sent: its messages show it too.
      if (ctx.lifecycle().phase !== 'firing') await redraw();
    }
  }

  return {
    get hasSnapshot() {
      return state.snapshot !== undefined;
    },
    start() {
      settled = false;
      void run()
        .catch((err: unknown) => log.error('escalation failed', { alertId, error: String(err) }))
        .finally(() => {
          settled = true;
        });
    },
    async settle() {
      if (!settled) await condition(() => settled, ESCALATION_SETTLE_MS);
      // Announcements in flight go out before the run ends or continues (no wait, and no timer, when none is).
      if (unannounced > 0) await condition(() => unannounced === 0, ESCALATION_SETTLE_MS);
    },
    pause() {
      paused = true;
    },
    redraw,
    muted: announceMute,
    groupDelivered(answer) {
      state.groupAnswers.set(answer.stepIndex, answer);
      // Acknowledged (or ended) while the group was sending this step: what it sent still gets redrawn.
      if (state.abandonedSteps.has(answer.stepIndex)) {
        state.abandonedSteps.delete(answer.stepIndex);
        recordGroupAnswer(answer, answer.stepIndex);
        void redraw();
      }
    },
    view() {
      if (!state.snapshot) return undefined;
      return {
        policy: state.snapshot.policy.name,
        stepsRun: state.nextStep,
        notified: state.sent.length,
        failed: state.failed,
        ...(state.decision ? { notifies: state.decision.notify, reason: state.decision.reason } : {}),
        ...(state.mutedBy ? { mutedBy: state.mutedBy } : {}),
      };
    },
    carried() {
      if (!state.snapshot) return undefined;
      return {
        snapshot: state.snapshot,
        ...(state.decision ? { decision: state.decision } : {}),
        nextStep: state.nextStep,
        nextStepAtMs: state.nextStepAtMs,
        sent: state.sent,
        drawnAs: ctx.lifecycle().phase === 'acknowledged' ? 'acknowledged' : 'firing',
        ...(state.group ? { group: state.group } : {}),
        ...(Object.keys(state.mutes).length ? { mutes: state.mutes } : {}),
      };
    },
  };
}

/**
 * oncallTargets asks who is on call now for each schedule; a lookup that fails (Redis down) is logged and reaches
 * nobody, so the step's fixed targets still go out. The timeline reads the answer (a gap is named there).
 */
async function oncallTargets(schedules: string[]): Promise<EscalationTarget[]> {
  try {
    return (await resolveOncallTargets({ schedules, atMs: Date.now() })).flatMap((r) => r.targets);
  } catch (err) {
    log.warn('on-call lookup failed; the step goes to its fixed targets', { schedules, error: String(err) });
    return [];
  }
}

/** withOncall adds the on-call people's targets to a step's fixed ones, each destination once. */
function withOncall(fixed: readonly EscalationTarget[], oncall: readonly EscalationTarget[]): EscalationTarget[] {
  const out = [...fixed];
  for (const t of oncall) if (!out.some((f) => f.channel === t.channel && f.to === t.to)) out.push(t);
  return out;
}
