/**
 * The short I/O of an alert's workflow — its Redis view and memory, its alert_history rows, its policy snapshot, the
 * notification gate, joining its group — as local activities: run by the worker inside the workflow task that asks
 * for them, each recorded as one marker, with no activity task through the server. An alert that opens used to cost
 * the server ten workflow tasks and eight activity tasks (a storm of 10,000 alerts: 180,000 tasks); it now costs two
 * or three workflow tasks. Deliveries to Slack, e-mail and webhooks stay ordinary activities (their own timeouts,
 * retries and exactly-once keys), as does every activity of runs that started before (see alertIo).
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** AlertIo is the short I/O an alert's workflow does. */
export type AlertIo = Pick<
  Activities,
  'setActiveAlert' | 'closeActiveAlert' | 'recordAlertTransition' | 'rememberResolved' | 'ruleCoverage' | 'escalationSnapshot' | 'recallFirings' | 'rememberNotified' | 'notificationGate' | 'joinAlertGroup'
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
  const { setActiveAlert, closeActiveAlert, recordAlertTransition, rememberResolved, escalationSnapshot, recallFirings, rememberNotified, notificationGate, joinAlertGroup } = p;
  return { setActiveAlert, closeActiveAlert, recordAlertTransition, rememberResolved, escalationSnapshot, recallFirings, rememberNotified, notificationGate, joinAlertGroup };
}

/**
 * alertIo is the I/O of one run: local activities for a run that started with them (`patched` true: the patch
 * marker is in its history), ordinary ones for a run replaying a history from before, so that history replays.
 */
export const alertIo = (local_: boolean): AlertIo => (local_ ? local : remote);
