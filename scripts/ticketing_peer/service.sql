-- DuckDB peer of the service-level analyzer (src/analyze/ticketing/service): the aggregations it
-- collects, with the default settings of [ticketing.service] (flash_sale_lead_in_s 60,
-- zoom_margin_minutes 30). Percentiles are over successful decisions (api_status 200): Polars'
-- nearest rank (`Equiprobable`) is written here as quantile_disc. The levels, verdicts and
-- checks on top are Rust and not here. Windows are joined as ranges (they do not overlap, so
-- each attempt is counted once). `DATA` is replaced by the bench script.

CREATE OR REPLACE TEMP VIEW svc AS
SELECT
    epoch_us(timestamp) AS us,
    scenario,
    api_status,
    CASE WHEN api_status = 200 THEN decision_latency_ms END AS ok_ms
FROM read_parquet('DATA/transactions/**/*.parquet', hive_partitioning = false);

-- The labelled degradation windows, in label order (start, kind, subject).
CREATE OR REPLACE TEMP VIEW svc_windows AS
SELECT
    row_number() OVER (ORDER BY start, kind, subject) - 1 AS win,
    epoch_us(start) AS a,
    epoch_us("end") AS b,
    scenario
FROM read_parquet('DATA/labels.parquet')
WHERE kind = 'degradation';

-- Each attempt with the degradation window holding it (-1: outside every window: the windows do
-- not overlap), and whether it is of the window label's own scenario.
CREATE OR REPLACE TEMP VIEW svc_tagged AS
SELECT s.us, s.api_status, s.ok_ms, coalesce(w.win, -1) AS win, coalesce(s.scenario = w.scenario, false) AS own
FROM svc s LEFT JOIN svc_windows w ON s.us >= w.a AND s.us < w.b;

-- 1. Counts per (scenario, UTC minute): availability, error rates, the hourly error chart.
SELECT
    scenario,
    us - us % 60000000 AS minute,
    count(*) AS requests,
    count(*) FILTER (WHERE api_status = 429) AS rate_limited,
    count(*) FILTER (WHERE api_status NOT IN (200, 429)) AS errors,
    count(ok_ms) AS decisions
FROM svc
GROUP BY ALL;

-- 2. The levels inside each degradation window and outside them all (window -1), of every
-- attempt and of the label's own scenario's, then 3. the outside attempts per UTC hour (the worst
-- busy hour).

SELECT
    win,
    count(*) AS requests,
    count(*) FILTER (WHERE api_status = 429) AS rate_limited,
    count(*) FILTER (WHERE api_status NOT IN (200, 429)) AS errors,
    count(ok_ms) AS decisions,
    quantile_disc(ok_ms, 0.50) AS p50,
    quantile_disc(ok_ms, 0.95) AS p95,
    quantile_disc(ok_ms, 0.99) AS p99,
    count(*) FILTER (WHERE own) AS own_requests,
    count(*) FILTER (WHERE own AND api_status = 429) AS own_rate_limited,
    count(*) FILTER (WHERE own AND api_status NOT IN (200, 429)) AS own_errors,
    count(ok_ms) FILTER (WHERE own) AS own_decisions,
    quantile_disc(ok_ms, 0.50) FILTER (WHERE own) AS own_p50,
    quantile_disc(ok_ms, 0.95) FILTER (WHERE own) AS own_p95,
    quantile_disc(ok_ms, 0.99) FILTER (WHERE own) AS own_p99
FROM svc_tagged
GROUP BY ALL;

SELECT
    us - us % 3600000000 AS hour,
    count(*) AS requests,
    count(*) FILTER (WHERE api_status = 429) AS rate_limited,
    count(*) FILTER (WHERE api_status NOT IN (200, 429)) AS errors,
    count(ok_ms) AS decisions,
    quantile_disc(ok_ms, 0.50) AS p50,
    quantile_disc(ok_ms, 0.95) AS p95,
    quantile_disc(ok_ms, 0.99) AS p99
FROM svc_tagged
WHERE win = -1
GROUP BY ALL;

-- 4. The levels per scenario.
SELECT
    scenario,
    count(*) AS requests,
    count(*) FILTER (WHERE api_status = 429) AS rate_limited,
    count(*) FILTER (WHERE api_status NOT IN (200, 429)) AS errors,
    count(ok_ms) AS decisions,
    quantile_disc(ok_ms, 0.50) AS p50,
    quantile_disc(ok_ms, 0.95) AS p95,
    quantile_disc(ok_ms, 0.99) AS p99
FROM svc
GROUP BY ALL;

-- 5. The busiest second, overall and per scenario (ties: the earliest second). Polars does it in
-- one group-by per second with a count per scenario beside the total.
WITH per_second AS (
    SELECT scenario, us - us % 1000000 AS second, count(*) AS n FROM svc GROUP BY ALL
),
overall AS (
    SELECT '' AS scenario, second, sum(n) AS n FROM per_second GROUP BY second
)
SELECT * FROM (
    SELECT DISTINCT ON (scenario) scenario, second, n FROM per_second ORDER BY scenario, n DESC, second
)
UNION ALL
SELECT * FROM (SELECT scenario, second, n FROM overall ORDER BY n DESC, second LIMIT 1);

-- 6. Per minute around each degradation window (30 minutes either side).
SELECT
    s.us - s.us % 60000000 AS minute,
    count(*) AS requests,
    count(*) FILTER (WHERE s.api_status = 429) AS rate_limited,
    count(*) FILTER (WHERE s.api_status NOT IN (200, 429)) AS errors,
    count(s.ok_ms) AS decisions,
    quantile_disc(s.ok_ms, 0.50) AS p50,
    quantile_disc(s.ok_ms, 0.95) AS p95,
    quantile_disc(s.ok_ms, 0.99) AS p99
FROM svc s
JOIN svc_windows w ON s.us >= w.a - 1800000000 AND s.us < w.b + 1800000000
GROUP BY ALL;

-- 7. Attempts per second by answer from 60 s before each flash sale opens to its end.
SELECT
    s.us - s.us % 1000000 AS second,
    CASE WHEN s.api_status = 200 THEN 0 WHEN s.api_status = 429 THEN 1 ELSE 2 END AS answer,
    count(*) AS n
FROM svc s
JOIN read_parquet('DATA/labels.parquet') l ON l.kind = 'flash_sale'
    AND s.us >= epoch_us(l.start) - 60000000 AND s.us < epoch_us(l."end")
GROUP BY ALL;
