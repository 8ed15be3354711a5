-- collector_watermarks: how far each pull collector (the CloudWatch collector, activities/cloudwatch.ts) has read, so
-- a run after an outage starts where the last one ended and reads each period once. One row per advance; the
-- latest (argMax by updated_at) counts; ReplacingMergeTree keeps only it in the end.
-- ORDER BY (collector): read and written per collector, a handful of rows.
CREATE TABLE IF NOT EXISTS ${db}.collector_watermarks (
    collector String,
    watermark DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (collector);
