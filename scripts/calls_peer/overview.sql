-- The overview page's queries (src/analyze/overview.rs), as DuckDB SQL; its invariant pass is in
-- invariants.sql. DATA is replaced with the data directory by scripts/calls_peer.py, which also
-- sets TimeZone = 'UTC'. Every file defines the view `calls` again, so each file runs alone.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
SELECT count(DISTINCT customer_id), count(DISTINCT organization_id), count(DISTINCT product_id),
       count(DISTINCT feature_id), count(DISTINCT provider), count(DISTINCT model)
FROM calls;
SELECT CAST(timestamp AS DATE) AS date, count(*) FROM calls GROUP BY 1 ORDER BY 1;
SELECT status, count(*) FROM calls GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT scenario, count(*) FROM calls GROUP BY 1 ORDER BY 2 DESC, 1;
