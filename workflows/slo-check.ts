/**
 * sloCheckWorkflow is one SLO check — run every minute by the `slo-check` Schedule: every service's compliance and
 * error budget, kept for the dashboard, and its burn-rate verdicts sent to the alert workflows (activities/slo.ts).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { checkSlos } = proxyActivities<Activities>({ startToCloseTimeout: '50s', retry: { initialInterval: '1s', maximumAttempts: 2 } });

/** sloCheckWorkflow checks at its start (the scheduled instant), or at `nowMs` when given. */
export async function sloCheckWorkflow(input: { nowMs?: number } = {}): Promise<{ services: number; fastBurn: number; slowBurn: number }> {
  return checkSlos({ nowMs: input.nowMs ?? Date.now() });
}
