-- The organization page's query (src/analyze/organization.rs), as DuckDB SQL: the standard sums
-- per (organization, product, feature, environment, customer); the rollups are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT organization_id, product_id, feature_id, environment, customer_id, count(*),
       count(*) FILTER (WHERE status = 'success'), sum(micros(cost_usd)), sum(input_tokens),
       sum(output_tokens), sum(latency_ms)
FROM calls GROUP BY ALL;
