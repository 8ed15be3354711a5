/**
 * silenceWorkflow (`silence/<id>`) is one silence's life: it is stored, reminds its owners shortly before it
 * expires, and removes itself at its end — or at once when someone expires it by hand (the `expire` signal).
 * A Temporal timer rather than a TTL, so the reminder and the expiry survive restarts and show in the Temporal UI.
 */
import { condition, defineSignal, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EscalationTarget } from '../core/escalation';
import type { Silence } from '../core/silences';

const { saveSilence, expireSilence, sendSilenceReminder, tellSilencedAlerts, announceSilence } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** SilenceInput is the silence, how long before its end to remind, and whom (default: the default policy's first step). */
export interface SilenceInput {
  silence: Silence;
  reminderLeadMs: number;
  remind?: EscalationTarget[];
  /** false: the silence is not announced in the channels of the alerts it mutes (default: it is). */
  announce?: boolean;
}

/** SilenceOutcome says how the silence ended and whether the reminder went out. */
export interface SilenceOutcome {
  ended: 'expired' | 'expired-by-hand';
  reminded: boolean;
}

/** expireSignal ends a silence now (`replacedBy`: an edit replaced it with that silence). */
export const expireSignal = defineSignal<[{ by: string; replacedBy?: string }]>('expire');

export async function silenceWorkflow(input: SilenceInput): Promise<SilenceOutcome> {
  let expiredBy: string | undefined;
  let replacedBy: string | undefined;
  setHandler(expireSignal, (signal) => {
    expiredBy ??= signal.by;
    replacedBy ??= signal.replacedBy;
  });
  const { silence } = input;
  await saveSilence(silence);
  // The firing alerts it mutes announce it on the alert stream (when it starts), and again when it ends. Runs
  // recorded before this existed replay without it.
  const announces = patched('silence-tells-alerts');
  const startsInMs = silence.startsAtMs - Date.now();
  const started = announces && (startsInMs <= 0 || !(await condition(() => expiredBy !== undefined, startsInMs)));
  // ...and their channels hear it, once when it starts and once when it ends (runs recorded before replay without).
  const inChannels = started && input.announce !== false && patched('silence-announced-in-channels');
  if (started) await tellSilencedAlerts({ silence, transition: 'silenced' });
  if (inChannels) await announceSilence({ silence, transition: 'created' });
  let reminded = false;
  const remindAtMs = silence.endsAtMs - input.reminderLeadMs;
  if (remindAtMs > Date.now() && !(await condition(() => expiredBy !== undefined, remindAtMs - Date.now()))) {
    await sendSilenceReminder({ silence, ...(input.remind ? { targets: input.remind } : {}) });
    reminded = true;
  }
  if (expiredBy === undefined && silence.endsAtMs > Date.now()) await condition(() => expiredBy !== undefined, silence.endsAtMs - Date.now());
  await expireSilence(silence.id);
  if (started) await tellSilencedAlerts({ silence, transition: 'unsilenced' });
  if (inChannels) await announceSilence({ silence, transition: 'ended', ...(expiredBy ? { by: expiredBy } : {}), ...(replacedBy ? { replacedBy } : {}) });
  return { ended: expiredBy === undefined ? 'expired' : 'expired-by-hand', reminded };
}
