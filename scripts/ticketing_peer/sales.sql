-- The sales page's queries (src/analyze/ticketing/sales/), as DuckDB SQL.
CREATE OR REPLACE TEMP VIEW t AS SELECT * FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP VIEW e AS SELECT * FROM read_parquet('DATA/events.parquet');
-- (event, tier) groups: everything else on the page is summed from them.
SELECT event_id, tier, count(*) AS attempts,
       count(*) FILTER (WHERE payment_status = 'completed') AS completed,
       count(*) FILTER (WHERE payment_status = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE payment_status = 'sold_out') AS sold_out,
       sum(num_tickets) AS requested,
       sum(num_tickets) FILTER (WHERE payment_status = 'completed') AS sold,
       sum(CAST(total_amount * 100 + 0.5 AS BIGINT)) FILTER (WHERE payment_status = 'completed') AS cents
FROM t GROUP BY ALL ORDER BY event_id, tier;
SELECT persona, count(*), count(*) FILTER (WHERE payment_status = 'completed'),
       count(*) FILTER (WHERE payment_status = 'abandoned')
FROM t GROUP BY 1 ORDER BY 1;
SELECT CASE WHEN price_multiplier > 0.9995 AND price_multiplier < 1.0005 THEN 'list'
            WHEN price_multiplier < 0.85 THEN '00' WHEN price_multiplier < 0.95 THEN '01'
            WHEN price_multiplier < 1.05 THEN '02' WHEN price_multiplier < 1.15 THEN '03'
            WHEN price_multiplier < 1.25 THEN '04' ELSE '05' END AS bucket,
       count(*), count(*) FILTER (WHERE payment_status = 'completed'),
       count(*) FILTER (WHERE payment_status = 'abandoned')
FROM t GROUP BY 1 ORDER BY 1;
SELECT g.*, e.is_mega_event FROM (
    SELECT event_id, persona, is_bot, count(*) AS orders, sum(num_tickets) AS tickets,
           sum(CAST(total_amount * 100 + 0.5 AS BIGINT)) AS cents
    FROM t WHERE payment_status = 'completed' GROUP BY ALL) g
LEFT JOIN e USING (event_id) ORDER BY ALL;
-- Sell-out curves of the four events with the highest demand against capacity.
WITH demand AS (
    SELECT event_id, sum(num_tickets) / any_value(e.capacity) AS ratio
    FROM t JOIN e USING (event_id) GROUP BY event_id ORDER BY ratio DESC, event_id LIMIT 4)
SELECT event_id, timestamp, num_tickets FROM t SEMI JOIN demand USING (event_id)
WHERE payment_status = 'completed' ORDER BY event_id, timestamp;
