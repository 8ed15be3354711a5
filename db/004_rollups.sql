-- 1-minute and 1-hour rollups of performance_events, filled by materialized views as rows arrive.
-- They hold the 3-year aggregated retention and serve range queries and dashboards. Keyed
-- (metric_name, service_name, bucket) like the raw table, so per-metric and per-service reads are one range.
-- Aggregates are -State columns, read back with -Merge (avgMerge, quantilesMerge(0.5, 0.95, 0.99), ...).
CREATE TABLE IF NOT EXISTS ${db}.performance_rollup_1m (
    metric_name String,
    service_name String,
    bucket DateTime,
    avg_value AggregateFunction(avg, Float64),
    min_value AggregateFunction(min, Float64),
    max_value AggregateFunction(max, Float64),
    samples AggregateFunction(count),
    quantiles AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    last_value AggregateFunction(argMax, Float64, DateTime)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (metric_name, service_name, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.performance_rollup_1m_mv TO ${db}.performance_rollup_1m AS
SELECT
    metric_name,
    service_name,
    toStartOfMinute(timestamp) AS bucket,
    avgState(metric_value) AS avg_value,
    minState(metric_value) AS min_value,
    maxState(metric_value) AS max_value,
    countState() AS samples,
    quantilesState(0.5, 0.95, 0.99)(metric_value) AS quantiles,
    argMaxState(metric_value, timestamp) AS last_value
FROM ${db}.performance_events
WHERE event_type = 'metric'
GROUP BY metric_name, service_name, bucket;

CREATE TABLE IF NOT EXISTS ${db}.performance_rollup_1h (
    metric_name String,
    service_name String,
    bucket DateTime,
    avg_value AggregateFunction(avg, Float64),
    min_value AggregateFunction(min, Float64),
    max_value AggregateFunction(max, Float64),
    samples AggregateFunction(count),
    quantiles AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    last_value AggregateFunction(argMax, Float64, DateTime)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYear(bucket)
ORDER BY (metric_name, service_name, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.performance_rollup_1h_mv TO ${db}.performance_rollup_1h AS
SELECT
    metric_name,
    service_name,
    toStartOfHour(timestamp) AS bucket,
    avgState(metric_value) AS avg_value,
    minState(metric_value) AS min_value,
    maxState(metric_value) AS max_value,
    countState() AS samples,
    quantilesState(0.5, 0.95, 0.99)(metric_value) AS quantiles,
    argMaxState(metric_value, timestamp) AS last_value
FROM ${db}.performance_events
WHERE event_type = 'metric'
GROUP BY metric_name, service_name, bucket;
