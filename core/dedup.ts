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

/** Heartbeat is what the evaluator last told an open alert: since when it breaches, when it last said so. */
export interface Heartbeat {
  firstMs: number;
  lastMs: number;
  breaching: boolean;
}

/**
 * mustSignal says whether an evaluation's verdict goes to the alert's workflow. A change always does, and so does
 * every verdict while the alert may still be pending (its `for` must be confirmed by an evaluation); a steady breach
 * of an alert surely firing goes every other interval — enough for the workflow's no-data check (4 intervals) —
 * which halves the Temporal work of a thousand open alerts. Their values reach the dashboard through Redis anyway.
 * Alerts that opened together are split by their fingerprint between even and odd evaluations (counted from the
 * breach's first), so half of them are told on each tick instead of all of them on every other one.
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
  if (sinceLast >= 3) return true;
  if (sinceLast < 1) return false;
  const tick = Math.round((nowMs - beat.firstMs) / intervalMs);
  const slot = fingerprint === '' ? 0 : parseInt(fingerprint.slice(-1), 16) % 2 || 0;
  return (tick + slot) % 2 === 0;
}
