-- performance_reports: every weekly performance report (the seed's performance_report shape, as JSON in `body`).
-- ReplacingMergeTree on report_id: a report generated again for the same week (a retried or manual run) replaces
-- the earlier one; readers take the latest version with argMax(…, generated_at), so duplicates never show.
CREATE TABLE IF NOT EXISTS ${db}.performance_reports (
    report_id String,
    generated_at DateTime('UTC'),
    range_start DateTime('UTC'),
    range_end DateTime('UTC'),
    overall_performance LowCardinality(String),
    body String CODEC(ZSTD(3)),
    workflow_id String
) ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYear(range_end)
ORDER BY report_id
TTL range_end + INTERVAL ${aggregate_days} DAY;
