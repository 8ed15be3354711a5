import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { connectTemporal } from '../../store/clients';
import { dispatchGroup, openAlertsOf } from '../../activities/alerts';
import type { GroupEvaluation } from '../../activities/evaluation';
import { parseRule } from '../../core/rules';
import { sql } from '../../core/escape';
import { alertWorkflowId, fingerprint } from '../../core/fingerprint';
import { ensureSchedules, ruleGroupScheduleId, syncRuleSchedules } from '../../store/schedules';
import { startWorker, type WorkerHandle } from '../../workers/worker';
import { bearer, startTestApi, type TestApi } from '../helpers/api';
import { eventually, quietTemporalLogs, recordHistory, testConfig, uniqueName, workflowBundle } from '../helpers/stack';

quietTemporalLogs();

const METRICS = '/api/v1/internal/monitoring/metrics';

describe('rule evaluation → alert workflow, on the real Temporal, ClickHouse and Redis', () => {
  const taskQueue = uniqueName('alerting');
  const service = uniqueName('svc');
  const rule = uniqueName('cpu_rule').replaceAll('-', '_');
  const rulesDir = mkdtempSync(path.join(os.tmpdir(), 'pm-rules-'));
  // A shortened copy of the seed's critical_cpu_usage, scoped to this test's service so other tests' data cannot fire it.
  writeFileSync(
    path.join(rulesDir, 'test.yaml'),
    `test_rules:\n  cpu:\n    - name: ${rule}\n      expression: 'cpu_usage_percent{service="${service}"} > 95'\n      duration: 3s\n      severity: critical\n      labels: {category: resource}\n      annotations: {summary: Critical CPU usage}\n`,
  );
  const overrides = { MONITORING_RULES_PATH: rulesDir, TEMPORAL_TASK_QUEUE: taskQueue, ALERT_EVALUATION_INTERVAL: '30s' };
  const config = testConfig(overrides);
  let worker: WorkerHandle;
  let api: TestApi;
  let temporal: Client;

  beforeAll(async () => {
    worker = await startWorker(config, { workflowBundle: workflowBundle(), registerSchedules: false });
    temporal = (await connectTemporal(config)).client;
    api = await startTestApi(overrides, undefined, temporal);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await temporal?.connection.close();
  });

  const push = async (cpu: number) => {
    const response = await api.app.inject({
      method: 'POST',
      url: METRICS,
      headers: bearer('service'),
      payload: { system_metrics: { timestamp: new Date().toISOString(), service_name: service, instance_id: `${service}-001`, metrics: { cpu_usage_percent: cpu } } },
    });
    expect(response.statusCode).toBe(202);
  };
  const evaluate = async () => {
    const groups: GroupEvaluation[] = await temporal.workflow.execute('evaluateRulesWorkflow', {
      taskQueue,
      workflowId: uniqueName('evaluate'),
      args: [{ group: 'cpu', evaluationIntervalMs: config.alert.evaluationIntervalMs }],
    });
    expect(groups.map((g) => g.group)).toEqual(['cpu']);
    return groups.flatMap((g) => g.perRule);
  };
  const alertId = alertWorkflowId(fingerprint(rule, { service, instance: `${service}-001`, category: 'resource' }));
  /** breachUntilFiring holds the CPU above the threshold past the rule's 3 s duration and waits for the alert to fire. */
  const breachUntilFiring = async (cpu: number) => {
    await push(cpu);
    await evaluate();
    await new Promise((resolve) => setTimeout(resolve, 3100));
    await push(cpu);
    await evaluate();
    const handle = temporal.workflow.getHandle(alertId);
    await eventually(async () => expect((await handle.query<{ phase: string }>('state')).phase).toBe('firing'));
    return handle;
  };
  const alertsOf = async () => (await api.app.inject({ url: `/api/v1/internal/monitoring/alerts/${service}`, headers: bearer('service') })).json();

  it('registers one Temporal Schedule per rule group, at its interval, skipping overlapping runs, and drops a removed group\'s', async () => {
    const groups = [
      { name: 'cpu', intervalMs: undefined },
      { name: 'fast lane', intervalMs: 10_000 },
    ];
    await ensureSchedules(temporal, config, groups);
    await ensureSchedules(temporal, config, groups); // idempotent: a second start updates, never fails or duplicates
    const cpu = await temporal.schedule.getHandle(ruleGroupScheduleId(taskQueue, 'cpu')).describe();
    expect(cpu.spec.intervals).toEqual([expect.objectContaining({ every: 30_000 })]);
    // Each group at its own phase of the interval, as Prometheus spreads groups.
    const offset = Number(cpu.spec.intervals?.[0]?.offset);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(30_000);
    expect(cpu.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 60_000 });
    expect(cpu.action).toMatchObject({ type: 'startWorkflow', workflowType: 'evaluateRulesWorkflow', taskQueue, args: [{ group: 'cpu', evaluationIntervalMs: 30_000 }] });
    // Evaluation's tasks go first when the queue is backlogged (core/types.ts TASK_PRIORITY).
    expect(cpu.action).toMatchObject({ priority: { priorityKey: 1 } });
    const fast = await temporal.schedule.getHandle(ruleGroupScheduleId(taskQueue, 'fast lane')).describe();
    expect(fast.spec.intervals).toEqual([expect.objectContaining({ every: 10_000 })]);

    // The group's rules were deleted: its schedule goes (the list is eventually consistent, so retry).
    await eventually(async () => {
      await syncRuleSchedules(temporal, config, [groups[0]!]);
      await expect(temporal.schedule.getHandle(ruleGroupScheduleId(taskQueue, 'fast lane')).describe()).rejects.toThrow();
    });
    await temporal.schedule.getHandle(ruleGroupScheduleId(taskQueue, 'cpu')).delete();
  });

  it('starts one alert workflow for a breach, dedups repeated breaches, fires after the duration and resolves when it clears', async () => {
    await push(97);
    const [first] = await evaluate();
    expect(first).toEqual({ rule, series: 1, breaching: 1, cleared: 0 });
    const handle = temporal.workflow.getHandle(alertId);
    const { runId, status, raw } = await handle.describe();
    expect(status.name).toBe('RUNNING');
    // A critical alert's tasks go before warning and info alerts' (core/types.ts TASK_PRIORITY).
    expect(raw.workflowExecutionInfo?.priority?.priorityKey).toBe(2);
    // The workflow records itself as pending in its first step, soon after the evaluation started it.
    await eventually(async () => expect((await alertsOf()).alerts).toEqual([expect.objectContaining({ status: 'pending', rule, severity: 'critical', current_value: 97, workflow_id: alertId })]));

    // A repeated breach reaches the running workflow: no second execution, and it fires once the 3 s have passed.
    await new Promise((resolve) => setTimeout(resolve, 3100));
    await push(98);
    await evaluate();
    expect((await handle.describe()).runId).toBe(runId);
    await expect(
      temporal.workflow.start('alertLifecycleWorkflow', { taskQueue, workflowId: alertId, args: [{}] }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await eventually(async () => expect((await handle.query<{ phase: string }>('state')).phase).toBe('firing'));
    await eventually(async () => {
      const alerts = (await alertsOf()).alerts;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ status: 'firing', current_value: 98, workflow_url: expect.stringContaining(encodeURIComponent(alertId)) });
    });
    const executions = [];
    for await (const execution of temporal.workflow.list({ query: `WorkflowId = '${alertId}'` })) executions.push(execution);
    expect(executions).toHaveLength(1);

    // Back under the threshold: the evaluator clears it, the workflow records the resolution and completes.
    await push(40);
    const [last] = await evaluate();
    expect(last).toMatchObject({ breaching: 0, cleared: 1 });
    const outcome = await handle.result();
    expect(outcome).toMatchObject({ phase: 'resolved', reason: 'condition-cleared', fired: true });
    await recordHistory('alert-fire-clear', handle);
    expect((await alertsOf()).alerts).toEqual([]);
    const history = await api.clickhouse.query({
      ...sql`SELECT status, actual_value, threshold_value, severity, workflow_id FROM alert_history FINAL WHERE service_name = ${service} ORDER BY timestamp, status`,
      format: 'JSONEachRow',
    });
    expect(await history.json()).toEqual([
      { status: 'firing', actual_value: 98, threshold_value: 95, severity: 'critical', workflow_id: alertId },
      { status: 'resolved', actual_value: 40, threshold_value: 95, severity: 'critical', workflow_id: alertId },
    ]);
  });

  it('resolves an alert as stale once its rule was evaluated without the series for the stale period, not across a gap in evaluation', async () => {
    // The evaluator's dispatch at chosen moments (the last ten minutes), on the real Temporal and Redis.
    const vanishing = parseRule({ name: uniqueName('vanish').replaceAll('-', '_'), expression: `gone_metric{service="${service}"} > 1`, duration: '0s', severity: 'warning' }, 'vanish', 'rule');
    const instance = `${service}-009`;
    const deps = { temporal, redis: api.redis, taskQueue };
    const intervalMs = 30_000;
    const t0 = Date.now() - 600_000;
    const evaluateAt = async (offsetMs: number, present: boolean) =>
      dispatchGroup(deps, [vanishing], [present ? [{ service, instance, labels: {}, value: 5 }] : []], { nowMs: t0 + offsetMs, intervalMs, staleAfterMs: 4 * intervalMs }, await openAlertsOf(api.redis, [vanishing]));
    await evaluateAt(0, true);
    const handle = temporal.workflow.getHandle(alertWorkflowId(fingerprint(vanishing.name, { service, instance })));
    await eventually(async () => expect((await handle.query<{ phase: string }>('state')).phase).toBe('firing'));
    const stillFiring = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect((await handle.query<{ phase: string; observations: number }>('state')).phase).toBe('firing');
    };
    // Three evaluations (90 s) without the series: not yet.
    for (const offset of [30_000, 60_000, 90_000]) await evaluateAt(offset, false);
    await stillFiring();
    // Evaluation stopped for five minutes (workers down): the next ones count from their restart, not from the clock.
    for (const offset of [390_000, 420_000, 450_000, 480_000]) await evaluateAt(offset, false);
    await stillFiring();
    // The fourth interval of evaluations without it: the evaluator tells the workflow, which resolves it as stale.
    await evaluateAt(510_000, false);
    expect(await handle.result()).toMatchObject({ phase: 'resolved', reason: 'stale', fired: true });
    expect(await api.redis.sismember(`alerts:open:${vanishing.name}`, fingerprint(vanishing.name, { service, instance }))).toBe(0);
  });

  it('lets a person acknowledge and resolve a firing alert through the API, recording who and why', async () => {
    const handle = await breachUntilFiring(97);
    const [alert] = (await alertsOf()).alerts;
    const act = (path: string, role: 'admin' | 'viewer' | 'service', payload?: object) =>
      api.app.inject({ method: 'POST', url: `/api/v1/alerts/${alert.alert_id}/${path}`, headers: bearer(role), ...(payload ? { payload } : {}) });

    expect((await act('ack', 'service')).statusCode).toBe(403);
    expect((await act('ack', 'viewer')).json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining(service) });
    const acked = await act('ack', 'admin');
    expect(acked.statusCode).toBe(200);
    expect(acked.json()).toMatchObject({ alertId: alert.alert_id, phase: 'acknowledged', acknowledgedBy: 'admin' });
    const again = await act('ack', 'admin');
    expect(again.statusCode).toBe(409);
    expect(again.json().message).toBe('alert already acknowledged by admin');
    await eventually(async () => expect((await alertsOf()).alerts[0]).toMatchObject({ status: 'acknowledged', acknowledged_by: 'admin' }));

    const resolved = await act('resolve', 'admin', { note: 'restarted the pod' });
    expect(resolved.statusCode).toBe(200);
    expect(await handle.result()).toMatchObject({ phase: 'resolved', reason: 'resolved-by-hand', fired: true });
    expect((await alertsOf()).alerts).toEqual([]);
    expect((await act('resolve', 'admin')).statusCode).toBe(409);
    expect((await api.app.inject({ method: 'POST', url: '/api/v1/alerts/alert_0000000000000000_1/ack', headers: bearer('admin') })).statusCode).toBe(404);
    const history = await api.clickhouse.query({
      ...sql`SELECT status, acknowledged_by, resolution_notes FROM alert_history FINAL WHERE alert_id = ${alert.alert_id} ORDER BY timestamp, indexOf(['firing', 'acknowledged', 'resolved'], status)`,
      format: 'JSONEachRow',
    });
    await recordHistory('alert-ack-resolve', handle);
    expect(await history.json()).toEqual([
      { status: 'firing', acknowledged_by: '', resolution_notes: '' },
      { status: 'acknowledged', acknowledged_by: 'admin', resolution_notes: '' },
      { status: 'resolved', acknowledged_by: 'admin', resolution_notes: 'resolved by admin: restarted the pod' },
    ]);
  });

  it('gives an acknowledgement racing a resolution one outcome: resolved, the ack recorded or refused', async () => {
    const handle = await breachUntilFiring(99);
    const { alertId: current } = await handle.query<{ alertId: string }>('state');
    const [resolve, ack] = await Promise.all([
      api.app.inject({ method: 'POST', url: `/api/v1/alerts/${current}/resolve`, headers: bearer('admin') }),
      api.app.inject({ method: 'POST', url: `/api/v1/alerts/${current}/ack`, headers: bearer('admin') }),
    ]);
    expect(resolve.statusCode).toBe(200);
    expect([200, 409]).toContain(ack.statusCode);
    expect(await handle.result()).toMatchObject({ phase: 'resolved', reason: 'resolved-by-hand' });
    const statuses = await (
      await api.clickhouse.query({ ...sql`SELECT status FROM alert_history FINAL WHERE alert_id = ${current} ORDER BY timestamp, indexOf(['firing', 'acknowledged', 'resolved'], status)`, format: 'JSONEachRow' })
    ).json<{ status: string }>();
    expect(statuses.map((r) => r.status)).toEqual(ack.statusCode === 200 ? ['firing', 'acknowledged', 'resolved'] : ['firing', 'resolved']);
  });
});
