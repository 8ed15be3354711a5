-- performance_events: every sample (event_type = 'metric') with the seed's columns, in types that run on
-- ClickHouse 18.16 and current releases: DateTime (seconds) + a UInt16 milliseconds column, as 18.16 has no sub-second DateTime;
-- Nested(key, value) labels instead of Map, String instead of LowCardinality.
-- PARTITION BY month only (the seed also partitioned by service, which multiplies parts; retention drops
-- whole months). ORDER BY (metric_name, service_name, instance_id, timestamp) because every query we run
-- names a metric first (rule evaluation, per-service series, dashboard tiles) and then a service.
CREATE TABLE IF NOT EXISTS ${db}.performance_events (
    timestamp DateTime,
    timestamp_ms UInt16,
    service_name String,
    instance_id String,
    event_type String,
    metric_name String,
    metric_value Float64,
    labels Nested(key String, value String),
    duration_ms UInt32,
    user_id String,
    correlation_id String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (metric_name, service_name, instance_id, timestamp)
SETTINGS index_granularity = 8192;
