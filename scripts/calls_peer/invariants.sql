-- The overview's invariant pass (src/validate/calls.rs, `[overview] check_invariants`, on by
-- default) as far as SQL states it, as DuckDB SQL. scripts/calls_peer.py runs it after the nine
-- pages' files and reports the time without it too (`core_s`).
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
-- unique_call_id: distinct ids against rows. no_nulls: nulls and empty strings
-- in every column. ranges: the
-- extremes of tokens and latency, and rows whose total is not input + output. known values:
-- the distinct statuses, environments, tiers with their prices, archetypes, (provider, model)
-- pairs, and the cached-token rule (checked against the catalogue in Python, microseconds).
-- one_per_customer: customers with more than one tier, archetype, org, product or time zone.
-- Not replayed: cost_usd recomputed from the price table (a join on a per-model price table).
SELECT count(*), count(DISTINCT call_id) FROM calls;
SELECT count(*) FILTER (WHERE call_id IS NULL OR call_id = ''),
       count(*) FILTER (WHERE customer_id IS NULL OR customer_id = ''),
       count(*) FILTER (WHERE provider IS NULL OR provider = ''),
       count(*) FILTER (WHERE model IS NULL OR model = ''),
       count(*) FILTER (WHERE status IS NULL OR status = ''),
       count(*) FILTER (WHERE environment IS NULL OR environment = ''),
       count(*) FILTER (WHERE request_id IS NULL OR request_id = ''),
       count(*) FILTER (WHERE trace_id IS NULL OR trace_id = ''),
       count(*) FILTER (WHERE session_id IS NULL OR session_id = ''),
       count(*) FILTER (WHERE user_agent IS NULL OR user_agent = ''),
       count(*) FILTER (WHERE region IS NULL OR region = ''),
       count(*) FILTER (WHERE subscription_tier IS NULL OR subscription_tier = ''),
       count(*) FILTER (WHERE organization_id IS NULL OR organization_id = ''),
       count(*) FILTER (WHERE product_id IS NULL OR product_id = ''),
       count(*) FILTER (WHERE feature_id IS NULL OR feature_id = ''),
       count(*) FILTER (WHERE task_type IS NULL OR task_type = ''),
       count(*) FILTER (WHERE customer_archetype IS NULL OR customer_archetype = ''),
       count(*) FILTER (WHERE scenario IS NULL OR scenario = ''),
       count(*) FILTER (WHERE timezone IS NULL OR timezone = ''),
       count(*) - count(tier_price_usd), count(*) - count(cached_input_tokens),
       count(*) - count(input_tokens), count(*) - count(output_tokens), count(*) - count(cost_usd),
       count(*) - count(latency_ms), count(*) - count(timestamp), count(*) - count(total_tokens),
       min(input_tokens), max(input_tokens), min(output_tokens) FILTER (WHERE status = 'success'),
       max(output_tokens) FILTER (WHERE status = 'success'),
       count(*) FILTER (WHERE status <> 'success' AND (output_tokens <> 0 OR cost_usd <> 0)),
       count(*) FILTER (WHERE total_tokens <> input_tokens + output_tokens),
       count(*) FILTER (WHERE cached_input_tokens < 0 OR cached_input_tokens > input_tokens
                        OR (cached_input_tokens > 0 AND status <> 'success')),
       min(latency_ms), max(latency_ms)
FROM calls;
SELECT status, environment, subscription_tier, tier_price_usd, customer_archetype, provider, model,
       max(cached_input_tokens) AS most_cached
FROM calls GROUP BY ALL;
SELECT customer_id
FROM calls
GROUP BY customer_id
HAVING count(DISTINCT subscription_tier) > 1 OR count(DISTINCT customer_archetype) > 1
    OR count(DISTINCT organization_id) > 1 OR count(DISTINCT product_id) > 1
    OR count(DISTINCT timezone) > 1;
