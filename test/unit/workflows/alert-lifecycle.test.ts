import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AlertView } from '../../../core/alert';
import { parseRuleDocument } from '../../../core/rules';
import { alertHarness } from '../../helpers/alert-harness';
import { quietTemporalLogs, timeSkippingEnv } from '../../helpers/stack';

quietTemporalLogs();

describe('alertLifecycleWorkflow (time-skipping, recorded activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(() => env?.teardown());

  const { runAlert, fireFor } = alertHarness(() => env);

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

  // The lifecycle and the escalation are concurrent coroutines with local activities in flight together. A first
  // execution resumes them in the order the activities finish, a replay in the order they were scheduled: a worker
  // killed mid-alert left its replacement with a nondeterminism error and the alert's page unsent (worker-kill suite).
  it.each([
    ['the escalation reads slowly', { recallFirings: 60, notificationGate: 40, escalationSnapshot: 20 }],
    ['the lifecycle writes slowly', { setActiveAlert: 60, recordAlertTransition: 40 }],
    ['every read and write at its own pace', { recallFirings: 15, notificationGate: 45, escalationSnapshot: 5, setActiveAlert: 30, recordAlertTransition: 1, rememberNotified: 25 }],
  ])('replays a fired, paged and resolved alert whatever order its local activities finish in (%s)', async (_, delaysMs) => {
    const { outcome, sent, replay } = await runAlert(
      async (observe) => {
        await fireFor(observe);
        for (let i = 0; i < 3; i++) {
          await env.sleep('30s');
          await observe({ breaching: true, value: 93 });
        }
        await env.sleep('30s');
        await observe({ breaching: false, value: 40 });
      },
      {},
      { delaysMs },
    );
    expect(outcome).toMatchObject({ phase: 'resolved', fired: true });
    expect(sent.length).toBeGreaterThanOrEqual(2);
    await expect(replay()).resolves.toBeUndefined();
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
      // No further word from the evaluator: the workflow's silence limit (2 m here) ends it, with time skipped.
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
        // Now clear for good: it resolves 2 minutes after the first clear evaluation (the fourth is the last it hears).
        for (let i = 0; i < 4; i++) {
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
  // Escalation: alert-escalation.test.ts, on the same harness (test/helpers/alert-harness.ts).
});
