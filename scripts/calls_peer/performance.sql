-- The performance page's queries (src/analyze/performance.rs), as DuckDB SQL, with the default
-- settings of [performance] (sla_ms 2000, slow_ms 5000, buckets 500/1000/2000/5000 ms, a
-- histogram of 40 bins of 250 ms): the sums per (task, provider, model), the latency
-- percentiles (linear interpolation, Polars' and trafficsim's `quantile_from_counts`) per
-- (task, provider, model), per (model, provider), per provider and over all calls, and the
-- latency buckets and histogram over all calls. Rankings and recommendations are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT task_type, provider, model, count(*), count(*) FILTER (WHERE status = 'success'),
       sum(micros(cost_usd)), sum(input_tokens), sum(output_tokens), sum(latency_ms),
       count(*) FILTER (WHERE latency_ms <= 2000),
       sum(CASE WHEN latency_ms > 2000 THEN micros(cost_usd) ELSE 0 END),
       count(*) FILTER (WHERE latency_ms > 5000),
       sum(CASE WHEN latency_ms > 5000 THEN micros(cost_usd) ELSE 0 END),
       sum(CASE WHEN status = 'success' THEN latency_ms ELSE 0 END)
FROM calls GROUP BY ALL;
SELECT task_type, provider, model, quantile_cont(latency_ms, [0.5, 0.95, 0.99])
FROM calls GROUP BY GROUPING SETS ((task_type, provider, model), (model, provider), (provider), ());
SELECT CASE WHEN latency_ms <= 500 THEN 0 WHEN latency_ms <= 1000 THEN 1 WHEN latency_ms <= 2000 THEN 2
            WHEN latency_ms <= 5000 THEN 3 ELSE 4 END AS bucket,
       least(greatest(latency_ms // 250, 0), 40) AS bin, count(*)
FROM calls GROUP BY ALL;
