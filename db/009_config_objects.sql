-- config_objects: what operators create and change through the admin API — alert rules, escalation policies,
-- silences — kept durably here, with Redis only as their cache (store/config-store.ts): a Redis flush or a new Redis
-- loses none of them. One row per change: `version` orders a name's changes (the latest wins; `deleted` = 1 is a
-- removal), `body` the object as JSON. ReplacingMergeTree(version) keeps the latest row per name in the end; reads
-- take argMax(…, version) so they are right before merges too. No TTL: configuration lives until removed.
-- ORDER BY (kind, scope, name): read per kind and deployment (scope = the task queue), a name's rows together.
CREATE TABLE IF NOT EXISTS ${db}.config_objects (
    kind LowCardinality(String),
    scope LowCardinality(String),
    name String,
    version UInt64,
    deleted UInt8,
    body String CODEC(ZSTD(3)),
    updated_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(version)
ORDER BY (kind, scope, name);
