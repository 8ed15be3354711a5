-- alert_history: one row per alert transition (firing, acknowledged, resolved), written by the alert
-- workflow's activities. ReplacingMergeTree keyed on (service_name, alert_id, status, timestamp) makes a
-- retried activity's identical row collapse into one; queries read per service and per alert.
CREATE TABLE IF NOT EXISTS ${db}.alert_history (
    alert_id String,
    timestamp DateTime,
    timestamp_ms UInt16,
    service_name String,
    severity String,
    metric_name String,
    threshold_value Float64,
    actual_value Float64,
    status String,
    duration_minutes UInt32,
    acknowledged_by String,
    resolution_notes String,
    fingerprint String,
    rule_name String,
    instance_id String,
    workflow_id String,
    labels Nested(key String, value String)
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (service_name, alert_id, status, timestamp)
SETTINGS index_granularity = 8192;
