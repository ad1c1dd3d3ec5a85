-- The pricing page's query (src/analyze/pricing.rs), as DuckDB SQL: per (customer, tier), calls,
-- cost, billable tokens (successful calls), tier price, archetype, organization and the first and
-- last day. The margins and tiers on top are Rust.
CREATE OR REPLACE TEMP VIEW calls AS SELECT * FROM read_parquet('DATA/calls/**/*.parquet', hive_partitioning = false);
CREATE OR REPLACE TEMP MACRO micros(c) AS CAST(floor(c * 1e6 + 0.5) AS BIGINT);
SELECT customer_id, subscription_tier, count(*), sum(micros(cost_usd)),
       sum(input_tokens + output_tokens) FILTER (WHERE status = 'success'), max(tier_price_usd),
       min(customer_archetype), min(organization_id), min(CAST(timestamp AS DATE)),
       max(CAST(timestamp AS DATE))
FROM calls GROUP BY ALL;
