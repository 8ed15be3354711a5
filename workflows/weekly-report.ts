/**
 * weeklyReportWorkflow generates the weekly performance report (the seed's performance_report), stores it and
 * delivers it with its charts (PNG: latency, errors, throughput per service, the capacity forecast with its band) to
 * each report target — run every Monday 08:00 (REPORT_TIMEZONE) by the `weekly-report` Schedule, or at once by
 * POST /api/v1/admin/monitoring/reports. Each (run, target) is delivered at most once even when an activity is
 * retried or the worker dies mid-send (the notification ledger, keyed by this workflow's id); a target that keeps
 * failing does not keep the others from getting it.
 */
import { defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { generateWeeklyReport, storeReport, reportTargets, reportCharts } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // Heartbeats come from the worker (workers/heartbeat.ts): a killed worker's attempt is retried within 20 s.
  heartbeatTimeout: '20s',
  retry: { initialInterval: '5s', maximumAttempts: 5 },
});
const { deliverReport } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 6 },
});

/** WeeklyReportInput: the end of the week reported (default: when the run starts). */
export interface WeeklyReportInput {
  endMs?: number;
}

export interface WeeklyReportOutcome {
  reportId: string;
  overall: string;
  delivered: Array<{ channel: string; to: string }>;
  failed: Array<{ channel: string; to: string; error: string }>;
}

/** ReportProgress is where a run is (the `progress` query; `npm run report` draws it as a bar). */
export interface ReportProgress {
  stage: 'generating' | 'storing' | 'charting' | 'delivering' | 'done';
  step: number;
  steps: number;
  delivered: number;
  targets: number;
}

export const reportProgressQuery = defineQuery<ReportProgress>('progress');

export async function weeklyReportWorkflow(input: WeeklyReportInput = {}): Promise<WeeklyReportOutcome> {
  const { workflowId } = workflowInfo();
  const progress: ReportProgress = { stage: 'generating', step: 1, steps: 5, delivered: 0, targets: 0 };
  setHandler(reportProgressQuery, () => progress);
  const report = await generateWeeklyReport({ endMs: input.endMs ?? Date.now() });
  Object.assign(progress, { stage: 'storing', step: 2 });
  await storeReport(report, workflowId);
  const targets = await reportTargets();
  Object.assign(progress, { stage: 'charting', step: 3, targets: targets.length });
  const charts = await reportCharts({ endMs: Date.parse(report.time_range.end) });
  Object.assign(progress, { stage: 'delivering', step: 4 });
  const results = await Promise.allSettled(
    targets.map(async (target) => {
      const delivery = await deliverReport({ report, target, runId: workflowId, charts });
      progress.delivered++;
      return delivery;
    }),
  );
  Object.assign(progress, { stage: 'done', step: 5 });
  const outcome: WeeklyReportOutcome = { reportId: report.report_id, overall: report.executive_summary.overall_performance, delivered: [], failed: [] };
  results.forEach((result, i) => {
    const { channel, to } = targets[i]!;
    if (result.status === 'rejected') outcome.failed.push({ channel, to, error: String(result.reason) });
    else if (result.value) outcome.delivered.push({ channel, to });
  });
  return outcome;
}
