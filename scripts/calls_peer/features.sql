-- The features page's query (src/analyze/features.rs), as DuckDB SQL: the standard sums and the
-- first and last day per (customer, product, feature). Adoption and retention are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT customer_id, product_id, feature_id, count(*), count(*) FILTER (WHERE status = 'success'),
       sum(micros(cost_usd)), sum(input_tokens), sum(output_tokens), sum(latency_ms),
       min(CAST(timestamp AS DATE)), max(CAST(timestamp AS DATE))
FROM calls GROUP BY ALL;
