import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../core/config';

/** EVALUATE_RULES_SCHEDULE_ID is the id of the rule evaluation schedule, as shown in the Temporal UI. */
export const EVALUATE_RULES_SCHEDULE_ID = 'evaluate-rules';

/** RETENTION_SCHEDULE_ID is the id of the daily retention schedule. */
export const RETENTION_SCHEDULE_ID = 'retention';

/** scheduleDefinitions lists every recurring job of the module as a Temporal Schedule. */
export function scheduleDefinitions(config: Config): ScheduleOptions[] {
  return [
    {
      scheduleId: EVALUATE_RULES_SCHEDULE_ID,
      spec: { intervals: [{ every: config.alert.evaluationIntervalMs }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'evaluateRulesWorkflow',
        workflowId: 'evaluate-rules',
        taskQueue: config.temporal.taskQueue,
        args: [{ evaluationIntervalMs: config.alert.evaluationIntervalMs }],
        workflowExecutionTimeout: config.alert.evaluationIntervalMs * 2,
      },
      policies: {
        // A tick still running when the next is due means ClickHouse is slow: skip rather than pile up.
        overlap: ScheduleOverlapPolicy.SKIP,
        // After an outage, run at most the ticks of the last minute; older ones would evaluate stale windows.
        catchupWindow: '1 minute',
      },
    },
    {
      scheduleId: RETENTION_SCHEDULE_ID,
      spec: { calendars: [{ hour: 3, minute: 15 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'retentionWorkflow',
        workflowId: 'retention',
        taskQueue: config.temporal.taskQueue,
        args: [{ retentionDays: config.monitoring.retentionDays, aggregateRetentionDays: config.monitoring.aggregateRetentionDays }],
      },
      // A day missed (worker or Temporal down) still runs once when it comes back; two never overlap.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    },
  ];
}

/** ensureSchedules creates each schedule, or brings an existing one up to date with the current config. */
export async function ensureSchedules(client: Client, config: Config): Promise<string[]> {
  const ids: string[] = [];
  for (const options of scheduleDefinitions(config)) {
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
