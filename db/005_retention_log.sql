-- retention_log: every partition the retention workflow dropped, with its size, so what left is auditable.
CREATE TABLE IF NOT EXISTS ${db}.retention_log (
    timestamp DateTime,
    table_name String,
    partition_id String,
    rows UInt64,
    bytes UInt64,
    reason String,
    workflow_id String
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (timestamp, table_name);
