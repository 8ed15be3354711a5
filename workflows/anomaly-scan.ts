/**
 * anomalyScanWorkflow is one anomaly scan — run every minute by the `anomaly-scan` Schedule: every rule of
 * `type: anomaly` judges each service's newest complete five-minute bucket and the verdicts go to the alert
 * workflows (activities/anomaly.ts). A failing scan is retried briefly and otherwise left to the next minute.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { AnomalyScan } from '../activities/anomaly';

const { scanAnomalies } = proxyActivities<Activities>({ startToCloseTimeout: '50s', retry: { initialInterval: '1s', maximumAttempts: 2 } });

/** anomalyScanWorkflow scans at its start (a Schedule's run: the scheduled instant), or at `nowMs` when given. */
export async function anomalyScanWorkflow(input: { nowMs?: number } = {}): Promise<AnomalyScan> {
  return scanAnomalies({ nowMs: input.nowMs ?? Date.now() });
}
