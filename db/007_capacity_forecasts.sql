-- capacity_forecasts: the daily capacity plan — the seed's CapacityForecast per service and resource, as JSON in
-- `forecast`. ReplacingMergeTree: a plan made again the same day replaces that day's rows; read by day, then service.
CREATE TABLE IF NOT EXISTS ${db}.capacity_forecasts (
    plan_date Date,
    generated_at DateTime('UTC'),
    service_name LowCardinality(String),
    resource LowCardinality(String),
    forecast String CODEC(ZSTD(3)),
    workflow_id String
) ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYYYYMM(plan_date)
ORDER BY (plan_date, service_name, resource)
TTL plan_date + INTERVAL ${aggregate_days} DAY;
