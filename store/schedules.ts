import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client, type ScheduleOptions, type ScheduleOptionsAction } from '@temporalio/client';
import type { Config } from '../core/config';
import { fnv1a64 } from '../core/fingerprint';
import type { RuleGroup } from '../core/rules';
import { TASK_PRIORITY } from '../core/types';
import { evaluateRulesWorkflow } from '../workflows/evaluate-rules';
import { anomalyScanWorkflow } from '../workflows/anomaly-scan';
import { retentionWorkflow } from '../workflows/retention';
import { sloCheckWorkflow } from '../workflows/slo-check';
import { spanMetricsWorkflow } from '../workflows/span-metrics';
import { cloudwatchCollectWorkflow } from '../workflows/cloudwatch-collect';
import { trendAnalysisWorkflow } from '../workflows/trend-analysis';
import { capacityPlanWorkflow } from '../workflows/capacity-plan';
import { weeklyReportWorkflow } from '../workflows/weekly-report';
import { oncallHandoffWorkflow, oncallHandoffWorkflowId } from '../workflows/oncall-handoff';

/** EVALUATE_RULES_SCHEDULE_PREFIX starts the id of every rule group's evaluation schedule, as shown in the Temporal UI. */
export const EVALUATE_RULES_SCHEDULE_PREFIX = 'evaluate-rules/';

/**
 * ruleGroupScheduleId is the id of one rule group's evaluation schedule. The task queue is part of it because rules
 * are kept per deployment (task queue): two deployments sharing a namespace never touch each other's schedules.
 */
export function ruleGroupScheduleId(taskQueue: string, group: string): string {
  return `${EVALUATE_RULES_SCHEDULE_PREFIX}${taskQueue}/${group}`;
}

/**
 * first gives a schedule's workflow (and its activities) the highest task priority: the jobs that open alerts
 * (core/types.ts TASK_PRIORITY). The SDK encodes an action's `priority` (schedule-helpers' encodeScheduleAction) but
 * its options type (1.24) does not list it yet.
 */
function first(action: ScheduleOptionsAction): ScheduleOptionsAction {
  return { ...action, priority: { priorityKey: TASK_PRIORITY.evaluation } } as ScheduleOptionsAction;
}

/** ruleGroupSchedule evaluates one rule group at its own interval, or ALERT_EVALUATION_INTERVAL. */
function ruleGroupSchedule(config: Config, group: Pick<RuleGroup, 'name' | 'intervalMs'>): ScheduleOptions {
  const every = group.intervalMs ?? config.alert.evaluationIntervalMs;
  // As Prometheus does, each group evaluates at its own phase of the interval (a hash of its name), so a thousand
  // groups do not all query ClickHouse and signal their alerts in the same second.
  const offset = parseInt(fnv1a64(`${config.temporal.taskQueue}/${group.name}`).slice(0, 8), 16) % every;
  return {
    scheduleId: ruleGroupScheduleId(config.temporal.taskQueue, group.name),
    spec: { intervals: [{ every, offset }] },
    action: first({
      type: 'startWorkflow',
      workflowType: evaluateRulesWorkflow,
      workflowId: ruleGroupScheduleId(config.temporal.taskQueue, group.name),
      taskQueue: config.temporal.taskQueue,
      args: [{ group: group.name, evaluationIntervalMs: every }],
      workflowExecutionTimeout: every * 2,
    }),
    policies: {
      // A tick still running when the next is due means ClickHouse is slow: skip rather than pile up.
      overlap: ScheduleOverlapPolicy.SKIP,
      // After an outage, run at most the ticks of the last minute (ALERT_EVALUATION_CATCHUP); older ones would
      // evaluate stale windows. Temporal's minimum catch-up window is 10 s.
      catchupWindow: Math.max(10_000, config.alert.evaluationCatchupMs),
    },
  };
}

/** CAPACITY_PLAN_SCHEDULE_ID is the id of the daily capacity plan's schedule (04:30 UTC). */
export const CAPACITY_PLAN_SCHEDULE_ID = 'capacity-plan';

/** WEEKLY_REPORT_SCHEDULE_ID is the id of the weekly report's schedule (Mondays 08:00 in REPORT_TIMEZONE, default UTC). */
export const WEEKLY_REPORT_SCHEDULE_ID = 'weekly-report';

/** ANOMALY_SCAN_SCHEDULE_ID is the id of the anomaly scan's schedule (every minute). */
export const ANOMALY_SCAN_SCHEDULE_ID = 'anomaly-scan';

/** SLO_CHECK_SCHEDULE_ID is the id of the SLO check's schedule (every minute: statuses and burn-rate alerts). */
export const SLO_CHECK_SCHEDULE_ID = 'slo-check';

/** SPAN_METRICS_SCHEDULE_ID is the id of the RED metrics' schedule (every 15 s: traced services' request rate, errors, latency). */
export const SPAN_METRICS_SCHEDULE_ID = 'span-metrics';

/** CLOUDWATCH_SCHEDULE_ID is the id of the CloudWatch collector's schedule (every minute; a no-op without namespaces). */
export const CLOUDWATCH_SCHEDULE_ID = 'cloudwatch';

/** TREND_ANALYSIS_SCHEDULE_ID is the id of the hourly trend job's schedule (five past every hour). */
export const TREND_ANALYSIS_SCHEDULE_ID = 'trend-analysis';

/** RETENTION_SCHEDULE_ID is the id of the daily retention schedule. */
export const RETENTION_SCHEDULE_ID = 'retention';

/** scheduleDefinitions lists every recurring job of the module as a Temporal Schedule: one per rule group, and the jobs. */
export function scheduleDefinitions(config: Config, groups: ReadonlyArray<Pick<RuleGroup, 'name' | 'intervalMs'>>): ScheduleOptions[] {
  return [
    ...groups.map((group) => ruleGroupSchedule(config, group)),
    {
      scheduleId: ANOMALY_SCAN_SCHEDULE_ID,
      spec: { intervals: [{ every: '1 minute' }] },
      action: first({ type: 'startWorkflow', workflowType: anomalyScanWorkflow, workflowId: 'anomaly-scan', taskQueue: config.temporal.taskQueue, args: [], workflowExecutionTimeout: '2 minutes' }),
      // A scan still running skips the next; after an outage only the last minute's scan runs (older buckets are history).
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    },
    {
      scheduleId: RETENTION_SCHEDULE_ID,
      spec: { calendars: [{ hour: 3, minute: 15 }] },
      action: {
        type: 'startWorkflow',
        workflowType: retentionWorkflow,
        workflowId: 'retention',
        taskQueue: config.temporal.taskQueue,
        args: [{ retentionDays: config.monitoring.retentionDays, aggregateRetentionDays: config.monitoring.aggregateRetentionDays }],
      },
      // A day missed (worker or Temporal down) still runs once when it comes back; two never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    },
    {
      scheduleId: SLO_CHECK_SCHEDULE_ID,
      spec: { intervals: [{ every: '1 minute', offset: '20 seconds' }] },
      action: first({ type: 'startWorkflow', workflowType: sloCheckWorkflow, workflowId: 'slo-check', taskQueue: config.temporal.taskQueue, args: [{}], workflowExecutionTimeout: '2 minutes' }),
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    },
    {
      scheduleId: SPAN_METRICS_SCHEDULE_ID,
      spec: { intervals: [{ every: '15 seconds', offset: '5 seconds' }] },
      action: { type: 'startWorkflow', workflowType: spanMetricsWorkflow, workflowId: 'span-metrics', taskQueue: config.temporal.taskQueue, args: [{}], workflowExecutionTimeout: '1 minute' },
      // Each run computes every window since the last stored one (an hour back at most): runs missed while the
      // worker was away need no catch-up of their own, and two never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    },
    {
      scheduleId: CLOUDWATCH_SCHEDULE_ID,
      spec: { intervals: [{ every: '1 minute', offset: '10 seconds' }] },
      action: { type: 'startWorkflow', workflowType: cloudwatchCollectWorkflow, workflowId: 'cloudwatch', taskQueue: config.temporal.taskQueue, args: [{}], workflowExecutionTimeout: '10 minutes' },
      // The collector's watermark carries an outage's periods into the next run: missed runs need no catch-up of
      // their own (a minute's window lets one late start through), and two never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    },
    {
      scheduleId: TREND_ANALYSIS_SCHEDULE_ID,
      spec: { calendars: [{ minute: 5, hour: '*' }] },
      action: { type: 'startWorkflow', workflowType: trendAnalysisWorkflow, workflowId: 'trend-analysis', taskQueue: config.temporal.taskQueue, args: [{}] },
      // An hour missed runs once when the worker is back (within the hour); two never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    },
    {
      scheduleId: CAPACITY_PLAN_SCHEDULE_ID,
      spec: { calendars: [{ hour: 4, minute: 30 }] },
      action: { type: 'startWorkflow', workflowType: capacityPlanWorkflow, workflowId: 'capacity-plan', taskQueue: config.temporal.taskQueue, args: [{}] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    },
    {
      scheduleId: WEEKLY_REPORT_SCHEDULE_ID,
      spec: { calendars: [{ dayOfWeek: 'MONDAY', hour: 8, minute: 0 }], timezone: config.reportTimezone },
      action: { type: 'startWorkflow', workflowType: weeklyReportWorkflow, workflowId: 'weekly-report', taskQueue: config.temporal.taskQueue, args: [{}] },
      // A Monday missed by less than a day still gets its report when the worker is back.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    },
  ];
}

/**
 * ensureSchedules creates each schedule, or brings an existing one up to date with the current config, and deletes
 * the evaluation schedules of rule groups that no longer exist.
 */
export async function ensureSchedules(client: Client, config: Config, groups: ReadonlyArray<Pick<RuleGroup, 'name' | 'intervalMs'>>): Promise<string[]> {
  const ids = await upsertSchedules(client, scheduleDefinitions(config, groups));
  await deleteStaleRuleSchedules(client, config.temporal.taskQueue, groups);
  return ids;
}

/** syncRuleSchedules brings the rule groups' evaluation schedules in line with the groups (after a rule edit). */
export async function syncRuleSchedules(client: Client, config: Config, groups: ReadonlyArray<Pick<RuleGroup, 'name' | 'intervalMs'>>): Promise<void> {
  await upsertSchedules(client, groups.map((group) => ruleGroupSchedule(config, group)));
  await deleteStaleRuleSchedules(client, config.temporal.taskQueue, groups);
}

async function deleteStaleRuleSchedules(client: Client, taskQueue: string, groups: ReadonlyArray<Pick<RuleGroup, 'name'>>): Promise<void> {
  const wanted = new Set(groups.map((g) => ruleGroupScheduleId(taskQueue, g.name)));
  const prefix = ruleGroupScheduleId(taskQueue, '');
  for await (const schedule of client.schedule.list()) {
    const id = schedule.scheduleId;
    // 'evaluate-rules' alone is the single schedule of earlier versions, replaced by one per group.
    if ((id.startsWith(prefix) && !wanted.has(id)) || id === 'evaluate-rules') {
      await client.schedule.getHandle(id).delete().catch(() => undefined);
    }
  }
}

async function upsertSchedules(client: Client, definitions: ScheduleOptions[]): Promise<string[]> {
  const ids: string[] = [];
  for (const options of definitions) {
    try {
      await client.schedule.create(options);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(options.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
      }));
    }
    ids.push(options.scheduleId);
  }
  return ids;
}

/**
 * ensureHandoffWorkflows starts the handoff workflow (workflows/oncall-handoff.ts) of every stored on-call schedule
 * that has none running — a schedule restored from ClickHouse into a fresh Temporal, or one saved while Temporal was
 * away — at a worker's start; a running one is left as it is. Returns the schedules started.
 */
export async function ensureHandoffWorkflows(client: Client, taskQueue: string, schedules: readonly string[]): Promise<string[]> {
  const started: string[] = [];
  for (const schedule of schedules) {
    try {
      await client.workflow.start(oncallHandoffWorkflow, { taskQueue, workflowId: oncallHandoffWorkflowId(taskQueue, schedule), args: [{ schedule }] });
      started.push(schedule);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return started;
}
