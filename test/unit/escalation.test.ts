import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mustSignal, REFRESH_INTERVALS, refireDecision, silenceLimitMs, vanished, type FiringMemory } from '../../core/dedup';
import { fingerprint } from '../../core/fingerprint';
import { escalationPlan, parseEscalationConfig, policyNameOf } from '../../core/escalation';
import { alertNotification, emailMessage, slackMessage } from '../../core/notification';
import { parseRuleDocument } from '../../core/rules';

const shipped = () => parseEscalationConfig(readFileSync(path.resolve(__dirname, '../../config/escalation.yaml'), 'utf8'), 'config/escalation.yaml');

describe('escalation policies', () => {
  it('ships the seed’s ml-team-oncall as the default policy, and unrolls its steps and repeats in order', () => {
    const config = shipped();
    expect(config.defaultPolicy).toBe('ml-team-oncall');
    const policy = config.policies.find((p) => p.name === 'ml-team-oncall')!;
    const plan = escalationPlan(policy);
    expect(plan).toHaveLength(policy.steps.length * (policy.repeat + 1));
    expect(plan.slice(0, 4).map((s) => [s.index, s.level, s.round, s.waitMs])).toEqual([
      [0, 1, 0, 300_000],
      [1, 2, 0, 900_000],
      [2, 3, 0, 1_800_000],
      [3, 1, 1, 300_000],
    ]);
  });

  it('names the field of a bad policy file', () => {
    const bad = (yaml: string) => () => parseEscalationConfig(yaml, 'x.yaml');
    expect(bad('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{pager: x}]}]}]')).toThrow('x.yaml: policies[0].steps[0].targets[0].pager: unknown channel');
    expect(bad('default_policy: a\npolicies: [{name: a, steps: [{wait: soon, targets: [{email: a@b.c}]}]}]')).toThrow('policies[0].steps[0].wait');
    expect(bad('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{email: nobody}]}]}]')).toThrow('targets[0].email: expected an e-mail address');
    expect(bad('default_policy: b\npolicies: [{name: a, steps: [{wait: 5m, targets: [{slack: "#x"}]}]}]')).toThrow('default_policy');
    expect(bad('default_policy: a\npolicies: [{name: a, repeat: 99, steps: [{wait: 5m, targets: [{slack: "#x"}]}]}]')).toThrow('repeat');
    expect(bad('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{webhook: "ftp://x"}]}]}]')).toThrow('targets[0].webhook: expected an http(s) URL');
  });

  it('takes a webhook URL as a target', () => {
    const config = parseEscalationConfig('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{webhook: "https://hooks.example.com/am"}]}]}]', 'x.yaml');
    expect(config.policies[0]!.steps[0]!.targets).toEqual([{ channel: 'webhook', to: 'https://hooks.example.com/am' }]);
  });

  it('takes an on-call schedule as a target, resolved when the step runs (a bad name refused by its field)', () => {
    const config = parseEscalationConfig('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{slack: "#x"}, {oncall: trading-oncall}, {oncall: trading-oncall}]}]}]', 'x.yaml');
    expect(config.policies[0]!.steps[0]).toEqual({ waitMs: 300_000, targets: [{ channel: 'slack', to: '#x' }], oncall: ['trading-oncall'] });
    expect(escalationPlan(config.policies[0]!)[0]).toMatchObject({ targets: [{ channel: 'slack', to: '#x' }], oncall: ['trading-oncall'] });
    expect(() => parseEscalationConfig('default_policy: a\npolicies: [{name: a, steps: [{wait: 5m, targets: [{oncall: "Trading On-Call"}]}]}]', 'x.yaml')).toThrow('targets[0].oncall: expected the name of an on-call schedule');
  });

  it('picks the policy a rule names (label or annotation), else the default', () => {
    expect(policyNameOf({ labels: {}, annotations: {} }, { defaultPolicy: 'd' })).toBe('d');
    expect(policyNameOf({ labels: { escalation_policy: 'l' }, annotations: { escalation_policy: 'a' } }, { defaultPolicy: 'd' })).toBe('l');
    expect(policyNameOf({ labels: {}, annotations: { escalation_policy: 'a' } }, { defaultPolicy: 'd' })).toBe('a');
  });
});

describe('re-fire suppression (dedup window and flap damping)', () => {
  const policy = { windowMs: 300_000, maxPerHour: 2 };
  const at = (minutes: number) => Date.UTC(2026, 10, 28, 12, 0) + minutes * 60_000;
  const memory = (m: Partial<FiringMemory>): FiringMemory => ({ notifiedAtMs: [], messages: [], ...m });

  it('notifies a first firing', () => {
    expect(refireDecision(memory({}), at(0), at(5), policy)).toEqual({ notify: true, reason: 'first firing in the last hour' });
  });
  it('suppresses a breach that began within the window after the last resolution, even if `for` delays its firing past it', () => {
    const decision = refireDecision(memory({ lastResolvedAtMs: at(0), notifiedAtMs: [at(-10)] }), at(4), at(9), policy);
    expect(decision).toEqual({ notify: false, reason: 'breached again 240s after the last resolution, within the 300s dedup window' });
  });
  it('notifies past the window, at most twice an hour', () => {
    expect(refireDecision(memory({ lastResolvedAtMs: at(0), notifiedAtMs: [at(-10)] }), at(6), at(6), policy).notify).toBe(true);
    expect(refireDecision(memory({ lastResolvedAtMs: at(0), notifiedAtMs: [at(-30), at(-10)] }), at(6), at(6), policy)).toEqual({
      notify: false,
      reason: 'flapping: 2 notifications in the last hour (at most 2)',
    });
    // An hour after the first of them, one slot frees up.
    expect(refireDecision(memory({ lastResolvedAtMs: at(0), notifiedAtMs: [at(-30), at(-10)] }), at(31), at(31), policy).notify).toBe(true);
  });
});

describe('notification content', () => {
  const [rule] = parseRuleDocument(
    'seed:\n  errors:\n    - name: high_error_rate\n      expression: "error_rate_percent > 3"\n      duration: 5m\n      severity: critical\n      annotations:\n        summary: Error rate exceeded critical threshold\n        description: "ML inference error rate has been above 3% for 5 minutes <check>"\n        suggested_actions: "Check model serving health; Verify feature service connectivity"\n        runbook_url: https://docs.quantumtrade.ai/runbooks/ml-inference-errors\n',
  ).flatMap((g) => g.rules);
  const n = alertNotification(
    { fingerprint: 'f', rule: rule!, labels: {}, service: 'ml-inference', instance: 'i-1', firstBreach: { breaching: true, value: 5.2, atMs: 0 }, staleAfterMs: 1 },
    { alertId: 'alert_7829', value: 5.2, firedAtMs: Date.UTC(2025, 6, 26, 10, 30), policy: 'ml-team-oncall', workflowUrl: 'http://ui/wf', step: { level: 1, round: 0 } },
  );

  it('carries the seed’s alert notification fields', () => {
    expect(n).toMatchObject({
      alert_id: 'alert_7829',
      timestamp: '2025-07-26T10:30:00.000Z',
      severity: 'critical',
      service: 'ml-inference',
      metric: 'error_rate_percent',
      current_value: 5.2,
      threshold: 3,
      message: 'Error rate exceeded critical threshold',
      suggested_actions: ['Check model serving health', 'Verify feature service connectivity'],
      runbook_url: 'https://docs.quantumtrade.ai/runbooks/ml-inference-errors',
      escalation_policy: 'ml-team-oncall',
      correlation_id: 'alert_7829',
    });
  });

  it('draws Slack buttons while firing, only Resolve once acknowledged, none once resolved; escapes mrkdwn', () => {
    const actions = (status: 'firing' | 'acknowledged' | 'resolved') =>
      (slackMessage(n, { status, acknowledgedBy: 'alice' }).blocks as Array<{ type: string; elements?: Array<{ action_id: string }> }>)
        .find((b) => b.type === 'actions')
        ?.elements?.map((e) => e.action_id);
    expect(actions('firing')).toEqual(['alert_acknowledge', 'alert_resolve']);
    expect(actions('acknowledged')).toEqual(['alert_resolve']);
    expect(actions('resolved')).toBeUndefined();
    expect(JSON.stringify(slackMessage(n, { status: 'firing' }).blocks)).toContain('&lt;check&gt;');
  });

  it('writes e-mail with both links in text and HTML, HTML-escaped', () => {
    const mail = emailMessage(n, { acknowledge: 'http://x/ack?token=a&b', resolve: 'http://x/ack?token=r' });
    expect(mail.subject).toBe('[CRITICAL] Error rate exceeded critical threshold — ml-inference');
    expect(mail.text).toContain('Acknowledge: http://x/ack?token=a&b');
    expect(mail.html).toContain('href="http://x/ack?token=a&amp;b"');
    expect(mail.html).toContain('&lt;check&gt;');
  });
});

describe('mustSignal: which evaluation verdicts reach an open alert', () => {
  const interval = 30_000;
  const t = 10_000_000;
  it('sends every change, every verdict while the alert may be pending, and a steady breach once in REFRESH_INTERVALS evaluations', () => {
    expect(mustSignal(undefined, true, t, 300_000, interval)).toBe(true);
    expect(mustSignal({ firstMs: t - 60_000, lastMs: t - 30_000, breaching: false }, true, t, 0, interval)).toBe(true);
    expect(mustSignal({ firstMs: t - 900_000, lastMs: t - 30_000, breaching: true }, false, t, 0, interval)).toBe(true);
    // 5 m `for`: until 5 m + 2 intervals after the breach began, every verdict goes (the firing needs one).
    expect(mustSignal({ firstMs: t - 330_000, lastMs: t - 30_000, breaching: true }, true, t, 300_000, interval)).toBe(true);
    // Surely firing: a steady breach goes on its slot, never twice in one evaluation, and a missed slot is made up.
    const firstAgo = 40 * interval;
    const told = (fp: string, lastAgo: number) => mustSignal({ firstMs: t - firstAgo, lastMs: t - lastAgo, breaching: true }, true, t, 300_000, interval, fp);
    // tick 40 from the breach: slot 0 is due, slot 3 is not.
    expect(told('f0000', REFRESH_INTERVALS * interval)).toBe(true);
    expect(told('f0000', 10_000)).toBe(false);
    expect(told('f0003', 3 * interval)).toBe(false);
    expect(told('f0003', (REFRESH_INTERVALS + 1) * interval)).toBe(true);
  });

  it('spreads alerts that opened together over the ticks, each told once a refresh period, none silent near the limit', () => {
    // 1,000 alerts breaching since the same tick, followed for three refresh periods with a little jitter.
    const first = t;
    const fps = Array.from({ length: 1000 }, (_, i) => fingerprint('load_high', { instance: `load-${i}` }));
    const last = new Map(fps.map((fp) => [fp, first]));
    const perTick: number[] = [];
    const gaps: number[] = [];
    for (let k = 1; k <= 3 * REFRESH_INTERVALS; k++) {
      const now = first + k * interval + ((k * 37) % 11) * 100;
      let told = 0;
      for (const fp of fps) {
        if (!mustSignal({ firstMs: first, lastMs: last.get(fp)!, breaching: true }, true, now, 0, interval, fp)) continue;
        if (k > 3) gaps.push(now - last.get(fp)!);
        last.set(fp, now);
        told++;
      }
      if (k > REFRESH_INTERVALS + 3) perTick.push(told);
    }
    // Past the `for` margin: about 1/REFRESH_INTERVALS on each tick; nobody waits longer than a refresh period and a tick.
    for (const n of perTick) expect(Math.abs(n - 1000 / REFRESH_INTERVALS)).toBeLessThan(0.6 * (1000 / REFRESH_INTERVALS));
    expect(Math.max(...gaps)).toBeLessThan((REFRESH_INTERVALS + 1.5) * interval);
    expect(Math.max(...gaps)).toBeLessThan(silenceLimitMs(interval) / 2);
  });
});

describe('vanished: when the evaluator tells an open alert that its series is gone', () => {
  const interval = 30_000;
  const stale = 4 * interval;
  const t = 10_000_000;
  const beat = { firstMs: t - 600_000, lastMs: t - 300_000, breaching: true, seenMs: t - 150_000 };
  it('after the stale period of evaluations without the series, counted from the last sighting', () => {
    expect(vanished({ ...beat, seenMs: t - 90_000 }, t, t - 3_600_000, stale, interval)).toBe(false);
    expect(vanished(beat, t, t - 3_600_000, stale, interval)).toBe(true);
  });
  it('not across a gap in evaluation: the stretch of evaluations counts, not the clock', () => {
    // The rule was evaluated again only 60 s ago after an outage: 60 s without the series, not 150.
    expect(vanished(beat, t, t - 60_000, stale, interval)).toBe(false);
    expect(vanished(beat, t, t - stale, stale, interval)).toBe(true);
  });
  it('told once a refresh period until the workflow ends; a heartbeat without seenMs counts from the last word', () => {
    expect(vanished({ ...beat, staleMs: t - interval }, t, 0, stale, interval)).toBe(false);
    expect(vanished({ ...beat, staleMs: t - REFRESH_INTERVALS * interval }, t, 0, stale, interval)).toBe(true);
    const { seenMs: _seen, ...old } = beat;
    expect(vanished(old, t, 0, stale, interval)).toBe(true);
    expect(vanished({ ...old, lastMs: t - 60_000 }, t, 0, stale, interval)).toBe(false);
  });
});
