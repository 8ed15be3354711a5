import { backtestRule, diffAgainstActual, type BacktestInput } from '../../core/backtest';
import { parseEscalationPolicy } from '../../core/escalation';
import { parseRule } from '../../core/rules';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const STEP = 30_000;
const at = (i: number) => new Date(T0 + i * STEP).toISOString();

/** input replays `values` (one per evaluation, undefined: the series absent) through a rule and a two-step policy. */
function input(values: Array<number | undefined>, rule: Record<string, unknown> = {}, extra: Partial<BacktestInput> = {}): BacktestInput {
  return {
    rule: parseRule({ name: 'cpu', expression: 'cpu_usage_percent > 95', duration: '1m', severity: 'critical', ...rule }, 'g', 'rule'),
    instants: values.map((_, i) => T0 + i * STEP),
    intervalMs: STEP,
    series: [{ service: 'svc', instance: 'i-1', labels: {}, verdicts: values.map((v) => (v === undefined ? undefined : { breaching: v > 95, value: v })) }],
    policy: parseEscalationPolicy({ name: 'p', steps: [{ wait: '5m', targets: [{ slack: '#a' }] }, { wait: '10m', targets: [{ email: 'lead@x.io' }, { oncall: 'primary' }] }] }, 'p'),
    dedup: { windowMs: 300_000, maxPerHour: 2 },
    silences: [],
    inhibitRules: [],
    firing: [],
    ...extra,
  };
}

describe('backtestRule', () => {
  it('fires once `for` has passed, pages each step at its wait until it resolves, and resolves at the first clear evaluation', () => {
    // Breaching from evaluation 2 to 25 (12 minutes), clear from 26.
    const values = Array.from({ length: 30 }, (_, i) => (i >= 2 && i <= 25 ? 97 : 50));
    const [alert, ...rest] = backtestRule(input(values));
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({ first_breach: at(2), fired_at: at(4), resolved_at: at(26), resolution: 'condition cleared', decision: 'first firing in the last hour' });
    expect(alert!.notifications).toEqual([
      { at: at(4), level: 1, round: 0, targets: ['slack:#a'] },
      { at: at(14), level: 2, round: 0, targets: ['email:lead@x.io', 'oncall:primary'] },
    ]);
  });

  it('never fires a breach shorter than `for`, and holds a cleared alert for keep_firing_for', () => {
    expect(backtestRule(input([50, 97, 97, 50, 50]))[0]).toMatchObject({ fired_at: null, notifications: [] });
    const held = backtestRule(input([97, 97, 97, 50, 50, 50, 50, 50], { keep_firing_for: '1m' }))[0];
    expect(held).toMatchObject({ fired_at: at(2), resolved_at: at(5) });
  });

  it('resolves a series that went absent after the stale period, as the live evaluator tells it', () => {
    const alert = backtestRule(input([97, 97, 97, 97, undefined, undefined, undefined, undefined, undefined, undefined]))[0];
    expect(alert).toMatchObject({ fired_at: at(2), resolved_at: at(7), resolution: 'no data: series not reported' });
  });

  it('holds the page while a silence of the time mutes it, and suppresses a re-fire within the dedup window', () => {
    const silence = { id: 'silence_1', matchers: [{ name: 'service', value: 'svc', isRegex: false, isEqual: true }], startsAtMs: T0, endsAtMs: T0 + 6 * STEP, createdBy: 'ops', comment: 'deploy' };
    const [muted] = backtestRule(input(Array.from({ length: 12 }, () => 97), {}, { silences: [silence] }));
    expect(muted!.notifications[0]).toMatchObject({ at: at(6), level: 1, heldBack: expect.stringContaining('silenced by silence_1') });
    // Fires, resolves, breaches again two minutes later: the same incident, no page.
    const flap = backtestRule(input([97, 97, 97, 50, 50, 50, 50, 97, 97, 97, 97, 50]));
    expect(flap).toHaveLength(2);
    expect(flap[1]).toMatchObject({ fired_at: at(9), decision: expect.stringContaining('dedup window'), notifications: [] });
  });

  it('waits group_wait for a grouped policy\'s first batch', () => {
    const policy = parseEscalationPolicy({ name: 'g', group_by: ['alertname'], group_wait: '30s', steps: [{ wait: '5m', targets: [{ slack: '#a' }] }] }, 'p');
    const [alert] = backtestRule(input(Array.from({ length: 8 }, () => 97), {}, { policy }));
    expect(alert!.notifications[0]).toMatchObject({ at: at(3), group: expect.stringContaining('alert-group/backtest/g/') });
  });
});

describe('diffAgainstActual', () => {
  it('pairs overlapping occurrences of a series and names the rest', () => {
    const replayed = backtestRule(input(Array.from({ length: 30 }, (_, i) => (i >= 2 && i <= 25 ? 97 : 50))));
    const diff = diffAgainstActual(
      replayed,
      [
        { alert_id: 'a1', service: 'svc', instance: 'i-1', fired_at: new Date(T0 + 4 * STEP + 12_000).toISOString(), resolved_at: new Date(T0 + 26 * STEP + 5_000).toISOString() },
        { alert_id: 'a2', service: 'svc', instance: 'i-2', fired_at: at(3), resolved_at: null },
      ],
      T0 + 30 * STEP,
    );
    expect(diff.matched).toEqual([expect.objectContaining({ alert_id: 'a1', fired_delta_s: -12, resolved_delta_s: -5 })]);
    expect(diff.only_actual.map((a) => a.alert_id)).toEqual(['a2']);
    expect(diff.only_backtest).toEqual([]);
  });
});
