-- trend_analyses: the hourly trend job's results — per service (and `platform`, all services together) and metric,
-- the seed's window-compare direction and the seasonal-trend analysis (slope with significance, daily and weekly
-- seasonality, a day's forecast with its band) as JSON in `analysis`. ReplacingMergeTree: a retried hour replaces it.
CREATE TABLE IF NOT EXISTS ${db}.trend_analyses (
    analyzed_hour DateTime,
    generated_at DateTime,
    service_name String,
    metric_name String,
    direction String,
    slope_per_hour Float64,
    p_value Float64,
    analysis String,
    workflow_id String
) ENGINE = ReplacingMergeTree(generated_at)
PARTITION BY toYYYYMM(analyzed_hour)
ORDER BY (service_name, metric_name, analyzed_hour);
