import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../../activities';
import type { AlertInput, AlertOutcome, AlertView, HistoryRow, Observation } from '../../../core/alert';
import type { NotificationRequest } from '../../../activities/notify';
import type { FiringMemory } from '../../../core/dedup';
import { parseEscalationPolicy, type EscalationPolicy } from '../../../core/escalation';
import { parseRuleDocument } from '../../../core/rules';
import type { ActiveAlert } from '../../../core/types';
import { quietTemporalLogs, timeSkippingEnv, uniqueName, workflowBundle } from '../../helpers/stack';

quietTemporalLogs();

const [rule] = parseRuleDocument(
  'seed:\n  system_health:\n    - {name: high_cpu_usage, expression: "cpu_usage_percent > 80", duration: 5m, severity: warning}\n',
).flatMap((g) => g.rules);

/** POLICY pages the on-call in Slack and by e-mail, the lead after 5 minutes, and repeats once. */
const POLICY = parseEscalationPolicy(
  {
    name: 'ml-team-oncall',
    repeat: 1,
    steps: [
      { wait: '5m', targets: [{ slack: '#ml-alerts' }, { email: 'oncall@example.com' }] },
      { wait: '15m', targets: [{ slack: '#ml-alerts' }, { email: 'lead@example.com' }] },
    ],
  },
  'policy',
);

describe('alertLifecycleWorkflow (time-skipping, recorded activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(() => env?.teardown());

  type Handle = Awaited<ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>>;
  async function runAlert(
    script: (signal: (o: Omit<Observation, 'atMs'>) => Promise<void>, handle: Handle, active: Map<string, ActiveAlert>) => Promise<void>,
    extra: Partial<AlertInput> = {},
    options: {
      policy?: EscalationPolicy;
      failChannel?: 'slack' | 'email';
      memory?: Map<string, FiringMemory>;
      mutedUntilMs?: number;
      snapshotFails?: boolean;
      /** The rule's evaluation stretch at a given time (redisKeys.ruleCoverage); none recorded by default. */
      coverage?: (nowMs: number) => { sinceMs: number; lastMs: number } | undefined;
    } = {},
  ) {
    const history: HistoryRow[] = [];
    const active = new Map<string, ActiveAlert>();
    const sent: Array<NotificationRequest & { atMs: number }> = [];
    const redraws: Array<{ keys: string[]; status: string; by?: string; note?: string; atMs: number }> = [];
    const memory = options.memory ?? new Map<string, FiringMemory>();
    const activities: Pick<
      Activities,
      | 'setActiveAlert'
      | 'closeActiveAlert'
      | 'recordAlertTransition'
      | 'escalationSnapshot'
      | 'deliverNotification'
      | 'updateSlackMessages'
      | 'recallFirings'
      | 'rememberNotified'
      | 'rememberResolved'
      | 'notificationGate'
      | 'ruleCoverage'
    > = {
      async ruleCoverage() {
        return options.coverage?.(await env.currentTimeMs());
      },
      async notificationGate() {
        const until = options.mutedUntilMs;
        if (until === undefined) return { muted: false, reason: 'not silenced or inhibited' };
        return (await env.currentTimeMs()) < until
          ? { muted: true, reason: 'silenced by silence_test', untilMs: until }
          : { muted: false, reason: 'not silenced or inhibited' };
      },
      async escalationSnapshot() {
        if (options.snapshotFails) throw new Error('config/escalation.yaml: policies[0].steps: expected at least one step');
        return { policy: options.policy ?? POLICY, dedup: { windowMs: 300_000, maxPerHour: 2 }, timeoutMs: 30_000, maxAttempts: 2 };
      },
      async recallFirings(fp) {
        const m = memory.get(fp);
        return m ? { ...m, notifiedAtMs: [...m.notifiedAtMs], messages: [...m.messages] } : { notifiedAtMs: [], messages: [] };
      },
      async rememberNotified(fp, atMs, messages) {
        const m = memory.get(fp) ?? { notifiedAtMs: [], messages: [] };
        if (atMs !== undefined && !m.notifiedAtMs.includes(atMs)) m.notifiedAtMs.push(atMs);
        memory.set(fp, { ...m, messages });
      },
      async rememberResolved(fp, atMs) {
        memory.set(fp, { ...(memory.get(fp) ?? { notifiedAtMs: [], messages: [] }), lastResolvedAtMs: atMs });
      },
      async deliverNotification(req) {
        if (options.failChannel === req.target.channel) throw ApplicationFailure.nonRetryable('channel down');
        sent.push({ ...req, atMs: await env.currentTimeMs() });
        return req.target.channel === 'slack'
          ? { key: req.key, channel: 'slack', to: req.target.to, slackChannel: 'C0ALERTS', ts: `${sent.length}.000` }
          : { key: req.key, channel: 'email', to: req.target.to, messageId: `<${sent.length}@test>` };
      },
      async updateSlackMessages(req) {
        redraws.push({
          keys: req.messages.map((m) => m.ts),
          status: req.state.status,
          ...(req.state.acknowledgedBy ? { by: req.state.acknowledgedBy } : {}),
          ...(req.state.note ? { note: req.state.note } : {}),
          atMs: await env.currentTimeMs(),
        });
        return req.messages.length;
      },
      async setActiveAlert(alert) {
        active.set(alert.alert_id, alert);
      },
      async closeActiveAlert(alert) {
        active.delete(alert.alert_id);
      },
      async recordAlertTransition(row) {
        history.push(row);
      },
    };
    const taskQueue = uniqueName('lifecycle');
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: workflowBundle(), activities });
    const startMs = await env.currentTimeMs();
    const input: AlertInput = {
      fingerprint: 'f1',
      rule: rule!,
      labels: { service: 'ml-inference' },
      service: 'ml-inference',
      instance: 'i-1',
      firstBreach: { breaching: true, value: 87, atMs: startMs },
      staleAfterMs: 120_000,
      ...extra,
    };
    const outcome = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('alertLifecycleWorkflow', { taskQueue, workflowId: uniqueName('alert'), args: [input] });
      await script(async (o) => handle.signal('observe', { ...o, atMs: await env.currentTimeMs() }), handle, active);
      return (await handle.result()) as AlertOutcome;
    });
    return { outcome, history, active, startMs, sent, redraws };
  }

  it('stays pending under the duration, fires on the first evaluation past 5 m, and resolves when the condition clears', async () => {
    const { outcome, history, active, startMs } = await runAlert(async (observe) => {
      for (let i = 0; i < 12; i++) {
        await env.sleep('30s');
        await observe({ breaching: true, value: 88 + i });
      }
      await env.sleep('30s');
      await observe({ breaching: false, value: 40 });
    });
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared', fired: true });
    expect(history.map((r) => [r.status, r.actual_value])).toEqual([
      ['firing', 97],
      ['resolved', 40],
    ]);
    // The 10th evaluation (5 m after the first breach) is the first allowed to fire.
    expect(history[0]!.timestampMs - startMs).toBeGreaterThanOrEqual(300_000);
    expect(history[0]!.timestampMs - startMs).toBeLessThan(330_000);
    expect(history[1]!.duration_minutes).toBe(1);
    expect(active.size).toBe(0);
  });

  it('ends without firing or any history row when the breach clears while pending', async () => {
    const { outcome, history, active } = await runAlert(async (observe) => {
      await env.sleep('90s');
      await observe({ breaching: false, value: 50 });
    });
    expect(outcome).toMatchObject({ phase: 'inactive', reason: 'condition-cleared', fired: false });
    expect(history).toEqual([]);
    expect(active.size).toBe(0);
  });

  it('resolves a firing alert as stale when evaluations stop reporting its series', async () => {
    const { outcome, history } = await runAlert(async (observe) => {
      for (let i = 0; i < 11; i++) {
        await env.sleep('30s');
        await observe({ breaching: true, value: 90 });
      }
      // No further observations: the workflow's stale timer (2 m) ends it, with time skipped.
    });
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'stale', fired: true });
    expect(history.map((r) => [r.status, r.resolution_notes])).toEqual([
      ['firing', ''],
      ['resolved', 'no data: series not reported'],
    ]);
  });

  it('does not call a firing alert stale while nothing evaluated its rule (Temporal or the workers down)', async () => {
    // Evaluations every 30 s until 5.5 m, none for the next 10 m, then again from 15.5 m.
    let startMs = 0;
    let resumedAtMs = Infinity;
    const coverage = (nowMs: number) => {
      const lastBeforeGap = startMs + 330_000;
      return nowMs < resumedAtMs ? { sinceMs: startMs, lastMs: Math.min(nowMs, lastBeforeGap) } : { sinceMs: resumedAtMs, lastMs: nowMs };
    };
    const { outcome, history } = await runAlert(
      async (observe, handle) => {
        startMs = (await env.currentTimeMs()) - 1;
        for (let i = 0; i < 11; i++) {
          await env.sleep('30s');
          await observe({ breaching: true, value: 90 });
        }
        // Ten minutes without any evaluation: by the clock alone it would have ended as stale after 2.
        await env.sleep('10m');
        expect(await handle.query('state')).toMatchObject({ phase: 'firing' });
        // Evaluation resumes and still sees the breach: the same alert goes on; then it clears.
        resumedAtMs = await env.currentTimeMs();
        await observe({ breaching: true, value: 93 });
        await env.sleep('30s');
        await observe({ breaching: false, value: 40 });
      },
      {},
      { coverage },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared', fired: true });
    expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
  });

  it('still calls it stale when its rule was evaluated without seeing the series for the stale period', async () => {
    let startMs = 0;
    const { outcome } = await runAlert(
      async (observe) => {
        startMs = (await env.currentTimeMs()) - 1;
        await fireFor(observe);
      },
      {},
      { coverage: (nowMs) => ({ sinceMs: startMs, lastMs: nowMs }) },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'stale', fired: true });
  });

  const fireFor = async (observe: (o: Omit<Observation, 'atMs'>) => Promise<void>) => {
    for (let i = 0; i < 11; i++) {
      await env.sleep('30s');
      await observe({ breaching: true, value: 91 });
    }
  };

  it('keeps a fired alert firing through a short clear with keep_firing_for, and resolves once it stays clear that long', async () => {
    const [held] = parseRuleDocument(
      'seed:\n  system_health:\n    - {name: held_cpu, expression: "cpu_usage_percent > 80", duration: 1m, keep_firing_for: 2m, severity: warning}\n',
    ).flatMap((g) => g.rules);
    const { outcome, history } = await runAlert(
      async (observe, handle) => {
        for (let i = 0; i < 3; i++) {
          await env.sleep('30s');
          await observe({ breaching: true, value: 90 });
        }
        // Clear for a minute, then breaching again: the same alert, never resolved.
        await env.sleep('30s');
        await observe({ breaching: false, value: 50 });
        await env.sleep('30s');
        await observe({ breaching: false, value: 50 });
        expect(await handle.query('state')).toMatchObject({ phase: 'firing' });
        await env.sleep('30s');
        await observe({ breaching: true, value: 91 });
        // Now clear for good: it resolves 2 minutes after the first clear evaluation.
        for (let i = 0; i < 5; i++) {
          await env.sleep('30s');
          await observe({ breaching: false, value: 40 });
        }
      },
      { rule: held! },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
    expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
    // Fired at 1 m; the last clear streak began at 3.5 m; resolved 2 m later, at 5.5 m (not at the 2 m clear).
    expect(history[1]!.timestampMs - history[0]!.timestampMs).toBeGreaterThanOrEqual(270_000);
    expect(history[1]!.timestampMs - history[0]!.timestampMs).toBeLessThan(300_000);
  });

  it('keeps a firing alert whose series stops reporting when its rule says no_data: keep', async () => {
    const [kept] = parseRuleDocument(
      'seed:\n  system_health:\n    - {name: kept_cpu, expression: "cpu_usage_percent > 80", duration: 1m, no_data: keep, severity: warning}\n',
    ).flatMap((g) => g.rules);
    const { outcome } = await runAlert(
      async (observe, handle) => {
        for (let i = 0; i < 3; i++) {
          await env.sleep('30s');
          await observe({ breaching: true, value: 90 });
        }
        // Ten minutes of silence: with the default (resolve) it would have ended as stale after 2.
        await env.sleep('10m');
        expect(await handle.query('state')).toMatchObject({ phase: 'firing' });
        await observe({ breaching: false, value: 40 });
      },
      { rule: kept! },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
  });

  it('records who acknowledged, keeps it on the resolution, and refuses a second acknowledgement', async () => {
    const { outcome, history } = await runAlert(async (observe, handle, active) => {
      await expect(handle.executeUpdate('acknowledge', { args: [{ by: 'early' }] })).rejects.toMatchObject({ cause: { message: expect.stringContaining('alert is pending') } });
      await fireFor(observe);
      const view = (await handle.executeUpdate('acknowledge', { args: [{ by: 'alice' }] })) as AlertView;
      expect(view).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'alice' });
      await expect(handle.executeUpdate('acknowledge', { args: [{ by: 'bob' }] })).rejects.toMatchObject({ cause: { message: 'alert already acknowledged by alice' } });
      await env.sleep('30s');
      await observe({ breaching: true, value: 92 });
      expect([...active.values()][0]).toMatchObject({ status: 'acknowledged', acknowledged_by: 'alice' });
      await observe({ breaching: false, value: 10 });
    });
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
    expect(history.map((r) => [r.status, r.acknowledged_by])).toEqual([
      ['firing', ''],
      ['acknowledged', 'alice'],
      ['resolved', 'alice'],
    ]);
  });
  // Resolving by hand (an update that ends the workflow) is tested on the dev server: test/integration/alerting.test.ts.

  it('continues as new during a long-lived alert without repeating a transition', async () => {
    const { outcome, history } = await runAlert(
      async (observe, handle) => {
        await fireFor(observe);
        await handle.executeUpdate('acknowledge', { args: [{ by: 'erin' }] });
        for (let i = 0; i < 7; i++) {
          await env.sleep('30s');
          await observe({ breaching: true, value: 93 });
        }
        expect(await handle.query('state')).toMatchObject({ phase: 'acknowledged', acknowledgedBy: 'erin' });
        // The alert now lives in a later run than the one started.
        expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
        await env.sleep('30s');
        await observe({ breaching: false, value: 20 });
      },
      { maxObservationsPerRun: 3 },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared', fired: true });
    expect(history.map((r) => [r.status, r.acknowledged_by])).toEqual([
      ['firing', ''],
      ['acknowledged', 'erin'],
      ['resolved', 'erin'],
    ]);
    expect(history[2]!.duration_minutes).toBe(4);
  });

  describe('escalation', () => {
    /** inOrder sorts deliveries by step, then channel (a step's targets are notified in parallel). */
    const inOrder = <T extends { step: { index: number }; target: { channel: string } }>(sent: T[]) =>
      [...sent].sort((a, b) => a.step.index - b.step.index || b.target.channel.localeCompare(a.target.channel));

    /** breachFor keeps the alert breaching for `minutes` of evaluations, every 30 s (or every `everyMinutes`). */
    async function breachFor(observe: (o: Omit<Observation, 'atMs'>) => Promise<void>, minutes: number, everyMinutes = 0.5) {
      for (let i = 0; i < minutes / everyMinutes; i++) {
        await env.sleep(everyMinutes * 60_000);
        await observe({ breaching: true, value: 91 });
      }
    }

    it('pages level 1 when the alert fires and level 2 when nobody acknowledges within 5 minutes', async () => {
      let firedAtMs = 0;
      const { sent, history } = await runAlert(async (observe) => {
        await fireFor(observe);
        await breachFor(observe, 6);
        await env.sleep('30s');
        await observe({ breaching: false, value: 40 });
      });
      firedAtMs = history[0]!.timestampMs;
      expect(inOrder(sent).map((n) => [n.step.level, n.target.channel, n.target.to])).toEqual([
        [1, 'slack', '#ml-alerts'],
        [1, 'email', 'oncall@example.com'],
        [2, 'slack', '#ml-alerts'],
        [2, 'email', 'lead@example.com'],
      ]);
      // Level 1 at once, level 2 five minutes later (within one evaluation's wake-up).
      const [level1, , level2] = inOrder(sent);
      expect(level1!.atMs - firedAtMs).toBeLessThan(2_000);
      expect(level2!.atMs - level1!.atMs).toBeGreaterThanOrEqual(300_000);
      expect(level2!.atMs - level1!.atMs).toBeLessThan(302_000);
      // One key per (alert, step, channel, destination): nothing sent twice.
      expect(new Set(sent.map((n) => n.key)).size).toBe(sent.length);
    });

    it('keeps escalating across continue-as-new: level 2 still pages 5 minutes after level 1', async () => {
      const { sent, history, outcome } = await runAlert(
        async (observe) => {
          await fireFor(observe);
          await breachFor(observe, 6);
          await env.sleep('30s');
          await observe({ breaching: false, value: 40 });
        },
        { maxObservationsPerRun: 3 },
      );
      expect(outcome).toMatchObject({ phase: 'resolved', fired: true });
      expect(inOrder(sent).map((n) => [n.step.level, n.target.channel])).toEqual([
        [1, 'slack'],
        [1, 'email'],
        [2, 'slack'],
        [2, 'email'],
      ]);
      const [level1, , level2] = inOrder(sent);
      expect(level2!.atMs - level1!.atMs).toBeGreaterThanOrEqual(300_000);
      expect(level2!.atMs - level1!.atMs).toBeLessThan(302_000);
      expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
    });

    it('stops escalating once acknowledged and redraws the Slack message with who acknowledged, then as resolved', async () => {
      const { sent, redraws } = await runAlert(async (observe, handle) => {
        await fireFor(observe);
        await breachFor(observe, 2);
        await handle.executeUpdate('acknowledge', { args: [{ by: 'slack:alice' }] });
        // Two hours more of breach: no further page.
        await breachFor(observe, 120);
        await env.sleep('30s');
        await observe({ breaching: false, value: 40 });
      });
      expect(sent.map((n) => n.step.level)).toEqual([1, 1]);
      expect(redraws.map((r) => [r.status, r.by, r.keys.length])).toEqual([
        ['acknowledged', 'slack:alice', 1],
        ['resolved', 'slack:alice', 1],
      ]);
    });

    it('runs 24 hours of an unacknowledged alert in seconds: every step of every round, once, then stops', async () => {
      const started = Date.now();
      // Evaluations every 10 minutes (and a staleness bound above that) keep the test's own round trips few.
      const { sent, history } = await runAlert(
        async (observe) => {
          await fireFor(observe);
          await breachFor(observe, 24 * 60, 10);
          await env.sleep('30s');
          await observe({ breaching: false, value: 40 });
        },
        { staleAfterMs: 3_600_000 },
      );
      // 2 steps × 2 targets × (1 + 1 repeat) rounds, then the policy is exhausted.
      expect(inOrder(sent).map((n) => `${n.step.round}/${n.step.level}/${n.target.channel}`)).toEqual([
        '0/1/slack', '0/1/email', '0/2/slack', '0/2/email', '1/1/slack', '1/1/email', '1/2/slack', '1/2/email',
      ]);
      const ordered = inOrder(sent);
      expect(ordered[4]!.atMs - ordered[2]!.atMs).toBeGreaterThanOrEqual(15 * 60_000);
      expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
      expect(history[1]!.duration_minutes).toBeGreaterThanOrEqual(24 * 60);
      expect(Date.now() - started).toBeLessThan(60_000);
    });

    it('keeps paging on the channels that work when one channel fails for good', async () => {
      const { sent } = await runAlert(
        async (observe) => {
          await fireFor(observe);
          await breachFor(observe, 6);
          await env.sleep('30s');
          await observe({ breaching: false, value: 40 });
        },
        {},
        { failChannel: 'email' },
      );
      expect(sent.map((n) => [n.step.level, n.target.channel])).toEqual([
        [1, 'slack'],
        [2, 'slack'],
      ]);
    });

    it('still resolves an alert whose escalation is stuck (its policy cannot be read), at the time it cleared', async () => {
      let clearedAtMs = 0;
      const { outcome, history, sent } = await runAlert(
        async (observe) => {
          await fireFor(observe);
          await env.sleep('30s');
          clearedAtMs = await env.currentTimeMs();
          await observe({ breaching: false, value: 40 });
        },
        {},
        { snapshotFails: true },
      );
      expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared' });
      expect(sent).toHaveLength(0);
      expect(history.map((r) => r.status)).toEqual(['firing', 'resolved']);
      expect(history[1]!.timestampMs - clearedAtMs).toBeLessThan(1_000);
    });

    it('holds pages back while a silence lasts and sends them when it ends, if the alert still fires', async () => {
      const startMs = await env.currentTimeMs();
      const { sent } = await runAlert(
        async (observe, handle) => {
          await fireFor(observe);
          expect(await handle.query('state')).toMatchObject({ escalation: { mutedBy: 'silenced by silence_test', stepsRun: 0 } });
          await breachFor(observe, 12);
          await env.sleep('30s');
          await observe({ breaching: false, value: 40 });
        },
        {},
        { mutedUntilMs: startMs + 10 * 60_000 },
      );
      // Fired at ~5 min but silenced until 10 min: level 1 goes at the silence's end, not before.
      const [first] = inOrder(sent);
      expect(first!.atMs - startMs).toBeGreaterThanOrEqual(10 * 60_000);
      expect(first!.atMs - startMs).toBeLessThan(10 * 60_000 + 2_000);
    });

    // Re-fires span several workflow runs, whose endings let the time-skipping server jump ahead: dedup and flap
    // damping are tested on the dev server in real time (test/integration/flapping.test.ts).
  });
});
