/**
 * The short I/O of an alert's workflow — its Redis view and memory, its alert_history rows, its policy snapshot, the
 * notification gate, joining its group — as local activities: run by the worker inside the workflow task that asks
 * for them, each recorded as one marker, with no activity task through the server. An alert that opens used to cost
 * the server ten workflow tasks and eight activity tasks (a storm of 10,000 alerts: 180,000 tasks); it now costs two
 * or three workflow tasks. Deliveries to Slack, e-mail and webhooks stay ordinary activities (their own timeouts,
 * retries and exactly-once keys), as does every activity of runs that started before (see alertIo).
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, proxyLocalActivities, sleep, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** AlertIo is the short I/O an alert's workflow does. */
export type AlertIo = Pick<
  Activities,
  'setActiveAlert' | 'closeActiveAlert' | 'recordAlertTransition' | 'settleUnfiredAlert' | 'rememberResolved' | 'ruleCoverage' | 'escalationSnapshot' | 'recallFirings' | 'rememberNotified' | 'notificationGate' | 'joinAlertGroup'
>;

const io: ActivityOptions = { startToCloseTimeout: '10s', retry: { initialInterval: '1s', maximumInterval: '30s' } };
// Asked only when an alert would go stale: a quick answer or none (then the alert waits another stale period).
const coverage: ActivityOptions = { startToCloseTimeout: '5s', retry: { initialInterval: '1s', maximumAttempts: 3 } };
// A local activity that keeps failing (Redis or ClickHouse down) retries on a workflow timer after its first retry,
// instead of holding the workflow task open: the alert goes on hearing its messages meanwhile.
const retryOnTimer: LocalActivityOptions = { localRetryThreshold: '1s' };

const remote: AlertIo = { ...pick(proxyActivities<Activities>(io)), ruleCoverage: proxyActivities<Activities>(coverage).ruleCoverage };
const local: AlertIo = {
  ...pick(proxyLocalActivities<Activities>({ ...io, ...retryOnTimer })),
  ruleCoverage: proxyLocalActivities<Activities>({ ...coverage, ...retryOnTimer }).ruleCoverage,
};

function pick(p: Activities): Omit<AlertIo, 'ruleCoverage'> {
  const { setActiveAlert, closeActiveAlert, recordAlertTransition, settleUnfiredAlert, rememberResolved, escalationSnapshot, recallFirings, rememberNotified, notificationGate, joinAlertGroup } = p;
  return { setActiveAlert, closeActiveAlert, recordAlertTransition, settleUnfiredAlert, rememberResolved, escalationSnapshot, recallFirings, rememberNotified, notificationGate, joinAlertGroup };
}

/**
 * serial runs an alert's local activities one at a time, in the order the workflow asks for them. Its lifecycle
 * and its escalation are concurrent coroutines: with local activities of both in flight, the first execution
 * resumes each coroutine in the order the activities *finished* (wall-clock), a replay in the order they were
 * *scheduled* — so a coroutine could start its timer before the other scheduled its deliveries in one and after in
 * the other, and a replay on another worker (its worker was killed) failed with a nondeterminism error and the
 * alert stopped (found by the worker-kill suite: one page of 200 never sent; the same hazard as
 * sdk-python#1578 / sdk-typescript#1744). One in flight at a time makes both orders the scheduling order.
 * An attempt that fails leaves the queue and waits its backoff on a workflow timer before queueing again, so a
 * call that keeps failing (a policy that cannot be read, Redis down) never holds the other coroutine's I/O; one
 * that may give up (`ruleCoverage`, three attempts) gets its failure as before.
 */
function serial(): AlertIo {
  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = <R>(call: () => Promise<R>): Promise<R> => {
    const run = tail.then(call, call);
    tail = run.catch(() => undefined);
    return run;
  };
  const queued =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, attempts: number) =>
    async (...args: A): Promise<R> => {
      for (let attempt = 1, backoffMs = 1_000; ; attempt++, backoffMs = Math.min(2 * backoffMs, 30_000)) {
        try {
          return await enqueue(() => fn(...args));
        } catch (err) {
          const nonRetryable = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
          if (nonRetryable || attempt >= attempts) throw err;
          await sleep(backoffMs);
        }
      }
    };
  // One attempt per local activity: the retrying is the loop above, outside the queue.
  const once: AlertIo = {
    ...pick(proxyLocalActivities<Activities>({ ...io, retry: { maximumAttempts: 1 } })),
    ruleCoverage: proxyLocalActivities<Activities>({ ...coverage, retry: { maximumAttempts: 1 } }).ruleCoverage,
  };
  return Object.fromEntries(
    Object.entries(once).map(([name, fn]) => [name, queued(fn as (...args: unknown[]) => Promise<unknown>, name === 'ruleCoverage' ? 3 : Infinity)]),
  ) as unknown as AlertIo;
}

/**
 * alertIo is the I/O of one run (a new queue per call: ask once per run): local activities one at a time for a run that started with them serialised
 * (`mode` 'serial': that patch's marker is in its history), concurrent local activities for a run from before
 * (`mode` 'local'; replays as well as it did), ordinary activities for a run from before local activities.
 */
export const alertIo = (mode: 'serial' | 'local' | 'remote'): AlertIo => (mode === 'serial' ? serial() : mode === 'local' ? local : remote);
