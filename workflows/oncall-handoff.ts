/**
 * oncallHandoffWorkflow (`oncall-handoff/<task queue>/<schedule>`) tells each person coming on call for one schedule
 * that their shift starts: it finds the schedule's next change of person, sleeps until the notice is due (the
 * schedule's `handoff_notice` before the handoff), sends it once, and continues as new from that handoff. An edit of
 * the schedule (the `scheduleChanged` signal, sent by the admin API) wakes it to look again; it ends when the schedule
 * is deleted. Handoffs fall on local wall-clock times, shift with daylight saving and overrides, so they cannot be a
 * fixed Temporal Schedule: one timer to the next computed instant is what survives restarts and shows in the UI.
 */
import { condition, continueAsNew, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { nextHandoffOf, sendHandoffNotice } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** OncallHandoffInput names the schedule and the instant after which handoffs are still to be told. */
export interface OncallHandoffInput {
  schedule: string;
  afterMs?: number;
}

/** scheduleChangedSignal tells the workflow its schedule was created, edited or deleted. */
export const scheduleChangedSignal = defineSignal('scheduleChanged');

/** oncallHandoffWorkflowId is the one workflow of a schedule in a deployment. */
export const oncallHandoffWorkflowId = (taskQueue: string, schedule: string) => `oncall-handoff/${taskQueue}/${schedule}`;

/** NOTHING_AHEAD_RECHECK_MS is how long a schedule with no handoff in sight waits before it looks again. */
const NOTHING_AHEAD_RECHECK_MS = 7 * 24 * 3_600_000;

export async function oncallHandoffWorkflow(input: OncallHandoffInput): Promise<{ ended: 'deleted' }> {
  let changed = false;
  setHandler(scheduleChangedSignal, () => {
    changed = true;
  });
  const afterMs = Math.max(input.afterMs ?? 0, Date.now());
  const next = await nextHandoffOf({ schedule: input.schedule, afterMs });
  if (next.kind === 'deleted') return { ended: 'deleted' };
  if (next.kind === 'none') {
    await condition(() => changed, NOTHING_AHEAD_RECHECK_MS);
    return continueAsNew<typeof oncallHandoffWorkflow>({ schedule: input.schedule });
  }
  const edited = next.noticeAtMs > Date.now() && (await condition(() => changed, next.noticeAtMs - Date.now()));
  if (edited) return continueAsNew<typeof oncallHandoffWorkflow>({ schedule: input.schedule, afterMs: input.afterMs });
  if (next.targets.length > 0) await sendHandoffNotice({ schedule: input.schedule, timeZone: next.timeZone, handoff: next.handoff, targets: next.targets });
  // The next one is looked for after this handoff, which may still be ahead (told in advance).
  return continueAsNew<typeof oncallHandoffWorkflow>({ schedule: input.schedule, afterMs: next.handoff.atMs });
}
