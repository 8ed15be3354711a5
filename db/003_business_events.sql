-- business_events: the events of POST /events (trades, predictions, sign-ups) with their context.
-- ORDER BY (event_type, service_name, timestamp): the business tracker and reports count and sum per event type and
-- service over a time range; a retry's look-up by event_id reads the same time range.
CREATE TABLE IF NOT EXISTS ${db}.business_events (
    event_id String,
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    event_type LowCardinality(String),
    service_name LowCardinality(String),
    user_id String CODEC(ZSTD(1)),
    correlation_id String CODEC(ZSTD(1)),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    value Float64 CODEC(Gorilla, ZSTD(1))
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (event_type, service_name, timestamp)
TTL toDateTime(timestamp) + INTERVAL ${detailed_days} DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
