/**
 * Missed evaluations are never silent (issue 20, part 8): every tick a rule group's schedule was due is either run
 * — and recorded by the run, ok or failed with its error — or judged missed, with why: the schedule was paused, the
 * previous tick was still running (the overlap policy skips), or nothing ran it (Temporal or its workers away).
 * Pure: the ticks are recorded by activities/evaluation.ts (store/evaluation-ticks.ts) and judged here against the
 * schedule's grid and what Temporal says of the schedule.
 */

/** RecordedTick is one evaluation run as it recorded itself. */
export interface RecordedTick {
  /** The instant the schedule was due (the run evaluates the data as of then). */
  scheduledMs: number;
  startedMs: number;
  finishedMs: number;
  outcome: 'ok' | 'failed';
  error?: string;
  /** Series the run evaluated. */
  series?: number;
}

/** ScheduleFacts is what Temporal says of a group's schedule. */
export interface ScheduleFacts {
  everyMs: number;
  offsetMs: number;
  createdMs: number;
  paused: boolean;
  note?: string;
  /** Temporal's own counts since the schedule was created. */
  missedCatchupWindow: number;
  skippedOverlap: number;
  /** An instant Temporal says the schedule fires at (its next action): the grid's phase, whatever its rounding. */
  anchorMs?: number;
}

/** TickVerdict is one due tick, judged. */
export interface TickVerdict {
  at: string;
  outcome: 'ok' | 'failed' | 'skipped' | 'missed' | 'pending';
  why?: string;
  duration_ms?: number;
  series?: number;
}

/** MAX_TICKS bounds the ticks judged in one answer (a day of a 10-second group). */
export const MAX_TICKS = 8640;

/** tickGrid lists the instants in [fromMs, toMs) of an interval schedule (epoch + offset + k × every, as Temporal's). */
export function tickGrid(everyMs: number, offsetMs: number, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  let t = Math.ceil((fromMs - offsetMs) / everyMs) * everyMs + offsetMs;
  for (; t < toMs && out.length < MAX_TICKS; t += everyMs) out.push(t);
  return out;
}

/**
 * judgeTicks judges each tick due in [fromMs, toMs): recorded ones as they ran; one not recorded is pending while
 * its run may still be going (its execution timeout is two intervals), else skipped (paused schedule, or the
 * previous run still going) or missed.
 */
export function judgeTicks(facts: ScheduleFacts, recorded: readonly RecordedTick[], fromMs: number, toMs: number, nowMs: number): TickVerdict[] {
  // Temporal fires on whole seconds, truncating the offset (a described offset keeps its milliseconds: 2,600 ms
  // fires at :02, measured on the dev server): the phase is taken from an instant it says it fires at when known,
  // and each recorded tick is matched to the nearest instant of the grid.
  const everyMs = Math.max(1_000, Math.floor(facts.everyMs / 1_000) * 1_000);
  const offsetMs = facts.anchorMs !== undefined ? ((facts.anchorMs % everyMs) + everyMs) % everyMs : Math.floor(facts.offsetMs / 1_000) * 1_000;
  const nearest = (ms: number) => Math.round((ms - offsetMs) / everyMs) * everyMs + offsetMs;
  const byInstant = new Map(recorded.map((r) => [nearest(r.scheduledMs), r]));
  const sorted = [...recorded].sort((a, b) => a.scheduledMs - b.scheduledMs);
  const settleMs = 2 * everyMs + 5_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return tickGrid(everyMs, offsetMs, Math.max(fromMs, facts.createdMs), Math.min(toMs, nowMs)).map((t): TickVerdict => {
    const run = byInstant.get(t);
    if (run) {
      const timing = { duration_ms: Math.max(0, run.finishedMs - run.startedMs), ...(run.series !== undefined ? { series: run.series } : {}) };
      return run.outcome === 'ok' ? { at: iso(t), outcome: 'ok', ...timing } : { at: iso(t), outcome: 'failed', why: run.error ?? 'failed', ...timing };
    }
    if (t > nowMs - settleMs) return { at: iso(t), outcome: 'pending', why: 'due moments ago: its run may still be going' };
    if (facts.paused) return { at: iso(t), outcome: 'skipped', why: `the schedule is paused${facts.note ? ` (${facts.note})` : ''}` };
    const busy = sorted.find((r) => r.scheduledMs < t && r.finishedMs > t);
    if (busy) {
      const s = (ms: number) => `${Math.round(ms / 100) / 10} s`;
      const waited = busy.startedMs - busy.scheduledMs;
      const how = waited >= 1_000 ? `it waited ${s(waited)} for a worker, then ran ${s(busy.finishedMs - busy.startedMs)}` : `it took ${s(busy.finishedMs - busy.startedMs)}`;
      return { at: iso(t), outcome: 'skipped', why: `the tick of ${iso(busy.scheduledMs)} had not finished (${how}; the overlap policy skips)` };
    }
    return {
      at: iso(t),
      outcome: 'missed',
      why:
        `no evaluation ran: Temporal did not start it or no worker ran it within ${Math.round(settleMs / 1000)} s ` +
        `(Temporal counts ${facts.missedCatchupWindow} ticks of this schedule past its catch-up window and ${facts.skippedOverlap} skipped by overlap)`,
    };
  });
}
