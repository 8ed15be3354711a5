-- spans: OpenTelemetry spans received on POST /v1/traces (core/otlp-traces.ts), kept as long as samples.
-- ORDER BY (service_name, start_time): the reads are a service's spans over a time range (the traces list, with a
-- duration floor) and every service's entry spans of the last windows (RED metrics); a trace by its id is found
-- through the bloom filter on trace_id (a trace's spans are spread over its services).
-- Times in nanoseconds (DateTime64(9)): spans are often shorter than a millisecond.
-- attributes / resource: the span's and its resource's attributes as strings (arrays and maps as JSON).
CREATE TABLE IF NOT EXISTS ${db}.spans (
    start_time DateTime64(9, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    trace_id FixedString(32),
    span_id FixedString(16),
    parent_span_id String,
    service_name LowCardinality(String),
    name LowCardinality(String),
    kind LowCardinality(String),
    status_code LowCardinality(String),
    status_message String CODEC(ZSTD(1)),
    is_error UInt8,
    route LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    scope_name LowCardinality(String),
    events UInt32,
    links UInt32,
    INDEX trace_id_bloom trace_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(start_time)
ORDER BY (service_name, start_time)
TTL toDateTime(start_time) + INTERVAL ${detailed_days} DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
