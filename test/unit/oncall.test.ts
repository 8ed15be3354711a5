import fc from 'fast-check';
import { finalShifts, nextHandoff, oncallAt, OncallError, parseOncallSchedule, scheduleDocument, type OncallSchedule } from '../../core/oncall';
import { localTimeOf, zonedInstant } from '../../core/timezone';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const contacts = { alice: { email: 'alice@example.com' }, bob: { slack: 'U0123ABCD' }, carol: { email: 'carol@example.com' }, dave: { webhook: 'https://pager.example.com/dave' } };

/** A schedule from the API's shape, as an operator writes it. */
const schedule = (extra: Record<string, unknown>): OncallSchedule => parseOncallSchedule({ name: 'trading-oncall', time_zone: 'Europe/London', contacts, ...extra });

/** The wall clock of the zone at an instant, as "YYYY-MM-DD HH:MM". */
const wall = (ms: number, zone: string) => {
  const t = localTimeOf(ms, zone);
  return `${t.year}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')} ${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
};

describe('zonedInstant', () => {
  it('reads an ordinary wall time, the first of a repeated hour, and the jump for a skipped one', () => {
    // London, 2026: clocks go forward at 01:00 GMT on 29 March and back at 02:00 BST on 25 October.
    expect(new Date(zonedInstant(2026, 6, 1, 9, 0, 'Europe/London')).toISOString()).toBe('2026-06-01T08:00:00.000Z');
    expect(new Date(zonedInstant(2026, 3, 29, 1, 30, 'Europe/London')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(new Date(zonedInstant(2026, 10, 25, 1, 30, 'Europe/London')).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    // New York skips 02:00–03:00 on 8 March 2026 (07:00Z); Lord Howe moves by half an hour.
    expect(new Date(zonedInstant(2026, 3, 8, 2, 30, 'America/New_York')).toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(new Date(zonedInstant(2026, 10, 4, 2, 15, 'Australia/Lord_Howe')).toISOString()).toBe('2026-10-03T15:30:00.000Z');
  });
});

describe('parseOncallSchedule', () => {
  it('names the field of each mistake', () => {
    const layer = { start: '2026-01-05T09:00', rotation: 'weekly', users: ['alice', 'bob'] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ layers: [layer], time_zone: 'Mars/Olympus' }, 'body.time_zone'],
      [{ layers: [] }, 'body.layers'],
      [{ layers: [{ ...layer, start: '2026-02-30T09:00' }] }, 'body.layers[0].start'],
      [{ layers: [{ ...layer, rotation: 'monthly' }] }, 'body.layers[0].rotation'],
      [{ layers: [{ ...layer, users: ['alice', 'mallory'] }] }, 'body.layers[0].users[1]'],
      [{ layers: [{ ...layer, restrictions: [{ days: ['funday'], from: '09:00', to: '17:00' }] }] }, 'body.layers[0].restrictions[0].days[0]'],
      [{ layers: [{ ...layer, restrictions: [{ from: '25:00', to: '17:00' }] }] }, 'body.layers[0].restrictions[0].from'],
      [{ layers: [layer], overrides: [{ user: 'carol', from: '2026-12-24T18:00:00Z', to: '2026-12-24T17:00:00Z' }] }, 'body.overrides[0].to'],
      [{ layers: [layer], overrides: [{ user: 'carol', from: '2026-12-24T18:00', to: '2026-12-25T17:00:00Z' }] }, 'body.overrides[0].from'],
      [{ layers: [layer], contacts: { alice: { pager: 'x' } } }, 'body.contacts.alice.pager'],
      [{ layers: [layer], handoff_notice: 'soon' }, 'body.handoff_notice'],
    ];
    for (const [body, field] of cases) {
      let error: unknown;
      try {
        schedule(body);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(OncallError);
      expect((error as OncallError).field).toBe(field);
    }
  });

  it('writes back what it read', () => {
    const s = schedule({
      handoff_notice: '1h',
      layers: [
        { name: 'weekly', start: '2026-01-05T09:00', rotation: 'weekly', users: ['alice', 'bob'] },
        { name: 'business-hours', start: '2026-01-05T09:00', rotation: '3d', users: ['carol'], restrictions: [{ days: ['mon', 'fri'], from: '09:00', to: '17:30' }] },
      ],
      overrides: [{ user: 'dave', from: '2026-12-24T18:00:00Z', to: '2026-12-27T09:00:00Z', note: 'holiday cover' }],
    });
    expect(parseOncallSchedule(scheduleDocument(s))).toEqual(s);
  });
});

describe('who is on call', () => {
  const weekly = schedule({
    layers: [
      { name: 'weekly', start: '2026-01-05T09:00', rotation: 'weekly', users: ['alice', 'bob', 'carol'] },
      // Business hours on weekdays, dave takes the calls.
      { name: 'desk', start: '2026-01-05T00:00', rotation: 'daily', users: ['dave'], restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }] },
    ],
    overrides: [{ user: 'carol', from: '2026-03-28T12:00:00Z', to: '2026-03-29T12:00:00Z' }],
  });

  it('hands off at 09:00 local time every Monday, in winter and in summer time', () => {
    // Saturday 10 January 2026 (GMT): alice's week (5–12 Jan), hers since the desk closed on Friday at 17:00; 17 January:
    // bob's; Sunday 26 July: the week from Monday 20 July, 28 weeks after alice's first.
    expect(oncallAt(weekly, Date.parse('2026-01-10T12:00:00Z'))).toMatchObject({ user: 'alice', source: 'weekly', startMs: Date.parse('2026-01-09T17:00:00Z'), endMs: Date.parse('2026-01-12T09:00:00Z') });
    expect(oncallAt(weekly, Date.parse('2026-01-17T12:00:00Z')).user).toBe('bob');
    const summer = oncallAt(weekly, Date.parse('2026-07-26T12:00:00Z'));
    expect(summer.user).toBe(['alice', 'bob', 'carol'][28 % 3]);
    expect(wall(summer.startMs, 'Europe/London')).toBe('2026-07-24 17:00'); // when the desk closed on Friday
    expect(new Date(summer.endMs).toISOString()).toBe('2026-07-27T08:00:00.000Z');
  });

  it('puts the restricted layer on top within its window, and an override over both', () => {
    expect(oncallAt(weekly, Date.parse('2026-01-07T10:00:00Z'))).toMatchObject({ user: 'dave', source: 'desk', startMs: Date.parse('2026-01-07T09:00:00Z'), endMs: Date.parse('2026-01-07T17:00:00Z') });
    expect(oncallAt(weekly, Date.parse('2026-01-07T17:00:00Z'))).toMatchObject({ user: 'alice', source: 'weekly' });
    expect(oncallAt(weekly, Date.parse('2026-03-29T00:00:00Z'))).toMatchObject({ user: 'carol', source: 'override', startMs: Date.parse('2026-03-28T12:00:00Z'), endMs: Date.parse('2026-03-29T12:00:00Z') });
    expect(nextHandoff(weekly, Date.parse('2026-01-07T12:00:00Z'))).toEqual({ atMs: Date.parse('2026-01-07T17:00:00Z'), outgoing: 'dave', incoming: 'alice', untilMs: Date.parse('2026-01-08T09:00:00Z') });
  });

  it('says gap where no layer covers the instant', () => {
    const desk = schedule({ layers: [{ start: '2026-01-05T00:00', rotation: 'daily', users: ['dave'], restrictions: [{ days: ['mon'], from: '09:00', to: '17:00' }] }] });
    const night = oncallAt(desk, Date.parse('2026-01-05T20:00:00Z'));
    expect(night.user).toBeUndefined();
    expect(night.startMs).toBe(Date.parse('2026-01-05T17:00:00Z'));
    expect(night.endMs).toBe(Date.parse('2026-01-12T09:00:00Z'));
  });
});

/**
 * The property of issue 20: for any schedule whose lowest layer always has someone, there is exactly one primary at
 * every instant of a year — the shifts tile the year with no gap and no overlap, across the zone's clock changes —
 * and each instant's person is the one an independent reading of the wall clock says.
 */
describe('a year of any schedule', () => {
  const zones = ['Europe/London', 'America/New_York', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'Pacific/Chatham', 'UTC'];
  const arbitrarySchedule = fc.record({
    zone: fc.constantFrom(...zones),
    // Handoff times include the hours clocks skip or repeat (00:00–03:00 in most zones).
    hour: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 23 })),
    minute: fc.constantFrom(0, 15, 30, 45),
    rotation: fc.constantFrom('daily', 'weekly', '2w', '3d', '12h', '8h'),
    users: fc.integer({ min: 1, max: 4 }),
    startDay: fc.integer({ min: 1, max: 28 }),
    upper: fc.option(fc.record({ from: fc.integer({ min: 0, max: 23 }), to: fc.integer({ min: 0, max: 23 }), day: fc.constantFrom('mon', 'sat', 'sun') }), { nil: undefined }),
    overrides: fc.array(fc.record({ at: fc.integer({ min: 0, max: 364 * 24 }), hours: fc.integer({ min: 1, max: 72 }) }), { maxLength: 3 }),
  });
  const people = ['alice', 'bob', 'carol', 'dave'];
  const year = [Date.parse('2027-01-01T00:00:00Z'), Date.parse('2028-01-01T00:00:00Z')] as const;

  it('has exactly one primary at every instant, handing off when the wall clock says', () => {
    fc.assert(
      fc.property(arbitrarySchedule, (p) => {
        const start = `2026-11-${String(p.startDay).padStart(2, '0')}T${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
        const base = { name: 'base', start, rotation: p.rotation, users: people.slice(0, p.users) };
        const s = parseOncallSchedule({
          name: 'prop',
          time_zone: p.zone,
          contacts,
          layers: p.upper ? [base, { name: 'upper', start: '2026-11-02T00:00', rotation: 'daily', users: ['dave'], restrictions: [{ days: [p.upper.day], from: `${String(p.upper.from).padStart(2, '0')}:00`, to: `${String(p.upper.to).padStart(2, '0')}:00` }] }] : [base],
          overrides: p.overrides.map((o) => ({ user: 'carol', from: new Date(year[0] + o.at * HOUR).toISOString(), to: new Date(year[0] + (o.at + o.hours) * HOUR).toISOString() })),
        });
        const shifts = finalShifts(s, year[0], year[1]);
        // Tiled: from the first instant to the last, each shift starting where the one before ended, never a gap.
        expect(shifts[0]!.startMs).toBe(year[0]);
        expect(shifts[shifts.length - 1]!.endMs).toBe(year[1]);
        for (let i = 0; i < shifts.length; i++) {
          expect(shifts[i]!.user).toBeDefined();
          expect(shifts[i]!.endMs).toBeGreaterThan(shifts[i]!.startMs);
          if (i > 0) expect(shifts[i]!.startMs).toBe(shifts[i - 1]!.endMs);
        }
        // The base layer's person at an instant, read from the wall clock alone: the rotation day is today if the
        // clock has reached the handoff time (or yesterday), and the rotation counts such days from the start.
        const baseUser = (t: number): string => {
          const handoffMinute = p.hour * 60 + p.minute;
          if (p.rotation.endsWith('h')) {
            const startMs = zonedInstant(2026, 11, p.startDay, p.hour, p.minute, p.zone);
            return base.users[Math.floor((t - startMs) / (Number(p.rotation.slice(0, -1)) * HOUR)) % p.users]!;
          }
          const l = localTimeOf(t, p.zone);
          // The clock reads the handoff time or later today — unless that is the second pass of a repeated hour,
          // which the first pass already handed off in (so today counts from the first reading).
          const today = Date.UTC(l.year, l.month - 1, l.day);
          const reached = l.hour * 60 + l.minute >= handoffMinute || zonedInstant(l.year, l.month, l.day, p.hour, p.minute, p.zone) <= t;
          const days = Math.round(((reached ? today : today - DAY) - Date.UTC(2026, 10, p.startDay)) / DAY);
          const length = p.rotation === 'daily' ? 1 : p.rotation === 'weekly' ? 7 : p.rotation === '2w' ? 14 : 3;
          return base.users[Math.floor(days / length) % p.users]!;
        };
        // Every handoff of the base layer and a sample of instants: each instant has the person the clock says.
        const probes = Array.from({ length: 200 }, (_, i) => year[0] + Math.floor(((i + 0.5) / 200) * (year[1] - year[0])));
        for (const sh of shifts) probes.push(sh.startMs, sh.endMs - 1000);
        let i = 0;
        for (const t of probes.filter((x) => x < year[1]).sort((a, b) => a - b)) {
          while (shifts[i]!.endMs <= t) i++;
          const holding = shifts[i]!;
          const overridden = s.overrides.some((o) => o.fromMs <= t && o.toMs > t);
          if (overridden) expect(holding).toMatchObject({ user: 'carol', source: 'override' });
          else if (holding.source === 'base') expect(holding.user).toBe(baseUser(t));
          else expect(holding).toMatchObject({ user: 'dave', source: 'upper' });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('hands a daily rotation off at the local time on the days clocks change too', () => {
    for (const zone of ['Europe/London', 'America/New_York', 'Australia/Lord_Howe']) {
      const s = parseOncallSchedule({ name: 'daily', time_zone: zone, contacts, layers: [{ start: '2026-11-02T09:00', rotation: 'daily', users: ['alice', 'bob'] }] });
      const shifts = finalShifts(s, year[0], year[1]);
      const lengths = new Set(shifts.slice(1, -1).map((sh) => (sh.endMs - sh.startMs) / HOUR));
      // 24 h, and one shorter and one longer by the zone's change (Lord Howe's is half an hour).
      expect([...lengths].sort()).toEqual(zone === 'Australia/Lord_Howe' ? [23.5, 24, 24.5] : [23, 24, 25]);
      for (const sh of shifts.slice(1)) expect(wall(sh.startMs, zone).slice(11)).toBe('09:00');
    }
  });
});
