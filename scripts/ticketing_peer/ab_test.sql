-- DuckDB peer of the A/B analyzer (src/analyze/ticketing/ab_test): its one aggregation, the
-- attempts with a variant per (labelled experiment, arm, user), one row per user. The per-arm
-- sums over those rows (exact, in Rust) and the statistics on top are not here.
-- `DATA` is replaced by the bench script with the data directory.

WITH experiments AS (
    -- The ab_test labels in the analyzer's order (start, then subject), numbered from 0.
    SELECT row_number() OVER (ORDER BY start, subject) - 1 AS experiment, start, "end"
    FROM read_parquet('DATA/labels.parquet')
    WHERE kind = 'ab_test'
),
attempts AS (
    SELECT
        -- The first experiment whose window holds the attempt, or -1.
        coalesce((
            SELECT min(e.experiment) FROM experiments e
            WHERE t.timestamp >= e.start AND t.timestamp < e."end"
        ), -1) AS experiment,
        CASE ab_variant WHEN 'control' THEN 0 WHEN 'treatment' THEN 1 ELSE 2 END AS arm,
        user_id,
        NOT coalesce(is_fraud, false) AS legit,
        payment_status = 'sold_out' AS sold_out,
        api_status = 429 AS limited,
        payment_status = 'completed' AS completed,
        payment_status <> 'abandoned' AS kept,
        -- Polars casts by truncation, DuckDB by rounding: floor() makes both round half up.
        floor(total_amount * 100 + 0.5)::BIGINT AS cents
    FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false) t
    WHERE ab_variant IS NOT NULL
)
SELECT
    experiment,
    arm,
    count(*) AS attempts,
    count(*) FILTER (WHERE NOT legit) AS fraud,
    count(*) FILTER (WHERE legit AND sold_out) AS sold_out,
    count(*) FILTER (WHERE legit AND NOT sold_out AND limited) AS rate_limited,
    count(*) FILTER (WHERE legit AND NOT sold_out AND NOT limited) AS eligible,
    count(*) FILTER (WHERE legit AND NOT sold_out AND NOT limited AND kept) AS converted,
    count(*) FILTER (WHERE completed) AS completed,
    coalesce(sum(cents) FILTER (WHERE legit AND completed), 0) AS cents
FROM attempts
GROUP BY experiment, arm, user_id;
