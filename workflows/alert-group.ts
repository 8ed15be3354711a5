/**
 * alertGroupWorkflow is one notification group (`alert-group/<task queue>/<policy>/<hash of the group_by values>`):
 * the alerts of an escalation policy that share their `group_by` labels. Alert workflows hand it their escalation
 * steps; it delivers them in batches timed by core/grouping.ts (group_wait, group_interval, repeat_interval) — one
 * message per target for all the alerts of a batch — answers each alert with what was sent, and redraws its batch
 * messages in place as their alerts are acknowledged, resolved or fire again. A batch of one alert is that alert's
 * own notification, exactly as without grouping. The group ends when all its alerts have ended.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GroupNotificationRequest } from '../activities/notify';
import { DELIVERY_HEARTBEAT, notificationKey, type Delivery, type EscalationTarget } from '../core/escalation';
import {
  nextGroupSend,
  type AlertGroupInput,
  type GroupDelivered,
  type GroupRequest,
  type GroupSend,
} from '../core/grouping';
import { GROUP_ITEMS_SENT, type NotificationState } from '../core/notification';
import { enqueueSignal, groupDeliveredSignal, groupStateQuery, memberSignal } from './messages';


/** Member is an alert of the group: its latest request (what it looks like) and its state. */
interface Member {
  request: GroupRequest;
  value: number;
  state: NotificationState;
  /** Changed since its batch messages were last drawn. */
  dirty: boolean;
}

/** BatchMessage is a Slack message listing several alerts, redrawn when one of them changes. */
interface BatchMessage {
  slackChannel: string;
  ts: string;
  alertIds: string[];
}

/** GroupView is the group as the `state` query shows it. */
export interface GroupView {
  labels: Record<string, string>;
  members: Array<{ alertId: string; status: NotificationState['status'] }>;
  waiting: number;
  batches: number;
  next?: GroupSend;
}

interface Carried {
  members: Array<[string, Member]>;
  pending: GroupRequest[];
  answered: Array<[string, GroupDelivered]>;
  messages: BatchMessage[];
  lastBatchAtMs?: number;
  lastSentAtMs?: number;
  lastTargets: EscalationTarget[];
  batchNo: number;
}


/** GROUP_MIN_EVENTS_PER_RUN: a group run continues as new only past this many history events. */
const GROUP_MIN_EVENTS_PER_RUN = 2_000;

/** ANSWER_CHUNK is how many alerts a group answers at once. */
const ANSWER_CHUNK = 500;

/** alertGroupWorkflow batches its alerts' notifications until every alert of the group has ended. */
export async function alertGroupWorkflow(input: AlertGroupInput): Promise<{ batches: number; alerts: number }> {
  const carried = input.carried as Carried | undefined;
  const { grouping, group } = input;
  const members = new Map<string, Member>(carried?.members ?? []);
  let pending: GroupRequest[] = carried?.pending ?? [];
  /** What each (alert, step) was answered, to answer a repeated request (a retried or continued alert) the same. */
  const answered = new Map<string, GroupDelivered>(carried?.answered ?? []);
  const messages: BatchMessage[] = carried?.messages ?? [];
  let lastBatchAtMs = carried?.lastBatchAtMs;
  let lastSentAtMs = carried?.lastSentAtMs;
  let lastTargets: EscalationTarget[] = carried?.lastTargets ?? [];
  let batchNo = carried?.batchNo ?? 0;
  const reanswer: GroupRequest[] = [];
  let changes = 0;
  let next: GroupSend | undefined;

  const { deliverNotification, deliverGroupNotification } = proxyActivities<Activities>({
    startToCloseTimeout: '10s',
    heartbeatTimeout: DELIVERY_HEARTBEAT,
    scheduleToCloseTimeout: input.timeoutMs,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: input.maxAttempts },
  });
  const { updateGroupSlackMessages } = proxyActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '1s', maximumAttempts: 5 } });
  const requestKey = (alertId: string, stepIndex: number) => `${alertId}:${stepIndex}`;
  /** The waiting requests' keys, kept beside `pending` (a storm of ten thousand requests was quadratic). */
  let pendingKeySet: Set<string> | undefined;
  const pendingKeys = (): Set<string> => (pendingKeySet ??= new Set(pending.map((p) => requestKey(p.alertId, p.step.index))));

  setHandler(enqueueSignal, (request) => {
    const member = members.get(request.alertId);
    members.set(request.alertId, {
      request,
      value: request.value,
      state: member?.state ?? { status: 'firing' },
      dirty: member?.dirty ?? false,
    });
    const key = requestKey(request.alertId, request.step.index);
    if (answered.has(key)) reanswer.push(request);
    else if (!pendingKeys().has(key)) {
      pending.push(request);
      pendingKeySet?.add(key);
    }
    changes++;
  });
  setHandler(memberSignal, (update) => {
    const member = members.get(update.alertId);
    if (!member) return;
    member.state = update.state;
    member.value = update.value;
    member.dirty = true;
    changes++;
  });
  setHandler(groupStateQuery, () => ({
    labels: group.labels,
    members: [...members].map(([alertId, m]) => ({ alertId, status: m.state.status })),
    waiting: pending.length,
    batches: batchNo,
    ...(next ? { next } : {}),
  }));

  const firing = () => [...members.values()].filter((m) => m.state.status === 'firing');
  /** batchOf is what an activity needs to draw a batch: its first alerts as they stand, and the counts of all. */
  const batchOf = (alertIds: readonly string[]) => {
    const known = alertIds.filter((id) => members.has(id));
    return {
      items: known.slice(0, GROUP_ITEMS_SENT).map(itemOf),
      counts: { total: known.length, firing: known.filter((id) => members.get(id)!.state.status === 'firing').length },
    };
  };
  const itemOf = (alertId: string): GroupNotificationRequest['items'][number] => {
    const m = members.get(alertId)!;
    const { alertId: id, workflowId, step, alert, firedAtMs, policy } = m.request;
    return { alertId: id, workflowId, step, alert, firedAtMs, policy, value: m.value, state: m.state };
  };

  // Started by signalWithStart: the first request is what the group is for.
  await condition(() => changes > 0 || members.size > 0);
  for (;;) {
    for (const request of reanswer.splice(0)) await answer(request.workflowId, answered.get(requestKey(request.alertId, request.step.index))!);
    // An alert acknowledged or ended while waiting is no longer announced.
    pending = pending.filter((p) => members.get(p.alertId)?.state.status === 'firing');
    pendingKeySet = undefined;
    await redrawChanged();
    // An alert that changed while its messages were being drawn is drawn again first.
    if ([...members.values()].some((m) => m.dirty)) continue;
    if (pending.length === 0 && [...members.values()].every((m) => m.state.status === 'resolved')) break;

    const now = Date.now();
    const firstWaiting = pending.filter((p) => p.step.index === 0).map((p) => p.atMs);
    next = nextGroupSend(
      {
        nowMs: now,
        ...(firstWaiting.length ? { firstWaitingSinceMs: Math.min(...firstWaiting) } : {}),
        escalationWaiting: pending.some((p) => p.step.index > 0),
        ...(lastBatchAtMs !== undefined ? { lastBatchAtMs } : {}),
        ...(lastSentAtMs !== undefined ? { lastSentAtMs } : {}),
        liveMembers: firing().length,
      },
      grouping,
    );
    if (next && next.atMs <= now) {
      await send(next);
      continue;
    }
    // A big group carries a big state: its next run starts over the suggestion's size threshold, and would hand over
    // again at once, in a loop; it hands over once this run has grown by its own events.
    const grown = !patched('group-continue-after-growth') || workflowInfo().historyLength > GROUP_MIN_EVENTS_PER_RUN;
    if (workflowInfo().continueAsNewSuggested && grown) {
      const state: Carried = { members: [...members], pending, answered: [...answered], messages, lastTargets, batchNo, ...(lastBatchAtMs !== undefined ? { lastBatchAtMs } : {}), ...(lastSentAtMs !== undefined ? { lastSentAtMs } : {}) };
      return continueAsNew<typeof alertGroupWorkflow>({ ...input, carried: state });
    }
    const seen = changes;
    if (next) await condition(() => changes !== seen, Math.max(1, next.atMs - now));
    else await condition(() => changes !== seen);
  }
  return { batches: batchNo, alerts: answered.size };

  /** send delivers one batch (the waiting requests) or one repeat (the alerts still firing, to the last targets). */
  async function send(decision: GroupSend): Promise<void> {
    const now = Date.now();
    batchNo++;
    const requests: GroupRequest[] = decision.kind === 'batch' ? pending.splice(0) : firing().map((m) => ({ ...m.request, targets: lastTargets }));
    if (decision.kind === 'batch') pendingKeySet = undefined;
    log.info('group sends', { group: group.workflowId, kind: decision.kind, alerts: requests.length, reason: decision.reason });
    const byTarget = new Map<string, { target: EscalationTarget; requests: GroupRequest[] }>();
    for (const request of requests) {
      for (const target of request.targets) {
        const key = `${target.channel}:${target.to}`;
        const entry = byTarget.get(key) ?? { target, requests: [] };
        if (!entry.requests.some((r) => r.alertId === request.alertId)) entry.requests.push(request);
        byTarget.set(key, entry);
      }
    }
    const outcome = new Map<string, GroupDelivered>(requests.map((r) => [requestKey(r.alertId, r.step.index), { alertId: r.alertId, stepIndex: r.step.index, sent: [], failed: 0 }]));
    await Promise.all(
      [...byTarget.values()].map(async ({ target, requests: batch }) => {
        try {
          let delivery: Delivery;
          if (batch.length === 1 && decision.kind === 'batch') {
            const r = batch[0]!;
            delivery = await deliverNotification({ key: notificationKey(r.alertId, r.step.index, target), target, step: r.step, alert: r.alert, alertId: r.alertId, workflowId: r.workflowId, value: r.value, firedAtMs: r.firedAtMs, policy: r.policy, ...(r.announced ? { announced: true } : {}) });
          } else {
            const key = `${group.workflowId}:${decision.kind}:${batchNo}:${target.channel}:${target.to}`;
            delivery = await deliverGroupNotification({ key, target, group, ...batchOf(batch.map((r) => r.alertId)) });
            if (delivery.channel === 'slack') messages.push({ slackChannel: delivery.slackChannel, ts: delivery.ts, alertIds: batch.map((r) => r.alertId) });
          }
          for (const r of batch) outcome.get(requestKey(r.alertId, r.step.index))!.sent.push(delivery);
        } catch (err) {
          log.warn('group delivery failed', { group: group.workflowId, target: `${target.channel}:${target.to}`, error: String(err) });
          for (const r of batch) outcome.get(requestKey(r.alertId, r.step.index))!.failed++;
        }
      }),
    );
    lastSentAtMs = now;
    if (decision.kind === 'repeat') return;
    lastBatchAtMs = now;
    const firstTargets = requests.filter((r) => r.step.index === 0).flatMap((r) => r.targets);
    if (firstTargets.length) lastTargets = [...new Map(firstTargets.map((t) => [`${t.channel}:${t.to}`, t])).values()];
    for (const request of requests) answered.set(requestKey(request.alertId, request.step.index), outcome.get(requestKey(request.alertId, request.step.index))!);
    if (patched('group-answers-in-parallel')) {
      // A batch of thousands is answered in chunks sent together, not one signal per workflow task; a chunk stays
      // under the server's limit of pending signals per workflow (limit.numPendingSignals, 2,000 by default).
      for (let i = 0; i < requests.length; i += ANSWER_CHUNK) {
        await Promise.all(requests.slice(i, i + ANSWER_CHUNK).map((r) => answer(r.workflowId, answered.get(requestKey(r.alertId, r.step.index))!)));
      }
    } else {
      for (const request of requests) await answer(request.workflowId, answered.get(requestKey(request.alertId, request.step.index))!);
    }
  }

  /** answer tells an alert workflow what its step left behind; an alert that has ended meanwhile needs no answer. */
  async function answer(workflowId: string, result: GroupDelivered): Promise<void> {
    try {
      await getExternalWorkflowHandle(workflowId).signal(groupDeliveredSignal, result);
    } catch (err) {
      log.info('alert gone before its group answered', { workflowId, error: String(err) });
    }
  }

  /** redrawChanged redraws the batch messages of alerts that changed, then forgets messages and alerts that are done. */
  async function redrawChanged(): Promise<void> {
    const stale = messages.filter((m) => m.alertIds.some((id) => members.get(id)?.dirty));
    for (const m of members.values()) m.dirty = false;
    if (stale.length > 0) {
      await updateGroupSlackMessages({ group, messages: stale.map((m) => ({ slackChannel: m.slackChannel, ts: m.ts, ...batchOf(m.alertIds) })) });
    }
    // A message whose alerts have all ended has been drawn for the last time (unless one changed while it was being
    // drawn: then the next round draws it); an ended alert no message shows is forgotten.
    const drawnEnded = (id: string) => {
      const m = members.get(id);
      return !m || (m.state.status === 'resolved' && !m.dirty);
    };
    for (let i = messages.length - 1; i >= 0; i--) {
      if (messages[i]!.alertIds.every(drawnEnded)) messages.splice(i, 1);
    }
    for (const [id, m] of members) {
      if (m.state.status === 'resolved' && !m.dirty && !messages.some((msg) => msg.alertIds.includes(id)) && !pending.some((p) => p.alertId === id)) {
        members.delete(id);
        for (const key of answered.keys()) if (key.startsWith(`${id}:`)) answered.delete(key);
      }
    }
  }
}
