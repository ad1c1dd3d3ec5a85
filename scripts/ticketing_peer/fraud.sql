-- DuckDB peer of the fraud analyzer (src/analyze/ticketing/fraud): the aggregations it collects
-- for the baseline detector, with the default thresholds of [ticketing.fraud] (risk_threshold
-- 0.5, min_indicators 2). The statistics on top (intervals, AUC, curves) are Rust and not here.
-- `DATA` is replaced by the bench script with the data directory.

CREATE OR REPLACE TEMP VIEW fraud_baseline AS
SELECT
    risk_score::DOUBLE AS score,
    (risk_score >= 0.5
        OR device_mismatch::INTEGER + geo_mismatch::INTEGER + time_anomaly::INTEGER >= 2) AS flag,
    is_fraud,
    fraud_pattern,
    -- Polars casts by truncation, DuckDB by rounding: floor() makes both round half up.
    floor(total_amount * 100 + 0.5)::BIGINT AS cents,
    timestamp
FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false);

-- 1. Confusion counts, curves, recall per pattern and money: one group-by.
SELECT score, flag, is_fraud, fraud_pattern, count(*) AS n, sum(cents) AS cents
FROM fraud_baseline
GROUP BY ALL;

-- 2. Alert volume per hour.
SELECT
    epoch_us(timestamp) - epoch_us(timestamp) % 3600000000 AS hour,
    count(*) AS n,
    sum(is_fraud::BIGINT) AS fraud,
    sum(flag::BIGINT) AS flagged,
    sum((flag AND is_fraud)::BIGINT) AS caught
FROM fraud_baseline
GROUP BY ALL;

-- 3. Each labelled attack and flash-sale window, then the flash sales together.
WITH windows AS (
    SELECT row_number() OVER (ORDER BY start, kind, subject) - 1 AS window, kind, start, "end"
    FROM read_parquet('DATA/labels.parquet')
    WHERE kind IN ('attack', 'flash_sale')
)
SELECT w.window, b.is_fraud, b.flag, count(*) AS n
FROM windows w JOIN fraud_baseline b ON b.timestamp >= w.start AND b.timestamp < w."end"
GROUP BY ALL
UNION ALL
SELECT -1 AS window, b.is_fraud, b.flag, count(*) AS n
FROM fraud_baseline b
WHERE EXISTS (
    SELECT 1 FROM read_parquet('DATA/labels.parquet') l
    WHERE l.kind = 'flash_sale' AND b.timestamp >= l.start AND b.timestamp < l."end"
)
GROUP BY ALL;
