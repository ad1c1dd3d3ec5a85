#!/usr/bin/env bash
# Replay against serve-mock on loopback (both on this machine's cores), with oha as the peer at
# the same rate and the same body. Prints Markdown tables; BENCHMARKS.md records them.
#
#     bash scripts/bench_replay.sh [throughput] [max] [phases]   # default: all three
#
# - throughput: `replay --rate 10000` for 30 s, then oha at the same rate (`-q`, with
#   --latency-correction so both time from the schedule), the same connections and body.
# - max: rates from 10,000 up, 15 s each, until the achieved rate falls 1% short.
# - phases: the flash sale (--scenario flash_sale at its natural scale, 3M rows) at --speed 1,
#   900 s; each phase's achieved rate measured from results.parquet against the data's.
# oha: `cargo install oha --locked` (or OHA=/path/to/oha); without it the oha rows are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
parts="${*:-throughput max phases}"
want() { [[ " $parts " == *" $1 "* ]]; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/trafficsim"
[ -x "$bin" ] || bin="target/release/trafficsim"
oha="${OHA:-$(command -v oha || true)}"
work="$(mktemp -d)"
data=output/bench/flash/data
port="${BENCH_PORT:-18181}"
url="http://127.0.0.1:$port/predict"
concurrency=512
[ -d "$data/transactions" ] || "$bin" generate --quiet --config config/ticketing.toml --scenario flash_sale \
    --out output/bench/flash --format parquet >/dev/null

"$bin" serve-mock --listen "127.0.0.1:$port" >"$work/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; rm -rf "$work"' EXIT
until grep -q listening "$work/mock.log"; do
    kill -0 $mock 2>/dev/null || { cat "$work/mock.log" >&2; exit 1; }
    sleep 0.1
done
# CPU seconds (user + system) the mock has used so far.
mock_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$mock/stat"; }

echo "## replay bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "- commit: $(git rev-parse --short HEAD); $("$bin" --version); $( [ -n "$oha" ] && "$oha" --version || echo "oha not installed")"
echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared by the client and serve-mock"
echo "- $concurrency connections at most; latency from the scheduled time (ms)"
echo

# One replay; prints a table row. Args: name, replay flags...
replay_row() {
    local name="$1"; shift
    local before; before="$(mock_cpu)"
    /usr/bin/time -f "%U %S" -o "$work/time" "$bin" replay --input "$data" --target "$url" --concurrency "$concurrency" \
        --out "$work/replay" --no-report "$@" >/dev/null 2>&1 || true
    python3 - "$work/replay/replay.json" "$name" "$(awk '{print $1 + $2}' "$work/time")" \
        "$(awk -v a="$before" -v b="$(mock_cpu)" 'BEGIN {print b - a}')" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); l = s["latency_ms"]
print(f"| {sys.argv[2]} | {s['target_rps']:,.0f} | {s['achieved_rps']:,.0f} | {s['achieved_rps'] / s['target_rps']:.4f} | "
      f"{l['p50']:.2f} | {l['p90']:.2f} | {l['p99']:.2f} | {l['p999']:.2f} | {l['max']:.2f} | {s['late']:,} | "
      f"{s['failed']:,} | {float(sys.argv[3]):.1f} | {float(sys.argv[4]):.1f} |")
PY
}
header() {
    echo "| case | target req/s | achieved req/s | ratio | p50 | p90 | p99 | p99.9 | max | late > 1 ms | failed | client CPU s | mock CPU s |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}

if want throughput; then
    header
    replay_row "replay, 30 s" --rate 10000 --duration 30s
    if [ -n "$oha" ]; then
        # A body of the shape and size replay sends (one transaction).
        cat >"$work/body.json" <<'JSON'
{"transaction_id":"txn_6b0c1f3e9a2d4c57","timestamp":"2025-11-13T09:00:00.412Z","event_id":"evt_2c7d1e","user_id":"usr_a41f09c2b7e3","session_id":"ses_9f2e61d04c3b7a18","tier":"Standard","num_tickets":2,"price_per_ticket":425.0,"price_multiplier":1.0,"total_amount":850.0,"currency":"SAR","payment_method":"card","payment_instrument_id":"pi_5e1a9c7d2b40f386","device_type":"mobile","browser":"Safari","user_agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1","ip_address":"185.84.109.17","ip_country":"SA","velocity_1h":1,"device_mismatch":false,"geo_mismatch":false,"time_anomaly":false,"risk_score":0.08,"ab_variant":null}
JSON
        before="$(mock_cpu)"
        /usr/bin/time -f "%U %S" -o "$work/time" "$oha" -z 30s -q 10000 -c "$concurrency" --latency-correction --no-tui \
            --output-format json -m POST -T application/json -D "$work/body.json" "$url" >"$work/oha.json" 2>/dev/null || true
        python3 - "$work/oha.json" "$(awk '{print $1 + $2}' "$work/time")" \
            "$(awk -v a="$before" -v b="$(mock_cpu)" 'BEGIN {print b - a}')" <<'PY'
import json, sys
o = json.load(open(sys.argv[1])); p = o["latencyPercentiles"]; s = o["summary"]
ms = lambda v: (v or 0) * 1e3
codes = o.get("statusCodeDistribution", {}); failed = sum(v for k, v in codes.items() if not k.startswith("2"))
failed += sum(o.get("errorDistribution", {}).values())
print(f"| oha, 30 s, --latency-correction | 10,000 | {s['requestsPerSec']:,.0f} | {s['requestsPerSec'] / 10000:.4f} | "
      f"{ms(p['p50']):.2f} | {ms(p['p90']):.2f} | {ms(p['p99']):.2f} | {ms(p['p99.9']):.2f} | {ms(s['slowest']):.2f} | – | {failed:,} | "
      f"{float(sys.argv[2]):.1f} | {float(sys.argv[3]):.1f} |")
PY
    fi
    echo
fi

if want max; then
    header
    for rate in 10000 15000 20000 25000 30000 40000; do
        row="$(replay_row "replay, 15 s" --rate "$rate" --duration 15s)"
        echo "$row"
        ratio="$(echo "$row" | awk -F'|' '{gsub(/ /, "", $5); print $5}')"
        awk -v r="$ratio" 'BEGIN {exit !(r < 0.99)}' && break
    done
    echo
fi

if want phases; then
    header
    # Kept in output/bench/ for a second look (a 15-minute run).
    keep=output/bench/replay-flash
    replay_row "flash sale at --speed 1" --speed 1 --duration 16m --timeout 5s
    rm -rf "$keep" && cp -r "$work/replay" "$keep"
    py=python3
    python3 -c "import duckdb" 2>/dev/null || { venv=output/bench/venv; [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/python" -c "import duckdb" 2>/dev/null || "$venv/bin/pip" install --quiet duckdb; py="$venv/bin/python"; }
    echo
    "$py" - "$keep/results.parquet" "$data/labels.parquet" <<'PY'
import duckdb, sys
results, labels = sys.argv[1], sys.argv[2]
con = duckdb.connect()
one = lambda sql: con.execute(sql).fetchone()[0]
# The sale opens at its label's start; phases 120 s at 500/s, 300 s at 10,000/s, 480 s at 2,000/s,
# each a wave whose plateau runs from 20% to 70% of the phase.
start = one(f"select epoch_ms(min(start)) from '{labels}' where kind = 'flash_sale'")
# Replay time of the sale's start: the first request's row is the sale's first row.
phases = [("pre-sale", 0, 120, 500), ("sale opens", 120, 420, 10000), ("post-peak", 420, 900, 2000)]
print("| phase | data req/s (mean) | replayed req/s (mean) | ratio | plateau target | replayed plateau req/s | ratio |")
print("|---|---|---|---|---|---|---|")
t0 = one(f"select epoch_ms(min(scheduled_at)) - (epoch_ms(min(row_timestamp)) - {start}) from '{results}'")
for name, a, b, target in phases:
    n_data = one(f"select count(*) from '{results}' where epoch_ms(row_timestamp) >= {start + a * 1000} and epoch_ms(row_timestamp) < {start + b * 1000}")
    n_sent = one(f"select count(*) from '{results}' where sent_at is not null and epoch_ms(sent_at) >= {t0 + a * 1000} and epoch_ms(sent_at) < {t0 + b * 1000}")
    pa, pb = a + 0.2 * (b - a), a + 0.7 * (b - a)
    n_plateau = one(f"select count(*) from '{results}' where sent_at is not null and epoch_ms(sent_at) >= {t0 + pa * 1000} and epoch_ms(sent_at) < {t0 + pb * 1000}")
    d, r, p = n_data / (b - a), n_sent / (b - a), n_plateau / (pb - pa)
    print(f"| {name} ({b - a} s) | {d:,.0f} | {r:,.0f} | {(r / d if d else 0):.4f} | {target:,} | {p:,.0f} | {p / target:.4f} |")
PY
fi
