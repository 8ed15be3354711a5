/**
 * retentionWorkflow keeps storage within its retention, run daily by the `retention` Schedule: it lists the
 * partitions of the module's tables, decides (core/retention) which ones aged out — detailed rows after
 * retentionDays, aggregates and alert history after aggregateRetentionDays — and drops each, logging it in
 * retention_log. It ends when every expired partition is dropped; a retried drop of a partition already gone is
 * harmless.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { expiredPartitions, retentionPolicies, type ExpiredPartition } from '../core/retention';

const { listPartitions, dropPartition } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '5s', maximumAttempts: 5 },
});

/** RetentionInput carries the retention limits, snapshotted when the schedule was registered. */
export interface RetentionInput {
  retentionDays: number;
  aggregateRetentionDays: number;
}

/** retentionWorkflow drops the expired partitions and returns them. */
export async function retentionWorkflow(input: RetentionInput): Promise<ExpiredPartition[]> {
  const expired = expiredPartitions(await listPartitions(), retentionPolicies(input.retentionDays, input.aggregateRetentionDays), Date.now());
  for (const partition of expired) await dropPartition(partition, workflowInfo().workflowId);
  return expired;
}
