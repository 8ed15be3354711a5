/**
 * cloudwatchCollectWorkflow reads AWS CloudWatch (activities/cloudwatch.ts), run every minute by the `cloudwatch`
 * Schedule: one activity reads every period since the collector's watermark, so a run skipped while the worker was
 * away leaves no gap; it ends when those periods are stored.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { collectCloudWatch } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  // Throttling and outages: the SDK retries each call first; a run that still fails is retried with backoff.
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** cloudwatchCollectWorkflow collects the periods due at its start (the scheduled instant), or at `nowMs` when given. */
export async function cloudwatchCollectWorkflow(input: { nowMs?: number } = {}): Promise<{ fromMs?: number; toMs?: number; metrics: number; samples: number; calls: number }> {
  return collectCloudWatch({ nowMs: input.nowMs ?? Date.now() });
}
