-- performance_events: every sample (event_type = 'metric') with the seed's columns, on current ClickHouse types.
-- ORDER BY (metric_name, service_name, instance_id, timestamp): every query we run names a metric first (rule
-- evaluation selects a metric and matchers; dashboard tiles, series and forecasts ask metric IN (...) AND
-- service IN (...) over a time range), then a service; instance_id before timestamp keeps each series' points
-- adjacent, so the time and value codecs see one series at a time (DoubleDelta on regular scrape intervals, Gorilla
-- on slowly moving values) and rate() reads a series in order.
-- PARTITION BY month: the TTL drops whole parts once a month has aged out (ttl_only_drop_parts), not row by row.
-- Labels: Map(LowCardinality(String), String), keys sorted by the writer; matchers read labels['key'].
-- ingest_id / ingest_seq: the idempotency identity of a sample written by a request with an Idempotency-Key (a
-- hash of caller, route and key; '' otherwise) and its position in that request, so a retry after the API died
-- writes only what is missing (see README, "Exactly once").
CREATE TABLE IF NOT EXISTS ${db}.performance_events (
    timestamp DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    service_name LowCardinality(String),
    instance_id LowCardinality(String),
    event_type LowCardinality(String),
    metric_name LowCardinality(String),
    metric_value Float64 CODEC(Gorilla, ZSTD(1)),
    labels Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    duration_ms UInt32 CODEC(T64, ZSTD(1)),
    user_id String CODEC(ZSTD(1)),
    correlation_id String CODEC(ZSTD(1)),
    ingest_id String CODEC(ZSTD(1)),
    ingest_seq UInt32 CODEC(Delta, ZSTD(1))
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (metric_name, service_name, instance_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL ${detailed_days} DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
