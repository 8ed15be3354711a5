-- business_events: the events of POST /events (trades, predictions, sign-ups) with their context.
-- ORDER BY (event_type, service_name, timestamp): reports count and sum per event type and service over time.
CREATE TABLE IF NOT EXISTS ${db}.business_events (
    event_id String,
    timestamp DateTime,
    timestamp_ms UInt16,
    event_type String,
    service_name String,
    user_id String,
    correlation_id String,
    attributes Nested(key String, value String),
    value Float64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (event_type, service_name, timestamp)
SETTINGS index_granularity = 8192;
