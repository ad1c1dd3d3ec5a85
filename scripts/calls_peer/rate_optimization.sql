-- The rate optimization page's queries (src/analyze/rate_optimization.rs), as DuckDB SQL: the
-- successful calls' sums per (task, provider, model), and the prompt-cache figures per
-- (provider, model, task, feature). Switching, commitment and volume scenarios are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT task_type, provider, model, count(*), count(*), sum(micros(cost_usd)), sum(input_tokens),
       sum(output_tokens), sum(latency_ms), sum(cached_input_tokens)
FROM calls WHERE status = 'success' GROUP BY ALL;
SELECT provider, model, task_type, feature_id, count(*), count(*) FILTER (WHERE cached_input_tokens > 0),
       sum(input_tokens), sum(cached_input_tokens), sum(output_tokens), sum(micros(cost_usd)),
       sum(CASE WHEN cached_input_tokens > 0 THEN input_tokens ELSE 0 END),
       sum(CASE WHEN cached_input_tokens > 0 THEN output_tokens ELSE 0 END),
       sum(CASE WHEN cached_input_tokens > 0 THEN micros(cost_usd) ELSE 0 END)
FROM calls WHERE status = 'success' GROUP BY ALL ORDER BY provider, model, task_type, feature_id;
