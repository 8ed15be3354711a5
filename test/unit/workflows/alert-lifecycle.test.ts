import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../../activities';
import type { AlertInput, AlertOutcome, AlertView, HistoryRow, Observation } from '../../../core/alert';
import { parseRuleDocument } from '../../../core/rules';
import type { ActiveAlert } from '../../../core/types';
import { quietTemporalLogs, timeSkippingEnv, uniqueName, workflowBundle } from '../../helpers/stack';

quietTemporalLogs();

const [rule] = parseRuleDocument(
  'seed:\n  system_health:\n    - {name: high_cpu_usage, expression: "cpu_usage_percent > 80", duration: 5m, severity: warning}\n',
).flatMap((g) => g.rules);

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
  ) {
    const history: HistoryRow[] = [];
    const active = new Map<string, ActiveAlert>();
    const activities: Pick<Activities, 'setActiveAlert' | 'closeActiveAlert' | 'recordAlertTransition'> = {
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
    return { outcome, history, active, startMs };
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

  const fireFor = async (observe: (o: Omit<Observation, 'atMs'>) => Promise<void>) => {
    for (let i = 0; i < 11; i++) {
      await env.sleep('30s');
      await observe({ breaching: true, value: 91 });
    }
  };

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
});
