/**
 * Time zones with Intl only (core/ has no I/O and no Temporal polyfill): the wall clock of a zone at an instant, and
 * the instant a wall clock reads a time — across daylight-saving gaps and overlaps. Used by on-call schedules
 * (core/oncall.ts) and to validate the zones of the configuration.
 */

const DAY_MS = 86_400_000;

/** WEEKDAYS are the weekdays' short names, Sunday first (as Date#getUTCDay counts). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** LocalTime is a wall-clock reading in a zone. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  weekday: number;
}

/** localTimeOf reads the wall clock of `timeZone` at the instant `ms`. */
export function localTimeOf(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatterOf(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase()),
  };
}

/** offsetAt is the zone's offset from UTC at the instant `ms`, in milliseconds (east positive). */
export function offsetAt(ms: number, timeZone: string): number {
  const t = localTimeOf(Math.floor(ms / 1000) * 1000, timeZone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * zonedInstant is the first instant the wall clock of `timeZone` reads year-month-day hour:minute or later that day:
 * in a fall-back overlap the earlier of the two readings; in a spring-forward gap the instant the clock jumps past it
 * (a 02:30 handoff happens at the jump from 02:00 to 03:00, when 02:30 has passed).
 */
export function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  // The offsets a day either side: a zone changes its offset at most once within two days.
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const valid = [wall - before, wall - after].filter((ms) => ms + offsetAt(ms, timeZone) === wall).sort((a, b) => a - b);
  if (valid.length > 0) return valid[0]!;
  // In the gap: the transition lies between reading the wall time with the new offset and with the old one.
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid, timeZone) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** addLocalDays moves a local date by whole days (the calendar's, whatever the clocks do). */
export function addLocalDays(local: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** isTimeZone says whether the runtime knows an IANA time zone name. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}
