import { judgeTicks, tickGrid, type RecordedTick, type ScheduleFacts } from '../../core/evaluation-ticks';

const S = 1_000;
const T0 = Date.parse('2026-12-07T10:00:00Z');

describe('evaluation ticks: each due tick run, or missed with why', () => {
  const facts: ScheduleFacts = { everyMs: 10 * S, offsetMs: 3 * S, createdMs: T0 - 3_600 * S, paused: false, missedCatchupWindow: 2, skippedOverlap: 1 };
  const ran = (offsetS: number, outcome: RecordedTick['outcome'] = 'ok', durationS = 1, error?: string): RecordedTick => ({
    scheduledMs: T0 + offsetS * S,
    startedMs: T0 + offsetS * S + 100,
    finishedMs: T0 + offsetS * S + 100 + durationS * S,
    outcome,
    series: 4,
    ...(error ? { error } : {}),
  });

  it('lays the grid on epoch + offset + k × every, as Temporal does', () => {
    expect(tickGrid(10 * S, 3 * S, T0, T0 + 30 * S).map((t) => (t - T0) / S)).toEqual([3, 13, 23]);
    expect(tickGrid(10 * S, 3 * S, T0 + 3 * S, T0 + 13 * S).map((t) => (t - T0) / S)).toEqual([3]);
  });

  it('judges run, failed, skipped by overlap, missed and pending ticks', () => {
    // Ticks at 3, 13, …, 93 s past T0; now is T0 + 100 s: ticks due after 100 − 25 = 75 s may still be running.
    const recorded = [ran(3), ran(13, 'failed', 1, 'ClickHouse: Code 241 MEMORY_LIMIT_EXCEEDED'), ran(23, 'ok', 15), ran(63)];
    const verdicts = judgeTicks(facts, recorded, T0, T0 + 100 * S, T0 + 100 * S);
    expect(verdicts.map((v) => [(Date.parse(v.at) - T0) / S, v.outcome])).toEqual([
      [3, 'ok'],
      [13, 'failed'],
      [23, 'ok'],
      [33, 'skipped'],
      [43, 'missed'],
      [53, 'missed'],
      [63, 'ok'],
      [73, 'missed'],
      [83, 'pending'],
      [93, 'pending'],
    ]);
    expect(verdicts[0]).toMatchObject({ duration_ms: 1000, series: 4 });
    expect(verdicts[1]!.why).toBe('ClickHouse: Code 241 MEMORY_LIMIT_EXCEEDED');
    expect(verdicts[3]!.why).toBe('the tick of 2026-12-07T10:00:23.000Z had not finished (it took 15 s; the overlap policy skips)');
    // A run that started late (no worker at its instant) holds the ticks after it too, and says so.
    const late = { ...ran(3), startedMs: T0 + 20 * S, finishedMs: T0 + 20.3 * S };
    expect(judgeTicks(facts, [late], T0, T0 + 20 * S, T0 + 100 * S)[1]!.why).toBe('the tick of 2026-12-07T10:00:03.000Z had not finished (it waited 17 s for a worker, then ran 0.3 s; the overlap policy skips)');
    expect(verdicts[4]!.why).toBe('no evaluation ran: Temporal did not start it or no worker ran it within 25 s (Temporal counts 2 ticks of this schedule past its catch-up window and 1 skipped by overlap)');
  });

  it('lays the grid on whole seconds, as Temporal fires a schedule whose offset has milliseconds', () => {
    // 3,600 ms fires at :03 (truncated, as the dev server does).
    const verdicts = judgeTicks({ ...facts, offsetMs: 3_600 }, [ran(3), ran(13)], T0, T0 + 20 * S, T0 + 100 * S);
    expect(verdicts.map((v) => [(Date.parse(v.at) - T0) / S, v.outcome])).toEqual([
      [3, 'ok'],
      [13, 'ok'],
    ]);
  });

  it('takes the phase from an instant Temporal fires at, and matches a tick recorded a little off the grid', () => {
    // Offset 3.6 s described, fires at :03 (Temporal truncated it): the anchor says so.
    const verdicts = judgeTicks({ ...facts, offsetMs: 3_600, anchorMs: T0 + 203 * S }, [ran(3), { ...ran(13), scheduledMs: T0 + 13 * S + 40 }], T0, T0 + 20 * S, T0 + 100 * S);
    expect(verdicts.map((v) => [(Date.parse(v.at) - T0) / S, v.outcome])).toEqual([
      [3, 'ok'],
      [13, 'ok'],
    ]);
  });

  it('says a paused schedule skipped its ticks, and judges nothing before the schedule existed or after now', () => {
    const paused = judgeTicks({ ...facts, paused: true, note: 'maintenance' }, [], T0, T0 + 60 * S, T0 + 100 * S);
    expect(paused.map((v) => v.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(paused[0]!.why).toBe('the schedule is paused (maintenance)');
    expect(judgeTicks({ ...facts, createdMs: T0 + 50 * S }, [], T0, T0 + 100 * S, T0 + 60 * S).map((v) => (Date.parse(v.at) - T0) / S)).toEqual([53]);
  });
});
