-- retention_log: what the retention job found expired (by each table's TTL) and when, with its size, so what left
-- is auditable. ORDER BY (timestamp, table_name): it is read newest first, per table.
CREATE TABLE IF NOT EXISTS ${db}.retention_log (
    timestamp DateTime64(3, 'UTC'),
    table_name LowCardinality(String),
    partition_id String,
    rows UInt64,
    bytes UInt64,
    reason String,
    workflow_id String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, table_name)
TTL toDateTime(timestamp) + INTERVAL ${aggregate_days} DAY;
