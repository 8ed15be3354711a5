import { readFileSync, writeFileSync } from 'node:fs';
import { startWorker } from '../../workers/worker';
import { bearer } from '../helpers/api';
import { startErrorRateStack, type AlertingStack } from '../helpers/alerting';
import { privateTemporal } from '../helpers/servers';
import { eventually, quietTemporalLogs, testConfig, uniqueName, workflowBundle } from '../helpers/stack';

quietTemporalLogs();

interface GroupTicks {
  group: string;
  every_ms: number;
  ticks: Record<string, number>;
  temporal: { taken: number; missed_catchup_window: number; skipped_overlap: number };
  last_run: { at: string; outcome: string } | null;
  problems: Array<{ at: string; outcome: string; why: string }>;
}

/**
 * Missed evaluations are never silent (issue 20, part 8): a rule group's schedule on a Temporal of its own, evaluated
 * every 3 s by a real worker; its ticks run, then fail (a broken rules file), then go missing (no worker), and each
 * is told with why by the API and counted in /metrics.
 */
describe('rule evaluation ticks: run, failed or missed, never silent', () => {
  const service = uniqueName('ticks');
  const rule = uniqueName('ticks_rule').replaceAll('-', '_');
  // startErrorRateStack's rules file: `ticks_rules:` → its group `errors`.
  const group = 'errors';
  let temporal: Awaited<ReturnType<typeof privateTemporal>>;
  let stack: AlertingStack;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;

  beforeAll(async () => {
    // A Temporal of its own: the worker registers every schedule, which must not outlive the test elsewhere.
    temporal = await privateTemporal(false);
    stack = await startErrorRateStack({ name: 'ticks', service, rule, env: { TEMPORAL_ADDRESS: temporal.address, ALERT_EVALUATION_INTERVAL: '3s' } });
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
    temporal?.dispose();
  });

  const startTheWorker = async () => {
    worker = await startWorker(testConfig(stack.env), { workflowBundle: workflowBundle(), registerSchedules: true });
  };
  const ticksOf = async (): Promise<GroupTicks> => {
    const response = await stack.api.app.inject({ url: '/api/v1/admin/monitoring/evaluations?from=now-10m', headers: bearer('admin') });
    expect(response.statusCode).toBe(200);
    const found = (response.json().groups as GroupTicks[]).find((g) => g.group === group);
    expect(found).toBeDefined();
    return found!;
  };

  it('records each tick as it ran, failed (with the error) or was missed (with why), and counts them in /metrics', async () => {
    const rulesFile = stack.env.MONITORING_RULES_PATH!;
    const rules = readFileSync(rulesFile, 'utf8');
    expect(rules).toContain(`  ${group}:`);
    await startTheWorker();
    // Ticks run every 3 s.
    const running = await eventually(async () => {
      const g = await ticksOf();
      // (The whole group in the failure message: which ticks it judged, and how.)
      expect({ enough: g.ticks.ok! >= 2, g }).toMatchObject({ enough: true });
      return g;
    }, 60_000, 1_000);
    expect(running).toMatchObject({ every_ms: 3_000, last_run: { outcome: 'ok' } });
    expect(running.problems.filter((p) => p.outcome !== 'skipped')).toEqual([]);

    // A broken rules file: the ticks run and fail, each with the parse error.
    writeFileSync(rulesFile, `ticks_rules:\n  ${group}: [this is not a rule\n`);
    const failing = await eventually(async () => {
      const g = await ticksOf();
      expect(g.ticks.failed).toBeGreaterThanOrEqual(1);
      return g;
    }, 60_000, 1_000);
    const failed = failing.problems.find((p) => p.outcome === 'failed')!;
    expect(failed.why.length).toBeGreaterThan(10);
    writeFileSync(rulesFile, rules);

    // No worker for a while: the ticks of that time are missed, and say why.
    await eventually(async () => expect((await ticksOf()).last_run?.outcome).toBe('ok'), 60_000, 1_000);
    await worker!.close();
    worker = undefined;
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    await startTheWorker();
    const after = await eventually(async () => {
      const g = await ticksOf();
      expect(g.problems.filter((p) => p.outcome === 'missed' && Date.parse(p.at) >= stoppedAt - 3_000).length).toBeGreaterThanOrEqual(1);
      expect(Date.parse(g.last_run!.at)).toBeGreaterThan(stoppedAt + 15_000);
      return g;
    }, 60_000, 1_000);
    const missed = after.problems.find((p) => p.outcome === 'missed')!;
    expect(missed.why).toMatch(/^no evaluation ran: Temporal did not start it or no worker ran it within 11 s \(Temporal counts \d+ ticks of this schedule past its catch-up window and \d+ skipped by overlap\)$/);
    // Temporal saw the outage too: the tick waiting for a worker made it skip the next ones.
    expect(after.temporal.skipped_overlap).toBeGreaterThanOrEqual(1);
    console.log(`[evaluation-ticks] ${JSON.stringify(after.ticks)}; Temporal: ${JSON.stringify(after.temporal)}`);

    const metrics = (await stack.api.app.inject({ url: '/metrics', headers: bearer('service') })).body;
    const value = (line: RegExp) => Number(metrics.match(line)?.[1] ?? NaN);
    expect(value(new RegExp(`monitoring_rule_evaluation_ticks_total\\{group="${group}",outcome="ok"\\} (\\d+)`))).toBeGreaterThanOrEqual(after.ticks.ok!);
    expect(value(new RegExp(`monitoring_rule_evaluation_ticks_total\\{group="${group}",outcome="failed"\\} (\\d+)`))).toBeGreaterThanOrEqual(1);
    expect(value(new RegExp(`monitoring_rule_evaluation_ticks_missed_total\\{group="${group}",reason="overlap"\\} (\\d+)`))).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('refuses a range over a day, naming the field', async () => {
    const r = await stack.api.app.inject({ url: '/api/v1/admin/monitoring/evaluations?from=now-2d', headers: bearer('admin') });
    expect(r.statusCode).toBe(400);
    expect(r.body).toContain('from');
  });
});
