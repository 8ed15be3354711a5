-- trend_analyses: the hourly trend job's results — per service (and `platform`, all services together) and metric,
-- the seed's window-compare direction and the seasonal-trend analysis (slope with significance, daily and weekly
-- seasonality, a day's forecast with its band) as JSON in `analysis`. ReplacingMergeTree: a retried hour replaces it.
-- ORDER BY (service_name, metric_name, analyzed_hour): read per service and metric, latest hour first.
CREATE TABLE IF NOT EXISTS ${db}.trend_analyses (
    analyzed_hour DateTime('UTC'),
    generated_at DateTime('UTC'),
    service_name LowCardinality(String),
    metric_name LowCardinality(String),
    direction LowCardinality(String),
    slope_per_hour Float64,
    p_value Float64,
    analysis String CODEC(ZSTD(3)),
    workflow_id String
) ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYYYYMM(analyzed_hour)
ORDER BY (service_name, metric_name, analyzed_hour)
TTL analyzed_hour + INTERVAL ${aggregate_days} DAY;
