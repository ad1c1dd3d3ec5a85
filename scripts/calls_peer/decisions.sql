-- The real-time decisions page's queries (src/analyze/decisions.rs), as DuckDB SQL, with the
-- default settings of [decisions] (expensive small calls: cost > 0.01 and < 500 tokens; slow
-- expensive calls: latency > 5000 ms and cost > 0.05). The robust baselines, budgets and
-- alerts on top are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT customer_id, CAST(timestamp AS DATE) AS date, count(*), sum(micros(cost_usd)),
       min(subscription_tier), min(tier_price_usd)
FROM calls GROUP BY ALL;
SELECT epoch_us(timestamp) // 3600000000 AS hour, sum(micros(cost_usd)) FROM calls GROUP BY ALL;
SELECT customer_id, count(*), sum(micros(cost_usd))
FROM calls WHERE cost_usd > 0.01 AND total_tokens < 500 GROUP BY ALL;
SELECT customer_id, count(*), sum(micros(cost_usd))
FROM calls WHERE latency_ms > 5000 AND cost_usd > 0.05 GROUP BY ALL;
