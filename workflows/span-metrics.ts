/**
 * spanMetricsWorkflow derives the RED metrics of traced services (activities/traces.ts), run every 15 s by the
 * `span-metrics` Schedule: one activity computes and stores every window due since the last stored one, so a run
 * skipped or missed leaves no gap; it ends when they are stored.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { deriveSpanMetrics } = proxyActivities<Activities>({ startToCloseTimeout: '40s', retry: { initialInterval: '2s', maximumAttempts: 3 } });

/** spanMetricsWorkflow computes the windows due at its start (the scheduled instant), or at `nowMs` when given. */
export async function spanMetricsWorkflow(input: { nowMs?: number } = {}): Promise<{ fromMs?: number; toMs?: number; samples: number }> {
  return deriveSpanMetrics({ nowMs: input.nowMs ?? Date.now() });
}
