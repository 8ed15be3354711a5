/**
 * Re-fire suppression: when an alert fires again soon after it ended, paging people again is noise. Two rules, in
 * the spirit of Alertmanager's dedup and Nagios's flap detection, decide whether a firing notifies:
 * - dedup window: a re-fire within ALERT_DEDUPLICATION_WINDOW of the previous resolution is the same incident — the
 *   existing messages are redrawn as firing again instead of new ones being sent;
 * - flap damping: beyond the window, at most `maxPerHour` notifying firings per alert per hour.
 * A suppressed alert that then stays firing for a whole window is a real incident again and escalates normally.
 */
import type { SentNotification } from './escalation';

/** FiringMemory is what an alert's earlier runs left behind (kept in Redis for a day). */
export interface FiringMemory {
  lastResolvedAtMs?: number;
  /** When earlier runs notified (the last hour's). */
  notifiedAtMs: number[];
  /** The Slack messages of the last notifying run, redrawn by later runs of the same incident. */
  messages: SentNotification[];
}

/** DedupPolicy holds the two limits. */
export interface DedupPolicy {
  windowMs: number;
  maxPerHour: number;
}

/** RefireDecision says whether this firing notifies, and why (shown in the alert's state and the Temporal UI). */
export interface RefireDecision {
  notify: boolean;
  reason: string;
}

const HOUR_MS = 3_600_000;

/**
 * refireDecision decides whether a firing at `nowMs`, whose breach began at `breachStartedAtMs`, notifies given the
 * alert's memory. The dedup window counts from the last resolution to the new breach's start (not its firing, which
 * the rule's `for` delays).
 */
export function refireDecision(memory: FiringMemory, breachStartedAtMs: number, nowMs: number, policy: DedupPolicy): RefireDecision {
  if (memory.lastResolvedAtMs !== undefined && breachStartedAtMs - memory.lastResolvedAtMs < policy.windowMs) {
    const ago = Math.max(0, Math.round((breachStartedAtMs - memory.lastResolvedAtMs) / 1000));
    return { notify: false, reason: `breached again ${ago}s after the last resolution, within the ${Math.round(policy.windowMs / 1000)}s dedup window` };
  }
  const recent = memory.notifiedAtMs.filter((t) => nowMs - t < HOUR_MS).length;
  if (recent >= policy.maxPerHour) return { notify: false, reason: `flapping: ${recent} notifications in the last hour (at most ${policy.maxPerHour})` };
  return { notify: true, reason: recent === 0 ? 'first firing in the last hour' : `firing ${recent + 1} in the last hour` };
}

/** REFRESH_INTERVALS: a steady breach is re-told to its open alert once in this many evaluations. */
export const REFRESH_INTERVALS = 40;

/**
 * SILENT_REFRESHES: an open alert that hears nothing from the evaluator for this many refresh periods, while its
 * rule was evaluated, was lost track of (a Redis flush, a deleted rule) and ends as stale — a safety net only: the
 * evaluator itself reports a vanished series after the stale period (Observation.stale).
 */
export const SILENT_REFRESHES = 3;

/** silenceLimitMs is how long an alert of a rule evaluated every `intervalMs` waits for a word before asking. */
export const silenceLimitMs = (intervalMs: number) => SILENT_REFRESHES * REFRESH_INTERVALS * intervalMs;

/** Heartbeat is what the evaluator knows of an open alert: since when it breaches, when it was last told, last seen. */
export interface Heartbeat {
  firstMs: number;
  lastMs: number;
  breaching: boolean;
  /** The last evaluation that returned the alert's series (absent in heartbeats written before it was kept). */
  seenMs?: number;
  /** When the evaluator last told it that its series vanished. */
  staleMs?: number;
}

/**
 * mustSignal says whether an evaluation's verdict goes to the alert's workflow. A change always does, and so does
 * every verdict while the alert may still be pending (its `for` must be confirmed by an evaluation); a steady breach
 * of an alert surely firing goes once in REFRESH_INTERVALS evaluations (20 minutes at 30 s) — a sign of life against
 * the workflow's silence limit, nothing more: the evaluator tells a vanished series itself (see vanished), and the
 * values reach the dashboard through Redis. So ten thousand steady alerts cost 250 signals a tick, not ten thousand
 * (each signal is a workflow task: the Temporal server on PostgreSQL on two cores does a few dozen a second). Alerts
 * that opened together are spread over the ticks by their fingerprint, a fortieth of them told on each.
 */
export function mustSignal(
  beat: Heartbeat | undefined,
  breaching: boolean,
  nowMs: number,
  durationMs: number,
  intervalMs: number,
  fingerprint = '',
): boolean {
  if (!beat || !breaching || !beat.breaching) return true;
  if (nowMs - beat.firstMs <= durationMs + 2 * intervalMs) return true;
  const sinceLast = Math.round((nowMs - beat.lastMs) / intervalMs);
  if (sinceLast < 1) return false;
  // A missed slot (an evaluation skipped or late) is made up at once.
  if (sinceLast > REFRESH_INTERVALS) return true;
  const tick = Math.round((nowMs - beat.firstMs) / intervalMs);
  const slot = (parseInt(fingerprint.slice(-4), 16) || 0) % REFRESH_INTERVALS;
  return (tick + slot) % REFRESH_INTERVALS === 0;
}

/**
 * vanished says whether an open alert whose series this evaluation did not return is to be told it went stale: its
 * rule has been evaluated without it, with no gap (`coverageSinceMs`, see nextCoverage), for `staleAfterMs` — an
 * outage of evaluation resolves nothing. Told once a refresh period until its workflow ends.
 */
export function vanished(beat: Heartbeat, nowMs: number, coverageSinceMs: number, staleAfterMs: number, intervalMs: number): boolean {
  const unseenMs = nowMs - Math.max(beat.seenMs ?? beat.lastMs, coverageSinceMs);
  if (unseenMs < staleAfterMs) return false;
  return beat.staleMs === undefined || nowMs - beat.staleMs >= REFRESH_INTERVALS * intervalMs;
}
