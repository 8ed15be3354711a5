/**
 * On-call schedules: who is on call at any instant. A schedule has layers of rotations in its own time zone (as
 * PagerDuty's and Grafana OnCall's): each layer hands off from one person to the next at a local wall-clock time
 * every N days (daily, weekly, fortnightly…) or every N hours of real time, optionally only within restriction
 * windows (weekdays 09:00–17:00); a higher layer covers the ones below where it has someone, and overrides (cover,
 * swaps) cover every layer. The answer is one person — the schedule's primary — or a gap, named as such.
 *
 * Local times follow the zone's rules: a 09:00 handoff is at 09:00 on the day clocks change too (the shift before it
 * is 23 or 25 hours long): it happens the first time the clock reads 09:00 or later that day — for a time inside a
 * spring-forward gap, when the clock jumps past it; for one in a fall-back overlap, at its first occurrence.
 */
import { FieldError } from './errors';
import { formatDuration, parseDuration } from './duration';
import type { EscalationTarget } from './escalation';
import { isRecord } from './guards';
import { isPhoneNumber } from './paging';
import { addLocalDays, isTimeZone, localTimeOf, WEEKDAYS, zonedInstant } from './timezone';

/** OncallError names the field of a schedule that is wrong. */
export class OncallError extends FieldError {}

/** OncallContact is how a person is reached: any of an e-mail address, a Slack channel or user id, a webhook URL, a phone (SMS). */
export interface OncallContact {
  email?: string;
  slack?: string;
  webhook?: string;
  phone?: string;
}

/** Restriction is a local window in which a layer is active: from–to on the given weekdays (all days if none). */
export interface Restriction {
  /** Weekdays the window starts on, 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** Minutes after local midnight. */
  fromMinute: number;
  /** Minutes after local midnight; at or before fromMinute means the window ends the next day. */
  toMinute: number;
}

/** Rotation is how often a layer hands off: every `days` local days at the start's wall time, or every `ms` of real time. */
export type Rotation = { kind: 'days'; days: number } | { kind: 'hours'; ms: number };

/** OncallLayer is one rotation of people; layers later in the list cover earlier ones. */
export interface OncallLayer {
  name: string;
  /** The first handoff, a local wall-clock time in the schedule's zone ('2026-01-05T09:00'). */
  start: string;
  rotation: Rotation;
  users: string[];
  restrictions: Restriction[];
}

/** OncallOverride puts `user` on call from `fromMs` to `toMs`, over every layer (a cover, or half of a swap). */
export interface OncallOverride {
  user: string;
  fromMs: number;
  toMs: number;
  note?: string;
}

/** OncallSchedule is a named schedule: its zone, layers, overrides, how to reach its people, and the handoff notice. */
export interface OncallSchedule {
  name: string;
  description: string;
  timeZone: string;
  layers: OncallLayer[];
  overrides: OncallOverride[];
  contacts: Record<string, OncallContact>;
  /** How long before a handoff the incoming person is told (0: at the handoff). */
  handoffNoticeMs: number;
}

/** Shift is a stretch of time one person is on call, and what put them there. */
export interface Shift {
  user: string;
  startMs: number;
  endMs: number;
  /** The layer's name, or 'override'. */
  source: string;
}

/** Oncall is who is on call at an instant and until when; `user` undefined is a gap (no layer covers the instant). */
export interface Oncall {
  atMs: number;
  user?: string;
  source?: string;
  /** The shift holding the instant (or the gap's extent), bounded by the search horizon. */
  startMs: number;
  endMs: number;
  /** The shift began before the horizon, or goes on past it: no change of person within it that way. */
  openStart: boolean;
  openEnd: boolean;
}

const DAY_MS = 86_400_000;
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const USER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
const SLACK = /^(#[a-z0-9_-]{1,80}|[CGDUW][A-Z0-9]{6,})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;
const CLOCK = /^(\d{2}):(\d{2})$/;
/** MAX_SPAN_MS bounds what one finalShifts call computes (a year and some), and an override's length. */
const MAX_SPAN_MS = 400 * DAY_MS;

// ---------------------------------------------------------------------------------------------------------------
// Parsing: the schedule's JSON/YAML shape, every error naming its field.

function parseLocal(text: unknown, field: string): { year: number; month: number; day: number; hour: number; minute: number } {
  const m = typeof text === 'string' ? LOCAL.exec(text) : null;
  if (!m) throw new OncallError(field, 'expected a local date-time YYYY-MM-DDTHH:MM (in the schedule\'s time zone)');
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || year < 1970 || year > 9999) throw new OncallError(field, 'not a real date and time');
  return { year, month, day, hour, minute };
}

function parseClock(text: unknown, field: string): number {
  const m = typeof text === 'string' ? CLOCK.exec(text) : null;
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && Number(m[2]) !== 0)) throw new OncallError(field, 'expected a local time HH:MM (24:00 for midnight at the end)');
  return Number(m[1]) * 60 + Number(m[2]);
}

function parseRotation(raw: unknown, field: string): Rotation {
  if (raw === 'daily') return { kind: 'days', days: 1 };
  if (raw === 'weekly') return { kind: 'days', days: 7 };
  if (typeof raw === 'string') {
    const m = /^(\d{1,3})(d|w|h)$/.exec(raw);
    if (m && Number(m[1]) > 0) {
      const n = Number(m[1]);
      if (m[2] === 'h') return { kind: 'hours', ms: n * 3_600_000 };
      return { kind: 'days', days: m[2] === 'w' ? 7 * n : n };
    }
  }
  throw new OncallError(field, 'expected daily, weekly, or a length such as 2w, 3d or 12h');
}

function parseRestriction(raw: unknown, field: string): Restriction {
  if (!isRecord(raw)) throw new OncallError(field, 'expected {days?: [mon, …], from: "09:00", to: "17:00"}');
  const fromMinute = parseClock(raw.from, `${field}.from`);
  const toMinute = parseClock(raw.to, `${field}.to`);
  if (fromMinute === 24 * 60) throw new OncallError(`${field}.from`, 'a window starts before 24:00');
  let days = [0, 1, 2, 3, 4, 5, 6];
  if (raw.days !== undefined) {
    if (!Array.isArray(raw.days) || raw.days.length === 0) throw new OncallError(`${field}.days`, 'expected a list of weekdays (mon … sun)');
    days = raw.days.map((d, i) => {
      const index = typeof d === 'string' ? WEEKDAYS.indexOf(d.toLowerCase().slice(0, 3)) : -1;
      if (index < 0 || typeof d !== 'string' || d.length < 3) throw new OncallError(`${field}.days[${i}]`, 'expected a weekday: mon, tue, wed, thu, fri, sat or sun');
      return index;
    });
  }
  return { days: [...new Set(days)].sort(), fromMinute, toMinute };
}

function parseInstant(raw: unknown, field: string): number {
  const ms = typeof raw === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw new OncallError(field, 'expected an RFC 3339 time with its offset, e.g. 2026-12-24T18:00:00Z');
  return ms;
}

const CONTACT_EXPECTED: Record<string, string> = {
  email: 'expected an e-mail address',
  slack: 'expected #channel, a channel id or a user id (U0123ABCD)',
  webhook: 'expected an http(s) URL',
  phone: 'expected a phone number in E.164 form (+4915112345678), paged by SMS',
};

function parseContact(raw: unknown, field: string): OncallContact {
  if (!isRecord(raw)) throw new OncallError(field, 'expected {email?, slack?, webhook?, phone?}');
  const contact: OncallContact = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'email' && typeof value === 'string' && EMAIL.test(value)) contact.email = value;
    else if (key === 'slack' && typeof value === 'string' && SLACK.test(value)) contact.slack = value;
    else if (key === 'webhook' && typeof value === 'string' && /^https?:\/\/[^\s]+$/.test(value) && value.length <= 2048) contact.webhook = value;
    else if (key === 'phone' && typeof value === 'string' && isPhoneNumber(value)) contact.phone = value;
    else if (key in CONTACT_EXPECTED) throw new OncallError(`${field}.${key}`, CONTACT_EXPECTED[key]!);
    else throw new OncallError(`${field}.${key}`, 'unknown contact; expected email, slack, webhook or phone');
  }
  if (Object.keys(contact).length === 0) throw new OncallError(field, 'expected at least one of email, slack, webhook, phone');
  return contact;
}

/** parseOncallSchedule validates one schedule from the admin API (or a file), naming the field of every error. */
export function parseOncallSchedule(raw: unknown, field = 'body'): OncallSchedule {
  if (!isRecord(raw)) throw new OncallError(field, 'expected a schedule object');
  const { name, description = '', time_zone: timeZone, layers, overrides = [], contacts, handoff_notice: notice = '0s' } = raw;
  if (typeof name !== 'string' || !NAME.test(name)) throw new OncallError(`${field}.name`, 'expected a name of lowercase letters, digits, - and _');
  if (typeof description !== 'string' || description.length > 1000) throw new OncallError(`${field}.description`, 'expected a string of at most 1000 characters');
  if (typeof timeZone !== 'string') throw new OncallError(`${field}.time_zone`, 'expected an IANA time zone such as Europe/London');
  if (!isTimeZone(timeZone)) throw new OncallError(`${field}.time_zone`, `unknown time zone ${JSON.stringify(timeZone).slice(0, 80)}; expected an IANA name such as Europe/London`);
  if (!isRecord(contacts) || Object.keys(contacts).length === 0) throw new OncallError(`${field}.contacts`, 'expected {person: {email?, slack?, webhook?}} for everyone the schedule names');
  const parsedContacts: Record<string, OncallContact> = {};
  for (const [user, contact] of Object.entries(contacts)) {
    if (!USER.test(user)) throw new OncallError(`${field}.contacts.${user.slice(0, 100)}`, 'expected a person\'s name of letters, digits, . _ @ -');
    parsedContacts[user] = parseContact(contact, `${field}.contacts.${user}`);
  }
  const known = (user: unknown, where: string): string => {
    if (typeof user !== 'string' || !Object.hasOwn(parsedContacts, user)) throw new OncallError(where, `expected a person listed in contacts (${Object.keys(parsedContacts).slice(0, 10).join(', ')})`);
    return user;
  };
  if (!Array.isArray(layers) || layers.length === 0 || layers.length > 10) throw new OncallError(`${field}.layers`, 'expected 1 to 10 layers');
  const parsedLayers = layers.map((layer, i): OncallLayer => {
    const at = `${field}.layers[${i}]`;
    if (!isRecord(layer)) throw new OncallError(at, 'expected {name?, start, rotation, users, restrictions?}');
    const start = parseLocal(layer.start, `${at}.start`);
    if (!Array.isArray(layer.users) || layer.users.length === 0 || layer.users.length > 100) throw new OncallError(`${at}.users`, 'expected 1 to 100 people, in rotation order');
    const restrictions = layer.restrictions === undefined ? [] : Array.isArray(layer.restrictions) ? layer.restrictions.map((r, j) => parseRestriction(r, `${at}.restrictions[${j}]`)) : undefined;
    if (!restrictions) throw new OncallError(`${at}.restrictions`, 'expected a list of windows');
    const layerName = layer.name ?? `layer-${i + 1}`;
    if (typeof layerName !== 'string' || !NAME.test(layerName)) throw new OncallError(`${at}.name`, 'expected a name of lowercase letters, digits, - and _');
    return {
      name: layerName,
      start: `${String(start.year).padStart(4, '0')}-${String(start.month).padStart(2, '0')}-${String(start.day).padStart(2, '0')}T${String(start.hour).padStart(2, '0')}:${String(start.minute).padStart(2, '0')}`,
      rotation: parseRotation(layer.rotation, `${at}.rotation`),
      users: layer.users.map((u, j) => known(u, `${at}.users[${j}]`)),
      restrictions,
    };
  });
  if (!Array.isArray(overrides) || overrides.length > 1000) throw new OncallError(`${field}.overrides`, 'expected a list of at most 1000 overrides');
  const parsedOverrides = overrides.map((o, i): OncallOverride => {
    const at = `${field}.overrides[${i}]`;
    if (!isRecord(o)) throw new OncallError(at, 'expected {user, from, to, note?}');
    const fromMs = parseInstant(o.from, `${at}.from`);
    const toMs = parseInstant(o.to, `${at}.to`);
    if (toMs <= fromMs) throw new OncallError(`${at}.to`, 'must be after from');
    if (toMs - fromMs > MAX_SPAN_MS) throw new OncallError(`${at}.to`, 'an override lasts at most 400 days');
    if (o.note !== undefined && (typeof o.note !== 'string' || o.note.length > 500)) throw new OncallError(`${at}.note`, 'expected a string of at most 500 characters');
    return { user: known(o.user, `${at}.user`), fromMs, toMs, ...(o.note ? { note: o.note as string } : {}) };
  });
  let handoffNoticeMs: number;
  try {
    handoffNoticeMs = parseDuration(String(notice));
  } catch (err) {
    throw new OncallError(`${field}.handoff_notice`, (err as Error).message);
  }
  if (handoffNoticeMs > 7 * DAY_MS) throw new OncallError(`${field}.handoff_notice`, 'at most 7d before the handoff');
  return { name, description, timeZone, layers: parsedLayers, overrides: parsedOverrides, contacts: parsedContacts, handoffNoticeMs };
}

/** scheduleDocument writes a schedule back in the shape parseOncallSchedule reads (what the API answers and stores). */
export function scheduleDocument(s: OncallSchedule): Record<string, unknown> {
  const clock = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  return {
    name: s.name,
    description: s.description,
    time_zone: s.timeZone,
    handoff_notice: formatDuration(s.handoffNoticeMs),
    layers: s.layers.map((l) => ({
      name: l.name,
      start: l.start,
      rotation: l.rotation.kind === 'hours' ? `${l.rotation.ms / 3_600_000}h` : l.rotation.days === 1 ? 'daily' : l.rotation.days === 7 ? 'weekly' : `${l.rotation.days}d`,
      users: l.users,
      ...(l.restrictions.length ? { restrictions: l.restrictions.map((r) => ({ days: r.days.map((d) => WEEKDAYS[d]), from: clock(r.fromMinute), to: clock(r.toMinute) })) } : {}),
    })),
    overrides: s.overrides.map((o) => ({ user: o.user, from: new Date(o.fromMs).toISOString(), to: new Date(o.toMs).toISOString(), ...(o.note ? { note: o.note } : {}) })),
    contacts: s.contacts,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation.

/** handoffAt is the instant of a layer's k-th handoff (k = 0 is its start), in the schedule's zone. */
function handoffAt(layer: OncallLayer, k: number, timeZone: string): number {
  const s = parseLocal(layer.start, 'start');
  if (layer.rotation.kind === 'hours') return zonedInstant(s.year, s.month, s.day, s.hour, s.minute, timeZone) + k * layer.rotation.ms;
  const day = addLocalDays(s, k * layer.rotation.days);
  return zonedInstant(day.year, day.month, day.day, s.hour, s.minute, timeZone);
}

/** rotationShifts are a layer's rotation shifts (before restrictions) overlapping [fromMs, toMs). */
function rotationShifts(layer: OncallLayer, timeZone: string, fromMs: number, toMs: number): Shift[] {
  const startMs = handoffAt(layer, 0, timeZone);
  if (toMs <= startMs) return [];
  const lengthMs = layer.rotation.kind === 'hours' ? layer.rotation.ms : layer.rotation.days * DAY_MS;
  // An estimate of the shift holding fromMs, corrected for the hours clock changes add or take away.
  let k = Math.max(0, Math.floor((Math.max(fromMs, startMs) - startMs) / lengthMs));
  while (k > 0 && handoffAt(layer, k, timeZone) > fromMs) k--;
  while (handoffAt(layer, k + 1, timeZone) <= fromMs) k++;
  const out: Shift[] = [];
  for (let start = handoffAt(layer, k, timeZone); start < toMs; k++) {
    const end = handoffAt(layer, k + 1, timeZone);
    out.push({ user: layer.users[k % layer.users.length]!, startMs: start, endMs: end, source: layer.name });
    start = end;
  }
  return out;
}

/** restrictionWindows are a layer's restriction windows overlapping [fromMs, toMs), as instants. */
function restrictionWindows(restrictions: readonly Restriction[], timeZone: string, fromMs: number, toMs: number): Array<[number, number]> {
  const windows: Array<[number, number]> = [];
  // Every local day from the day before fromMs (a window may cross midnight) to the day of toMs.
  const first = localTimeOf(fromMs - DAY_MS, timeZone);
  for (let d = 0; ; d++) {
    const day = addLocalDays(first, d);
    const dayStart = zonedInstant(day.year, day.month, day.day, 0, 0, timeZone);
    if (dayStart >= toMs) break;
    const weekday = new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay();
    for (const r of restrictions) {
      if (!r.days.includes(weekday)) continue;
      const at = (minute: number, plusDays: number) => {
        const when = addLocalDays(day, plusDays + Math.floor(minute / 1440));
        return zonedInstant(when.year, when.month, when.day, Math.floor((minute % 1440) / 60), minute % 60, timeZone);
      };
      const start = at(r.fromMinute, 0);
      const end = r.toMinute > r.fromMinute ? at(r.toMinute, 0) : at(r.toMinute, 1);
      if (end > fromMs && start < toMs) windows.push([start, end]);
    }
  }
  return windows;
}

function layerShifts(layer: OncallLayer, timeZone: string, fromMs: number, toMs: number): Shift[] {
  const shifts = rotationShifts(layer, timeZone, fromMs, toMs);
  if (layer.restrictions.length === 0) return shifts;
  const windows = restrictionWindows(layer.restrictions, timeZone, fromMs, toMs);
  const out: Shift[] = [];
  for (const s of shifts) {
    for (const [a, b] of windows) {
      const startMs = Math.max(s.startMs, a);
      const endMs = Math.min(s.endMs, b);
      if (endMs > startMs) out.push({ ...s, startMs, endMs });
    }
  }
  return out;
}

/**
 * finalShifts is the schedule as it will be lived in [fromMs, toMs): contiguous shifts of one person each (or gaps,
 * user undefined), overrides over the highest layer with someone, the same person's adjacent shifts merged.
 */
export function finalShifts(schedule: OncallSchedule, fromMs: number, toMs: number): Array<Omit<Shift, 'user'> & { user?: string }> {
  if (!(toMs > fromMs)) return [];
  if (toMs - fromMs > MAX_SPAN_MS) throw new OncallError('to', 'a range of at most 400 days');
  const layers = schedule.layers.map((l) => layerShifts(l, schedule.timeZone, fromMs, toMs));
  const overrides = schedule.overrides.filter((o) => o.toMs > fromMs && o.fromMs < toMs).map((o) => ({ user: o.user, startMs: o.fromMs, endMs: o.toMs, source: 'override' }));
  const cuts = new Set<number>([fromMs, toMs]);
  for (const s of [...layers.flat(), ...overrides]) {
    if (s.startMs > fromMs && s.startMs < toMs) cuts.add(s.startMs);
    if (s.endMs > fromMs && s.endMs < toMs) cuts.add(s.endMs);
  }
  const points = [...cuts].sort((a, b) => a - b);
  // Each layer's shifts are sorted and disjoint: a cursor per layer walks them with the elementary intervals.
  const cursors = layers.map(() => 0);
  const out: Array<Omit<Shift, 'user'> & { user?: string }> = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i]!, points[i + 1]!];
    // The last override defined wins where overrides overlap (the newest cover).
    let who: { user?: string; source: string } = { source: 'gap' };
    for (let o = overrides.length - 1; o >= 0; o--) {
      if (overrides[o]!.startMs <= a && overrides[o]!.endMs >= b) {
        who = overrides[o]!;
        break;
      }
    }
    for (let l = layers.length - 1; l >= 0; l--) {
      const shifts = layers[l]!;
      while (cursors[l]! < shifts.length && shifts[cursors[l]!]!.endMs <= a) cursors[l]!++;
      const s = shifts[cursors[l]!];
      if (who.source === 'gap' && s && s.startMs <= a && s.endMs >= b) who = s;
    }
    const last = out[out.length - 1];
    if (last && last.user === who.user && last.source === who.source && last.endMs === a) last.endMs = b;
    else out.push({ user: who.user, startMs: a, endMs: b, source: who.source });
  }
  return out;
}

/**
 * oncallAt answers who is on call at `atMs`, with the whole shift (looked for up to `horizonMs` either side, so a
 * week's shift starting before `atMs` is reported from its start).
 */
export function oncallAt(schedule: OncallSchedule, atMs: number, horizonMs = 35 * DAY_MS): Oncall {
  const shifts = finalShifts(schedule, atMs - horizonMs, atMs + horizonMs);
  const holding = shifts.find((s) => s.startMs <= atMs && s.endMs > atMs)!;
  return {
    atMs,
    startMs: holding.startMs,
    endMs: holding.endMs,
    openStart: holding.startMs <= atMs - horizonMs,
    openEnd: holding.endMs >= atMs + horizonMs,
    ...(holding.user !== undefined ? { user: holding.user, source: holding.source } : {}),
  };
}

/** Handoff is a change of who is on call: the incoming person (undefined: a gap starts) and the outgoing one. */
export interface Handoff {
  atMs: number;
  incoming?: string;
  outgoing?: string;
  /** Until when the incoming person's shift runs (bounded by the search horizon). */
  untilMs: number;
}

/** nextHandoff is the first change of person strictly after `afterMs`, within `horizonMs`; undefined if none. */
export function nextHandoff(schedule: OncallSchedule, afterMs: number, horizonMs = 35 * DAY_MS): Handoff | undefined {
  const shifts = finalShifts(schedule, afterMs, afterMs + horizonMs);
  for (let i = 1; i < shifts.length; i++) {
    if (shifts[i]!.user !== shifts[i - 1]!.user) return { atMs: shifts[i]!.startMs, incoming: shifts[i]!.user, outgoing: shifts[i - 1]!.user, untilMs: shifts[i]!.endMs };
  }
  return undefined;
}

/** contactTargets are the escalation targets that reach a person: their e-mail, Slack and webhook, as they have them. */
export function contactTargets(contact: OncallContact | undefined): EscalationTarget[] {
  if (!contact) return [];
  return [
    ...(contact.email ? [{ channel: 'email' as const, to: contact.email }] : []),
    ...(contact.slack ? [{ channel: 'slack' as const, to: contact.slack }] : []),
    ...(contact.webhook ? [{ channel: 'webhook' as const, to: contact.webhook }] : []),
    ...(contact.phone ? [{ channel: 'sms' as const, to: contact.phone }] : []),
  ];
}

/** OncallResolution is whom an escalation step's schedule reference reached at an instant, or why nobody. */
export interface OncallResolution {
  schedule: string;
  user?: string;
  /** The layer's name or 'override'. */
  source?: string;
  /** Why nobody: the schedule does not exist, or no layer covers the instant (a gap), or its lookup failed. */
  gap?: string;
  targets: EscalationTarget[];
}

/** resolveOncall answers a step's reference to `name` at `atMs` from the schedules that exist. */
export function resolveOncall(name: string, schedule: OncallSchedule | undefined, atMs: number): OncallResolution {
  if (!schedule) return { schedule: name, gap: `no on-call schedule ${name}`, targets: [] };
  const now = oncallAt(schedule, atMs);
  if (now.user === undefined) return { schedule: name, gap: `a gap in ${name}: nobody is on call from ${new Date(now.startMs).toISOString()} to ${new Date(now.endMs).toISOString()}`, targets: [] };
  return { schedule: name, user: now.user, source: now.source!, targets: contactTargets(schedule.contacts[now.user]) };
}
