/**
 * retentionWorkflow keeps storage within its retention, run daily by the `retention` Schedule. The tables delete
 * aged rows themselves (a ClickHouse TTL each: detailed rows after retentionDays, aggregates and alert history after
 * aggregateRetentionDays); this job sets any TTL that differs from the configured retention, then audits what the
 * TTLs removed since its previous run into retention_log. It ends with the audit; a retried audit starts from the
 * last recorded one, so nothing is logged twice.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { retentionPolicies, type ExpiredPartition } from '../core/retention';

const { alignRetentionTtls, auditExpiredRows } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '5s', maximumAttempts: 5 },
});

/** RetentionInput carries the retention limits, snapshotted when the schedule was registered. */
export interface RetentionInput {
  retentionDays: number;
  aggregateRetentionDays: number;
}

/** RetentionResult says which tables' TTLs were changed and what the TTLs removed (undefined: the server keeps no part log). */
export interface RetentionResult {
  ttlsChanged: string[];
  expired: ExpiredPartition[] | undefined;
}

/** retentionWorkflow aligns the TTLs with the configured retention and returns what they expired since the last run. */
export async function retentionWorkflow(input: RetentionInput): Promise<RetentionResult> {
  const policies = retentionPolicies(input.retentionDays, input.aggregateRetentionDays);
  const ttlsChanged = await alignRetentionTtls(policies);
  const expired = await auditExpiredRows(policies, workflowInfo().workflowId);
  return { ttlsChanged, expired };
}
