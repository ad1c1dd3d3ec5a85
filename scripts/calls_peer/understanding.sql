-- The understanding page's queries (src/analyze/understanding.rs), as DuckDB SQL: the standard
-- sums (calls, successes, cost as integer micro-dollars, tokens, latency) by provider and model,
-- organization, product, feature and successful calls' task type; customers; days by provider;
-- weekday by hour. The forecast and the recommendations on top are Rust and not here.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT provider, model, count(*), count(*) FILTER (WHERE status = 'success'), sum(micros(cost_usd)),
       sum(input_tokens), sum(output_tokens), sum(latency_ms)
FROM calls GROUP BY ALL;
SELECT customer_id, count(*), sum(micros(cost_usd)), min(subscription_tier), min(organization_id)
FROM calls GROUP BY ALL;
SELECT CAST(timestamp AS DATE) AS date, provider, count(*), sum(micros(cost_usd)) FROM calls GROUP BY ALL;
SELECT organization_id, count(*), count(*) FILTER (WHERE status = 'success'), sum(micros(cost_usd)),
       sum(input_tokens), sum(output_tokens), sum(latency_ms)
FROM calls GROUP BY ALL;
SELECT product_id, count(*), count(*) FILTER (WHERE status = 'success'), sum(micros(cost_usd)),
       sum(input_tokens), sum(output_tokens), sum(latency_ms)
FROM calls GROUP BY ALL;
SELECT feature_id, count(*), count(*) FILTER (WHERE status = 'success'), sum(micros(cost_usd)),
       sum(input_tokens), sum(output_tokens), sum(latency_ms)
FROM calls GROUP BY ALL;
SELECT task_type, count(*), count(*), sum(micros(cost_usd)), sum(input_tokens), sum(output_tokens),
       sum(latency_ms)
FROM calls WHERE status = 'success' GROUP BY ALL;
SELECT isodow(timestamp) AS weekday, hour(timestamp) AS hour, count(*), sum(micros(cost_usd))
FROM calls GROUP BY ALL;
