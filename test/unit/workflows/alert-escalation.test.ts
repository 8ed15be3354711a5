import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Observation } from '../../../core/alert';
import { alertHarness } from '../../helpers/alert-harness';
import { quietTemporalLogs, timeSkippingEnv } from '../../helpers/stack';

quietTemporalLogs();

describe('alertLifecycleWorkflow escalation (time-skipping, recorded activities)', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await timeSkippingEnv();
  });
  afterAll(() => env?.teardown());
  const { runAlert, fireFor } = alertHarness(() => env);

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
    const { sent, history, outcome, announced } = await runAlert(
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
    // The escalation is announced on the alert stream once, by the workflow, across its runs.
    expect(announced.map((a) => [a.transition, a.level, a.round])).toEqual([['escalated', 2, 0]]);
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
    const { sent, announced } = await runAlert(
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
    // Silenced once (however often the gate was asked while it lasted), unsilenced once when it ended.
    expect(announced.filter((a) => a.transition !== 'escalated').map((a) => [a.transition, a.silenceId])).toEqual([
      ['silenced', 'silence_test'],
      ['unsilenced', 'silence_test'],
    ]);
  });

  // Re-fires span several workflow runs, whose endings let the time-skipping server jump ahead: dedup and flap
  // damping are tested on the dev server in real time (test/integration/flapping.test.ts).
});
