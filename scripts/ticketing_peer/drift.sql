-- DuckDB peer of the drift analyzer (src/analyze/ticketing/drift): the aggregations it collects,
-- with the default settings of [ticketing.drift] (scope "labelled": the rows of the scenarios
-- that carry drift labels). Days are UTC days (the analyzer numbers them from the data's first
-- day, which costs nothing more). The PSI, the KS tests, the windows and the scoring on top
-- are Rust and not here. `DATA` is replaced by the bench script with the data directory.

CREATE OR REPLACE TEMP VIEW drift_rows AS
SELECT
    epoch_us(timestamp) // 86400000000 AS day,
    (epoch_us(timestamp) // 3600000000) % 24 AS hour,
    total_amount,
    num_tickets,
    price_multiplier,
    price_per_ticket,
    persona,
    payment_method,
    device_type
FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false)
WHERE scenario IN (SELECT scenario FROM read_parquet('DATA/labels.parquet') WHERE kind = 'drift');

-- 1. Rows per (day, feature, value): numeric features (and the hour) in `value`, categorical
--    ones in `category`.
SELECT day, 'total_amount' AS feature, total_amount::DOUBLE AS value, NULL::VARCHAR AS category, count(*) AS n
FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'num_tickets', num_tickets::DOUBLE, NULL, count(*) FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'price_multiplier', price_multiplier::DOUBLE, NULL, count(*) FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'persona', NULL, persona::VARCHAR, count(*) FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'payment_method', NULL, payment_method::VARCHAR, count(*) FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'device_type', NULL, device_type::VARCHAR, count(*) FROM drift_rows GROUP BY ALL
UNION ALL
SELECT day, 'hour', hour::DOUBLE, NULL, count(*) FROM drift_rows GROUP BY ALL;

-- 2. The day sums behind document 004's score (money in integer cents: Polars casts by
--    truncation and DuckDB by rounding, so floor() makes both round half up).
SELECT
    day,
    count(*) AS rows,
    sum(floor(total_amount * 100 + 0.5)::BIGINT) AS amount_cents,
    sum(num_tickets::BIGINT) AS tickets,
    sum(floor(price_per_ticket * 100 + 0.5)::BIGINT) AS price_cents
FROM drift_rows
GROUP BY ALL;
