/**
 * capacityPlanWorkflow makes the daily capacity plan — run by the `capacity-plan` Schedule (04:30 UTC): every
 * reporting service's CPU, memory, disk and request-rate forecast 30 days ahead (the seed's CapacityPlanner,
 * core/capacity.ts), stored in capacity_forecasts for the weekly report and the API. A retry the same day replaces
 * that day's plan.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { planCapacity } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '20s', retry: { initialInterval: '10s', maximumAttempts: 5 } });

export async function capacityPlanWorkflow(input: { days?: number } = {}): Promise<{ forecasts: number }> {
  return { forecasts: await planCapacity({ nowMs: Date.now(), days: input.days ?? 30, workflowId: workflowInfo().workflowId }) };
}
