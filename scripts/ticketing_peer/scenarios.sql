-- DuckDB peer of the scenarios page (src/analyze/ticketing/scenarios): the aggregations it
-- collects, with the default settings of [ticketing.scenarios] (flash_sale_margin_s 60,
-- attack_margin_minutes 30, degradation_margin_minutes 60, black_friday_lag_days 7). Each
-- signature reads the rows of its label's own scenario around the labelled windows. Days are UTC
-- days counted from the epoch (epoch_us / 86400000000), as Polars' date of a UTC timestamp.
-- Windows are joined as ranges (DuckDB's range join: the labelled windows with their margins do
-- not overlap, so each attempt is counted once), not as EXISTS subqueries, which run 10x slower.
-- `DATA` is replaced by the bench script.

CREATE OR REPLACE TEMP VIEW sc AS
SELECT
    epoch_us(timestamp) AS us,
    scenario,
    event_id,
    tier,
    persona,
    fraud_pattern,
    num_tickets,
    floor(total_amount * 100 + 0.5)::BIGINT AS cents,
    payment_status,
    is_fraud,
    ab_variant,
    api_status,
    CASE WHEN api_status = 200 THEN decision_latency_ms END AS ok_ms
FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW sc_labels AS
SELECT
    row_number() OVER (PARTITION BY kind ORDER BY start, subject) - 1 AS i,
    kind,
    scenario,
    subject,
    epoch_us(start) AS a,
    epoch_us("end") AS b
FROM read_parquet('DATA/labels.parquet');

-- 1. Attempts per scenario and UTC day.
SELECT scenario, us // 86400000000 AS day, count(*) AS n
FROM sc
GROUP BY ALL;

-- 2. Flash sales: attempts per second of the sale's scenario, 60 s either side of the sale.
SELECT s.scenario, s.us - s.us % 1000000 AS second, count(*) AS n
FROM sc s
JOIN sc_labels l ON l.kind = 'flash_sale' AND l.scenario = s.scenario
    AND s.us >= l.a - 60000000 AND s.us < l.b + 60000000
GROUP BY ALL;

-- The sale events' tier sell-out times (events table), and each tier's first sold_out answer.
SELECT event_id, epoch_us(vip_sold_out_at), epoch_us(premium_sold_out_at), epoch_us(standard_sold_out_at)
FROM read_parquet('DATA/events.parquet')
WHERE event_id IN (SELECT subject FROM sc_labels WHERE kind = 'flash_sale');

SELECT event_id, tier, min(us) AS first
FROM sc
WHERE payment_status = 'sold_out'
    AND event_id IN (SELECT subject FROM sc_labels WHERE kind = 'flash_sale')
GROUP BY ALL;

-- 3. Attacks: attempts per second and fraud_pattern of the attack's scenario, 30 minutes either
-- side of each attack.
SELECT s.scenario, coalesce(s.fraud_pattern, '') AS pattern, s.us - s.us % 1000000 AS second, count(*) AS n
FROM sc s
JOIN sc_labels l ON l.kind = 'attack' AND l.scenario = s.scenario
    AND s.us >= l.a - 1800000000 AND s.us < l.b + 1800000000
GROUP BY ALL;

-- 4. Drift and A/B (the scenario with those labels): attempts and amount per UTC day and persona,
-- attempts, amount and tickets per drift week and persona, and the A/B conversion per variant.
SELECT us // 86400000000 AS day, persona, count(*) AS n, sum(cents) AS cents
FROM sc
WHERE scenario IN (SELECT scenario FROM sc_labels WHERE kind IN ('drift', 'ab_test'))
GROUP BY ALL;

SELECT coalesce(l.i, -1) AS week, s.persona, count(*) AS n, sum(s.cents) AS cents, sum(s.num_tickets) AS tickets
FROM sc s
LEFT JOIN sc_labels l ON l.kind = 'drift' AND l.scenario = s.scenario AND s.us >= l.a AND s.us < l.b
WHERE s.scenario IN (SELECT scenario FROM sc_labels WHERE kind = 'drift')
GROUP BY ALL;

SELECT s.ab_variant, count(*) AS n, count(*) FILTER (WHERE s.payment_status <> 'abandoned') AS converted
FROM sc s
JOIN sc_labels l ON l.kind = 'ab_test' AND l.scenario = s.scenario AND s.us >= l.a AND s.us < l.b
WHERE s.ab_variant IS NOT NULL AND NOT s.is_fraud AND s.payment_status <> 'sold_out' AND s.api_status <> 429
GROUP BY ALL;

-- 5. Degradation: the p99 per minute of the window's scenario, 60 minutes either side, and its
-- levels inside each window and outside them all.
SELECT
    s.us - s.us % 60000000 AS minute,
    count(*) AS requests,
    count(s.ok_ms) AS decisions,
    quantile_disc(s.ok_ms, 0.50) AS p50,
    quantile_disc(s.ok_ms, 0.95) AS p95,
    quantile_disc(s.ok_ms, 0.99) AS p99
FROM sc s
JOIN sc_labels l ON l.kind = 'degradation' AND l.scenario = s.scenario
    AND s.us >= l.a - 3600000000 AND s.us < l.b + 3600000000
GROUP BY ALL;

SELECT
    coalesce(l.i, -1) AS win,
    count(*) AS requests,
    count(s.ok_ms) AS decisions,
    quantile_disc(s.ok_ms, 0.50) AS p50,
    quantile_disc(s.ok_ms, 0.95) AS p95,
    quantile_disc(s.ok_ms, 0.99) AS p99
FROM sc s
LEFT JOIN sc_labels l ON l.kind = 'degradation' AND l.scenario = s.scenario AND s.us >= l.a AND s.us < l.b
WHERE s.scenario IN (SELECT scenario FROM sc_labels WHERE kind = 'degradation')
GROUP BY ALL;

-- 6. Black Friday: attempts per minute of its scenario in the window and 7 days before.
WITH ranges AS (
    SELECT scenario, a, b FROM sc_labels WHERE kind = 'black_friday'
    UNION ALL
    SELECT scenario, a - 604800000000, b - 604800000000 FROM sc_labels WHERE kind = 'black_friday'
)
SELECT s.scenario, s.us - s.us % 60000000 AS minute, count(*) AS n
FROM sc s
JOIN ranges r ON r.scenario = s.scenario AND s.us >= r.a AND s.us < r.b
GROUP BY ALL;
