/** The workflow barrel given to the worker's bundler: every workflow type the module registers. */
export { alertLifecycleWorkflow } from './alert-lifecycle';
export { evaluateRulesWorkflow } from './evaluate-rules';
export { retentionWorkflow } from './retention';
export { silenceWorkflow } from './silence';
export { alertGroupWorkflow } from './alert-group';
export { weeklyReportWorkflow } from './weekly-report';
export { capacityPlanWorkflow } from './capacity-plan';
export { anomalyScanWorkflow } from './anomaly-scan';
export { trendAnalysisWorkflow } from './trend-analysis';
export { sloCheckWorkflow } from './slo-check';
export { spanMetricsWorkflow } from './span-metrics';
export { cloudwatchCollectWorkflow } from './cloudwatch-collect';
export { oncallHandoffWorkflow } from './oncall-handoff';
