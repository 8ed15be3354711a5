-- alert_history: one row per alert transition (firing, acknowledged, resolved), written by the alert workflow's
-- activities. ReplacingMergeTree keyed on (service_name, alert_id, status, timestamp): a retried activity's identical
-- row collapses into one; the reads are per service and per alert, then in time order.
CREATE TABLE IF NOT EXISTS ${db}.alert_history (
    alert_id String,
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    service_name LowCardinality(String),
    severity LowCardinality(String),
    metric_name LowCardinality(String),
    threshold_value Float64,
    actual_value Float64,
    status LowCardinality(String),
    duration_minutes UInt32,
    acknowledged_by String,
    resolution_notes String CODEC(ZSTD(1)),
    fingerprint String,
    rule_name LowCardinality(String),
    instance_id LowCardinality(String),
    workflow_id String,
    labels Map(LowCardinality(String), String) CODEC(ZSTD(1))
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service_name, alert_id, status, timestamp)
TTL toDateTime(timestamp) + INTERVAL ${aggregate_days} DAY
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
