import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '../../store/clients';
import type { AlertView } from '../../core/alert';
import { sql } from '../../core/escape';
import { startWorker, type WorkerHandle } from '../../workers/worker';
import { startErrorRateStack, type AlertingStack } from '../helpers/alerting';
import { privateTemporal } from '../helpers/servers';
import { eventually, quietTemporalLogs, testConfig, uniqueName, workflowBundle } from '../helpers/stack';

quietTemporalLogs();

const INTERVAL_MS = 5_000;
const CATCHUP_MS = 10_000;
const OUTAGE_MS = 25_000;

/**
 * Temporal stopped (issue 7, scenario 5), the worker's side: a Temporal dev server that keeps its state on disk (as
 * `npm start` runs it) is stopped for 25 s under a steady breach and started again. The API goes on ingesting;
 * afterwards the rule group's evaluation schedule resumes within one interval, catches up only the ticks of its
 * catch-up window (ALERT_EVALUATION_CATCHUP), the alert that fired before the outage is the same alert (one
 * message, one firing row), and a breach that began during the outage fires once.
 */
describe('Temporal stopped and started again', () => {
  const service = uniqueName('tr');
  const rule = uniqueName('tr_rule').replaceAll('-', '_');
  let temporal: Awaited<ReturnType<typeof privateTemporal>>;
  let stack: AlertingStack;
  let worker: WorkerHandle;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    temporal = await privateTemporal();
    stack = await startErrorRateStack({ name: 'tr', service, rule, firstWait: '1h', env: { TEMPORAL_ADDRESS: temporal.address, ALERT_EVALUATION_INTERVAL: `${INTERVAL_MS / 1000}s`, ALERT_EVALUATION_CATCHUP: `${CATCHUP_MS / 1000}s` } });
    // The worker registers the schedules, as `npm start`'s does.
    worker = await startWorker(testConfig(stack.env), { workflowBundle: workflowBundle(), registerSchedules: true });
    clickhouse = createClickHouse(testConfig());
  }, 180_000);
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
    await clickhouse?.close();
    temporal?.dispose();
  }, 60_000);

  it('resumes evaluation within one interval, catches up per policy, and duplicates no alert', async () => {
    const { driver, slack, temporal: client } = stack;
    let pushing = ['a'];
    let refused = 0;
    let pushed = 0;
    const pusher = setInterval(() => {
      for (const instance of pushing) {
        void driver.push(`${service}-${instance}`, 9).then(
          () => pushed++,
          () => refused++,
        );
      }
    }, 1_000);
    try {
      const handleA = driver.handleOf(rule, `${service}-a`);
      const before = await eventually(() => driver.firing(rule, `${service}-a`), 60_000, 500);
      const runBefore = (await handleA.describe()).runId;
      await eventually(async () => expect(stack.messagesOf(before.alertId)).toHaveLength(1), 30_000, 500);

      temporal.stop();
      const stoppedAt = Date.now();
      // A second instance starts breaching while Temporal is down.
      pushing = ['a', 'b'];
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      const pushedDuringOutage = pushed;
      temporal.start();
      const restartedAt = Date.now();

      // Evaluation runs of the schedule after the restart, by the time the schedule meant them for (the id's suffix).
      const runsSince = async (since: number) => {
        const runs: Array<{ scheduledAt: number; startedAt: number }> = [];
        const query = `WorkflowType = 'evaluateRulesWorkflow' AND TaskQueue = '${stack.taskQueue}' AND StartTime > '${new Date(since).toISOString()}'`;
        for await (const w of client.workflow.list({ query })) {
          const scheduled = /-(\d{4}-\d\d-\d\dT[\d:.]+Z)$/.exec(w.workflowId)?.[1];
          if (scheduled) runs.push({ scheduledAt: Date.parse(scheduled), startedAt: w.startTime.getTime() });
        }
        return runs.sort((x, y) => x.scheduledAt - y.scheduledAt);
      };
      const firstAfter = await eventually(async () => {
        const runs = await runsSince(restartedAt - 5_000);
        expect(runs.length).toBeGreaterThan(0);
        return runs[0]!;
      }, 60_000, 500);
      const resumedInMs = firstAfter.startedAt - restartedAt;

      // The breach that began during the outage fires once; the alert from before is the same one.
      const viewB = await eventually(() => driver.firing(rule, `${service}-b`), 60_000, 500);
      await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
      const runs = await runsSince(stoppedAt);
      const missed = runs.filter((r) => r.scheduledAt > stoppedAt && r.scheduledAt < restartedAt);
      const viewA = await handleA.query<AlertView>('state');
      const runAfter = (await handleA.describe()).runId;
      const history = await (
        await clickhouse.query({
          ...sql`SELECT alert_id, count() AS n FROM alert_history WHERE rule_name = ${rule} AND status = 'firing' GROUP BY alert_id`,
          format: 'JSONEachRow',
        })
      ).json<{ alert_id: string; n: string }>();
      process.stderr.write(
        `[temporal-restart] Temporal down ${OUTAGE_MS / 1000} s: ${pushedDuringOutage} samples accepted meanwhile (${refused} refused); evaluation resumed ${(resumedInMs / 1000).toFixed(1)} s after the restart ` +
          `(interval ${INTERVAL_MS / 1000} s); ${missed.length} of ~${Math.floor(OUTAGE_MS / INTERVAL_MS)} missed ticks caught up, scheduled ${missed.map((r) => `${((restartedAt - r.scheduledAt) / 1000).toFixed(1)} s`).join(', ') || 'none'} before the restart ` +
          `(window ${CATCHUP_MS / 1000} s); alert A ${viewA.phase}, same run ${runAfter === runBefore}, ${stack.messagesOf(before.alertId).length} message; alert B ${stack.messagesOf(viewB.alertId).length} message; firing rows ${JSON.stringify(history.map((h) => Number(h.n)))}\n`,
      );
      expect(refused).toBe(0);
      expect(resumedInMs).toBeLessThanOrEqual(INTERVAL_MS + 2_000);
      // Only ticks inside the catch-up window were run late (with a second's slack for the server's own start).
      for (const r of missed) expect(restartedAt - r.scheduledAt).toBeLessThanOrEqual(CATCHUP_MS + 3_000);
      expect(missed.length).toBeLessThan(Math.floor(OUTAGE_MS / INTERVAL_MS));
      expect(viewA).toMatchObject({ phase: 'firing', alertId: before.alertId });
      expect(runAfter).toBe(runBefore);
      expect(stack.messagesOf(before.alertId)).toHaveLength(1);
      expect(stack.messagesOf(viewB.alertId)).toHaveLength(1);
      expect(history.map((h) => Number(h.n)).sort()).toEqual([1, 1]);
      expect(slack.messages.filter((m) => String(m.metadata?.event_payload.alert_id ?? '').length > 0 && [before.alertId, viewB.alertId].includes(String(m.metadata?.event_payload.alert_id)))).toHaveLength(2);
    } finally {
      clearInterval(pusher);
    }
  }, 240_000);
});
