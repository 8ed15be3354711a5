-- performance_reports: every weekly performance report (the seed's performance_report shape, as JSON in `body`).
-- ReplacingMergeTree on report_id: a report generated again for the same week (a retried or manual run) replaces
-- the earlier one; readers take the latest version with argMax(…, generated_at), so duplicates never show.
CREATE TABLE IF NOT EXISTS ${db}.performance_reports (
    report_id String,
    generated_at DateTime,
    range_start DateTime,
    range_end DateTime,
    overall_performance String,
    body String,
    workflow_id String
) ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYear(range_end)
ORDER BY report_id;
