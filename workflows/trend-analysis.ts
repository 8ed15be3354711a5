/**
 * trendAnalysisWorkflow is the hourly trend job — run by the `trend-analysis` Schedule at five past every hour: the
 * seed's window compare and the seasonal-trend analysis of every service's (and the platform's) latency, errors,
 * throughput and CPU over four weeks, stored in trend_analyses (activities/trends.ts) for the report and the API.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { analyzeTrends } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '20s', retry: { initialInterval: '10s', maximumAttempts: 5 } });

export async function trendAnalysisWorkflow(input: { nowMs?: number } = {}): Promise<{ analyses: number }> {
  return { analyses: await analyzeTrends({ nowMs: input.nowMs ?? Date.now(), workflowId: workflowInfo().workflowId }) };
}
