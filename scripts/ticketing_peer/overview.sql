-- The overview page's queries (src/analyze/ticketing/overview.rs), as DuckDB SQL.
-- DATA is replaced with the data directory by scripts/ticketing_peer.py.
CREATE OR REPLACE TEMP VIEW t AS SELECT * FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false);
SELECT count(DISTINCT event_id), count(DISTINCT user_id),
       sum(num_tickets) FILTER (WHERE payment_status = 'completed'),
       sum(CAST(total_amount * 100 + 0.5 AS BIGINT)) FILTER (WHERE payment_status = 'completed')
FROM t;
SELECT CAST(timestamp AS DATE) AS day, count(*) FROM t GROUP BY 1 ORDER BY 1;
SELECT payment_status, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT scenario, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT persona, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC, 1;
SELECT count(*) FROM read_parquet('DATA/events.parquet');
SELECT count(*) FROM read_parquet('DATA/users.parquet');
SELECT * FROM read_parquet('DATA/labels.parquet') ORDER BY start, kind, subject;
