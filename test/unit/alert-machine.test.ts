import type { AlertInput } from '../../core/alert';
import { carriedState, historyRow, initialState, next, startCommands, type LifecycleCommand, type LifecycleEvent, type LifecycleState } from '../../core/alert-machine';
import { parseRule } from '../../core/rules';

/** The alert lifecycle's transitions, without any server: each event's new state and the commands it asks for. */

const T0 = Date.parse('2026-12-01T10:00:00Z');
const STALE_MS = 120_000;

function inputOf(rule: Record<string, unknown> = {}, extra: Partial<AlertInput> = {}): AlertInput {
  return {
    fingerprint: '0123456789abcdef',
    rule: parseRule({ name: 'cpu_high', expression: 'cpu_usage_percent > 90', duration: '1m', severity: 'critical', ...rule }, 'g', 'rule'),
    labels: {},
    service: 'svc',
    instance: 'svc-1',
    firstBreach: { breaching: true, value: 95, atMs: T0 },
    staleAfterMs: STALE_MS,
    ...extra,
  };
}

/** drive applies events in turn and returns the last state and every command asked for. */
function drive(input: AlertInput, events: LifecycleEvent[], from: LifecycleState = initialState(input)) {
  let state = from;
  const commands: LifecycleCommand[] = [];
  for (const event of events) {
    const t = next(state, input, event);
    state = t.state;
    commands.push(...t.commands);
  }
  return { state, commands };
}
const tick = (now: number, continueAsNewSuggested = false): LifecycleEvent => ({ type: 'tick', now, continueAsNewSuggested });
const observe = (atMs: number, breaching: boolean, value = breaching ? 95 : 10): LifecycleEvent => ({ type: 'observe', observation: { atMs, breaching, value } });
const types = (commands: LifecycleCommand[]) => commands.map((c) => c.type);

describe('alert machine: pending → firing', () => {
  const input = inputOf();

  it('publishes a fresh alert as pending and waits for the next evaluation', () => {
    const state = initialState(input);
    expect(state).toMatchObject({ phase: 'pending', value: 95, lastObservedMs: T0, observations: 0 });
    expect(startCommands(state, input, false)).toEqual([{ type: 'publish' }]);
    // Waits until the series would go stale (or a message comes).
    expect(next(state, input, tick(T0)).commands).toEqual([{ type: 'wait', ms: STALE_MS }]);
  });

  it('fires only on an evaluation that still sees the breach once `for` has passed, never on the timer alone', () => {
    // A minute has passed but no evaluation confirmed it: still pending.
    expect(drive(input, [tick(T0 + 61_000)]).state.phase).toBe('pending');
    const { state, commands } = drive(input, [observe(T0 + 30_000, true), tick(T0 + 30_001), observe(T0 + 60_000, true, 97), tick(T0 + 60_001)]);
    expect(state).toMatchObject({ phase: 'firing', firedAtMs: T0 + 60_001, value: 97, observations: 2 });
    // The page goes first; the Redis view and the firing row follow.
    expect(commands.slice(-3)).toEqual([{ type: 'escalate' }, { type: 'publish' }, { type: 'record', status: 'firing', atMs: T0 + 60_001, notes: '' }]);
  });

  it('fires at once, without a pending view, when the first breach already confirms a rule without `for`', () => {
    const now = inputOf({ duration: '0s' });
    expect(startCommands(initialState(now), now, false)).toEqual([]);
    expect(types(drive(now, [tick(T0)]).commands)).toEqual(['escalate', 'publish', 'record']);
  });

  it('ends inactive, recording nothing (but settling a firing a lost workflow task may have recorded), when the condition clears before it fired', () => {
    const { state, commands } = drive(input, [observe(T0 + 30_000, false), tick(T0 + 30_001)]);
    expect(state.phase).toBe('inactive');
    expect(commands).toEqual([
      { type: 'settleEscalation' },
      { type: 'settleUnfired', atMs: T0 + 30_001, notes: 'condition cleared (it never fired)' },
      { type: 'close' },
      { type: 'complete', reason: 'condition-cleared', fired: false },
    ]);
  });
});

describe('alert machine: a firing alert', () => {
  const input = inputOf({ duration: '0s' });
  const firing = drive(input, [tick(T0)]).state;

  it('records an acknowledgement once, redrawing its messages, and escalation stops (phase acknowledged)', () => {
    const { state, commands } = drive(input, [{ type: 'acknowledge', action: { by: 'alice' }, atMs: T0 + 5_000 }, tick(T0 + 5_001), tick(T0 + 5_002)], firing);
    expect(state).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice', acknowledgementRecorded: true });
    expect(commands.slice(0, 3)).toEqual([{ type: 'publish' }, { type: 'record', status: 'acknowledged', atMs: T0 + 5_000, notes: '' }, { type: 'redraw' }]);
    expect(types(commands.slice(3))).toEqual(['wait']);
  });

  it('resolves when the condition clears: the row, the redraw, the memory for re-fires, then closes', () => {
    const { state, commands } = drive(input, [observe(T0 + 90_000, false), tick(T0 + 90_001)], firing);
    expect(state.phase).toBe('resolved');
    expect(commands).toEqual([
      { type: 'settleEscalation' },
      { type: 'record', status: 'resolved', atMs: T0 + 90_001, notes: 'condition cleared' },
      { type: 'redraw', note: 'condition cleared' },
      { type: 'rememberResolved', atMs: T0 + 90_001 },
      { type: 'close' },
      { type: 'complete', reason: 'condition-cleared', fired: true },
    ]);
  });

  it('records an ack that raced a hand resolution before the resolution, naming who resolved it', () => {
    const { state, commands } = drive(input, [{ type: 'acknowledge', action: { by: 'alice' }, atMs: T0 + 1_000 }, { type: 'resolve', action: { by: 'bob', note: 'rolled back' } }, tick(T0 + 1_001)], firing);
    expect(state.phase).toBe('resolved');
    const records = commands.filter((c): c is Extract<LifecycleCommand, { type: 'record' }> => c.type === 'record');
    expect(records.map((r) => [r.status, r.notes])).toEqual([
      ['acknowledged', ''],
      ['resolved', 'resolved by bob: rolled back'],
    ]);
  });

  it('keeps firing through keep_firing_for after the condition clears, waking when it runs out; a breach meanwhile keeps the same alert', () => {
    const keep = inputOf({ duration: '0s', keep_firing_for: '2m' });
    const fired = drive(keep, [tick(T0)]).state;
    const cleared = drive(keep, [observe(T0 + 30_000, false), tick(T0 + 30_001)], fired);
    expect(cleared.state.phase).toBe('firing');
    expect(cleared.commands).toEqual([{ type: 'wait', ms: 120_000 - 1 }]);
    const again = drive(keep, [observe(T0 + 60_000, true), tick(T0 + 60_001)], cleared.state);
    expect(again.state).toMatchObject({ phase: 'firing', clearedSinceMs: undefined });
    expect(drive(keep, [tick(T0 + 150_000)], cleared.state).state.phase).toBe('resolved');
  });

  it('asks whether the rule was evaluated before calling a silent series stale; an outage of evaluation defers it', () => {
    const silent = drive(input, [tick(T0 + STALE_MS)], firing);
    expect(silent.commands).toEqual([{ type: 'checkCoverage' }]);
    expect(silent.state.phase).toBe('firing');
    // The rule was evaluated without the series for only 30 s of the 2 min: not stale yet, asked again in 90 s.
    const deferred = drive(input, [{ type: 'coverage', now: T0 + STALE_MS, unseenMs: 30_000 }, tick(T0 + STALE_MS + 1)], firing);
    expect(deferred.state.staleNotBeforeMs).toBe(T0 + STALE_MS + 90_000);
    expect(deferred.commands).toEqual([{ type: 'wait', ms: 90_000 - 1 }]);
    // Evaluated without it the whole stale period: resolved as stale.
    const stale = drive(input, [{ type: 'coverage', now: T0 + STALE_MS, unseenMs: STALE_MS }], firing);
    expect(stale.state.phase).toBe('resolved');
    expect(stale.commands).toContainEqual({ type: 'complete', reason: 'stale', fired: true });
    // Its dedup window runs from when the series was last seen, not from when its silence was noticed (hours later,
    // after the stack was down, the next breach is a new incident that pages).
    expect(stale.commands).toContainEqual({ type: 'rememberResolved', atMs: firing.lastObservedMs });
    expect(firing.lastObservedMs).toBeLessThan(T0 + STALE_MS);
  });

  it('ends as stale at once when the evaluator says the series vanished; a sighting after that cancels it', () => {
    const vanish: LifecycleEvent = { type: 'observe', observation: { atMs: T0 + 150_000, breaching: true, value: 0, stale: true } };
    const gone = drive(input, [vanish, tick(T0 + 150_001)], firing);
    expect(gone.state).toMatchObject({ phase: 'resolved', value: 95, lastObservedMs: T0 });
    expect(gone.commands).toContainEqual({ type: 'record', status: 'resolved', atMs: T0 + 150_001, notes: 'no data: series not reported' });
    expect(gone.commands).toContainEqual({ type: 'complete', reason: 'stale', fired: true });
    const back = drive(input, [vanish, observe(T0 + 150_000, true), tick(T0 + 150_001)], firing);
    expect(back.state.phase).toBe('firing');
    // With no_data: keep, a vanished series keeps the alert firing.
    const kept = inputOf({ duration: '0s', no_data: 'keep' });
    expect(drive(kept, [tick(T0), vanish, tick(T0 + 150_001)]).state.phase).toBe('firing');
  });

  it('with no_data: keep, never goes stale and waits only for messages', () => {
    const keep = inputOf({ duration: '0s', no_data: 'keep' });
    const { commands } = drive(keep, [tick(T0), tick(T0 + 10 * STALE_MS)]);
    expect(commands.at(-1)).toEqual({ type: 'wait', ms: Infinity });
  });

  it('continues as new when Temporal suggests it, carrying phase, value, firing time and acknowledgement', () => {
    const acked = drive(input, [{ type: 'acknowledge', action: { by: 'alice' }, atMs: T0 + 1_000 }, tick(T0 + 1_001)], firing).state;
    const { commands } = drive(input, [tick(T0 + 2_000, true)], acked);
    expect(commands).toEqual([{ type: 'continueAsNew', carried: { phase: 'acknowledged', value: 95, lastObservedMs: T0, firedAtMs: T0, acknowledgedBy: 'alice', acknowledgedAtMs: T0 + 1_000 } }]);
    // The next run starts from it: no pending view, the acknowledgement already recorded.
    const continued = inputOf({ duration: '0s' }, { carried: carriedState(acked) });
    const state = initialState(continued);
    expect(state).toMatchObject({ phase: 'acknowledged', acknowledgementRecorded: true, firedAtMs: T0 });
    expect(startCommands(state, continued, true)).toEqual([]);
    expect(startCommands({ ...state, phase: 'firing' }, continued, true)).toEqual([{ type: 'escalate' }]);
  });

  it('writes history rows with the duration since it fired', () => {
    const row = historyRow({ ...firing, value: 99 }, input, { alertId: 'a', workflowId: 'w' }, 'resolved', T0 + 5 * 60_000 + 1, 'condition cleared');
    expect(row).toMatchObject({ alert_id: 'a', workflow_id: 'w', status: 'resolved', actual_value: 99, duration_minutes: 5, threshold_value: 90, metric_name: 'cpu_usage_percent', resolution_notes: 'condition cleared' });
  });
});
