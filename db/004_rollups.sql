-- 1-minute and 1-hour rollups of performance_events, filled by materialized views as rows arrive. They hold the
-- 3-year aggregated retention and serve range queries, dashboards, uptime and forecasts.
-- ORDER BY (metric_name, service_name, bucket, instance_id, cityHash64(labels)): the reads name metric IN (...)
-- AND service IN (...) over a bucket range and merge per (service, metric, bucket), so those three lead; instance and
-- label set complete the aggregation key, so per-instance and per-label reads are possible (GROUP BY instance_id or
-- labels['x']) — one row per series per bucket. The label set is keyed by its hash: the key stays comparable on
-- every server >= 24.8, and rows with one hash carry one label set.
-- Aggregates are -State columns, read back with -Merge (avgMerge, quantilesMerge(0.5, 0.95, 0.99), ...).
CREATE TABLE IF NOT EXISTS ${db}.performance_rollup_1m (
    metric_name LowCardinality(String),
    service_name LowCardinality(String),
    instance_id LowCardinality(String),
    labels Map(LowCardinality(String), String),
    bucket DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    avg_value AggregateFunction(avg, Float64),
    min_value AggregateFunction(min, Float64),
    max_value AggregateFunction(max, Float64),
    samples AggregateFunction(count),
    quantiles AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    last_value AggregateFunction(argMax, Float64, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (metric_name, service_name, bucket, instance_id, cityHash64(labels))
TTL bucket + INTERVAL ${aggregate_days} DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.performance_rollup_1m_mv TO ${db}.performance_rollup_1m AS
SELECT
    metric_name,
    service_name,
    instance_id,
    labels,
    toStartOfMinute(timestamp) AS bucket,
    avgState(metric_value) AS avg_value,
    minState(metric_value) AS min_value,
    maxState(metric_value) AS max_value,
    countState() AS samples,
    quantilesState(0.5, 0.95, 0.99)(metric_value) AS quantiles,
    argMaxState(metric_value, timestamp) AS last_value
FROM ${db}.performance_events
WHERE event_type = 'metric'
GROUP BY metric_name, service_name, instance_id, labels, bucket;

CREATE TABLE IF NOT EXISTS ${db}.performance_rollup_1h (
    metric_name LowCardinality(String),
    service_name LowCardinality(String),
    instance_id LowCardinality(String),
    labels Map(LowCardinality(String), String),
    bucket DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),
    avg_value AggregateFunction(avg, Float64),
    min_value AggregateFunction(min, Float64),
    max_value AggregateFunction(max, Float64),
    samples AggregateFunction(count),
    quantiles AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    last_value AggregateFunction(argMax, Float64, DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree()
PARTITION BY toYear(bucket)
ORDER BY (metric_name, service_name, bucket, instance_id, cityHash64(labels))
TTL bucket + INTERVAL ${aggregate_days} DAY
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.performance_rollup_1h_mv TO ${db}.performance_rollup_1h AS
SELECT
    metric_name,
    service_name,
    instance_id,
    labels,
    toStartOfHour(timestamp) AS bucket,
    avgState(metric_value) AS avg_value,
    minState(metric_value) AS min_value,
    maxState(metric_value) AS max_value,
    countState() AS samples,
    quantilesState(0.5, 0.95, 0.99)(metric_value) AS quantiles,
    argMaxState(metric_value, timestamp) AS last_value
FROM ${db}.performance_events
WHERE event_type = 'metric'
GROUP BY metric_name, service_name, instance_id, labels, bucket;
