#!/usr/bin/env bash
# Benchmarks the generator (wall time, rows/s, MB/s, peak memory) and the analysis (analyze and
# run over the default dataset and larger Parquet ones), whole processes, with the machine facts. Prints a Markdown table and saves JSON under output/bench/ to compare commits.
#
#     bash scripts/bench.sh [generate|analyze|peer|gen-peer|replay]...   # default: generate analyze peer gen-peer
#
# BENCH_RUNS (default 3) sets the runs per figure; BENCH_BIN names a trafficsim binary to use
# instead of building one.
#
# `replay` (about 20 minutes: a 15-minute flash sale at its own pace) is scripts/bench_replay.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
parts="${*:-generate analyze peer gen-peer}"
want() { [[ " $parts " == *" $1 "* ]]; }
if [ "$parts" = replay ]; then exec bash scripts/bench_replay.sh; fi
if [ -n "${BENCH_BIN:-}" ]; then
    bin="$BENCH_BIN"
else
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/trafficsim"
    [ -x "$bin" ] || bin="target/release/trafficsim"
fi
gnu_time=/usr/bin/time
[ -x "$gnu_time" ] || { echo "bench needs GNU time at /usr/bin/time (Debian package: time)" >&2; exit 1; }
runs="${BENCH_RUNS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain 2>/dev/null | grep -q . && echo "+dirty" || true)"
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "## trafficsim bench — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
echo "- commit: ${commit}${dirty}; $("$bin" --version); $(rustc --version)"
echo "- machine: $(nproc) CPUs ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
echo "- each figure: the median wall time of $runs whole-process runs; peak RSS of that run"
echo
json="["
if want generate; then
echo "| case | threads | rows | output | wall s | rows/s | MB/s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"

bench() { # name threads output-kind flags...
    local name="$1" threads="$2" kind="$3"; shift 3
    local results=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/out"
        "$gnu_time" -f "%e %M" -o "$work/time" "$bin" generate --quiet --threads "$threads" --out "$work/out" "$@" >/dev/null
        results+=("$(cat "$work/time")")
    done
    local median
    median="$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
    local wall="${median% *}" rss_kb="${median#* }"
    local rows bytes
    rows="$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$work/out/run_summary.json")"
    bytes="$(sed -n "s/^  \"${kind}_bytes\": \([0-9]*\),/\1/p" "$work/out/run_summary.json")"
    local rps mbps rss
    rps="$(awk -v r="$rows" -v w="$wall" 'BEGIN {printf "%.0f", r / (w > 0 ? w : 0.001)}')"
    mbps="$(awk -v b="$bytes" -v w="$wall" 'BEGIN {printf "%.0f", b / 1e6 / (w > 0 ? w : 0.001)}')"
    rss="$(awk -v k="$rss_kb" 'BEGIN {printf "%.0f", k / 1024}')"
    echo "| $name | $threads | $rows | $kind $(awk -v b="$bytes" 'BEGIN {printf "%.1f MB", b / 1e6}') | $wall | $rps | $mbps | $rss |"
    json+="{\"case\":\"$name\",\"threads\":$threads,\"rows\":$rows,\"${kind}_bytes\":$bytes,\"wall_s\":$wall,\"peak_rss_kib\":$rss_kb},"
}

bench "default 50 MiB CSV" 2 csv --format csv
bench "default 50 MiB CSV" 1 csv --format csv
bench "default run (CSV + Parquet)" 2 csv
bench "1M rows Parquet" 2 parquet --rows 1000000 --format parquet
bench "10M rows Parquet" 2 parquet --rows 10000000 --format parquet
bench "10M rows Parquet" 1 parquet --rows 10000000 --format parquet

# The ticketing workload (config/ticketing.toml): the default 50 MiB rotation, 1M and 10M rows,
# and the flash sale alone at the document's scale (3.0M attempts).
tk=(--config config/ticketing.toml)
bench "ticketing default (CSV + Parquet)" 2 csv "${tk[@]}"
bench "ticketing 1M rows Parquet" 2 parquet "${tk[@]}" --rows 1000000 --format parquet
bench "ticketing 10M rows Parquet" 2 parquet "${tk[@]}" --rows 10000000 --format parquet
bench "ticketing flash sale (natural)" 2 parquet "${tk[@]}" --scenario flash_sale --format parquet
fi

# Analysis: `trafficsim analyze` (every analyzer and the report) over a generated dataset, and
# `trafficsim run` (generate + analyze) end to end.
if want analyze; then
echo
echo "| analysis case | rows | input | wall s | peak RSS MiB |"
echo "|---|---|---|---|---|"
bench_analyze() { # name command dataset-flags...
    local name="$1" cmd="$2"; shift 2
    rm -rf "$work/data"
    "$bin" generate --quiet --out "$work/data" "$@" >/dev/null
    local results=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/data/reports"
        if [ "$cmd" = run ]; then
            "$gnu_time" -f "%e %M" -o "$work/time" "$bin" run --quiet --out "$work/data" "$@" >/dev/null
        else
            "$gnu_time" -f "%e %M" -o "$work/time" "$bin" analyze --input "$work/data/data" --out "$work/data/reports" >/dev/null
        fi
        results+=("$(cat "$work/time")")
    done
    local median
    median="$(printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
    local wall="${median% *}" rss_kb="${median#* }"
    local rows input
    rows="$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$work/data/run_summary.json")"
    input="$(sed -n 's/^  "bytes": \([0-9]*\),/\1/p' "$work/data/reports/manifest.json")"
    echo "| $name | $rows | $(awk -v b="$input" 'BEGIN {printf "%.1f MB", b / 1e6}') | $wall | $(awk -v k="$rss_kb" 'BEGIN {printf "%.0f", k / 1024}') |"
    json+="{\"case\":\"$name\",\"rows\":$rows,\"wall_s\":$wall,\"peak_rss_kib\":$rss_kb},"
}
bench_analyze "analyze, default 50 MiB (Parquet)" analyze
bench_analyze "run (generate + analyze), default" run
bench_analyze "analyze, 1M rows Parquet" analyze --rows 1000000 --format parquet
bench_analyze "analyze, 10M rows Parquet" analyze --rows 10000000 --format parquet
fi

# The ticketing and calls analyses against their SQL peers: DuckDB running the same aggregations
# (scripts/ticketing_peer.py, scripts/ticketing_peer/*.sql) over the same files, in one paired run:
# trafficsim and DuckDB alternate, each run as a whole process, and the ratio is of the medians.
peer_python() {
    if python3 -c "import duckdb" 2>/dev/null; then echo python3; return; fi
    local venv=output/bench/venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
    "$venv/bin/python" -c "import duckdb" 2>/dev/null || "$venv/bin/pip" install --quiet duckdb >&2
    echo "$venv/bin/python"
}
if want peer; then
py="$(peer_python)"
echo
echo "DuckDB $("$py" -c 'import duckdb; print(duckdb.__version__)') as the SQL peer."
echo
echo "| ticketing analysis | rows | trafficsim s | peak RSS MiB | DuckDB SQL s | peak RSS MiB | ratio |"
echo "|---|---|---|---|---|---|---|"
bench_peer() { # name generate-flags...
    local name="$1"; shift
    rm -rf "$work/tk"
    "$bin" generate --quiet --config config/ticketing.toml --out "$work/tk" --format parquet "$@" >/dev/null
    local ours=() peer=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/tk/reports"
        "$gnu_time" -f "%e %M" -o "$work/time" "$bin" analyze --input "$work/tk/data" --out "$work/tk/reports" >/dev/null
        ours+=("$(cat "$work/time")")
        "$gnu_time" -f "%e %M" -o "$work/time" "$py" scripts/ticketing_peer.py "$work/tk/data" >/dev/null
        peer+=("$(cat "$work/time")")
    done
    local mid=$(( (runs + 1) / 2 ))
    local a b
    a="$(printf '%s\n' "${ours[@]}" | sort -n | sed -n "${mid}p")"
    b="$(printf '%s\n' "${peer[@]}" | sort -n | sed -n "${mid}p")"
    local rows
    rows="$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$work/tk/run_summary.json")"
    local mib='{printf "%.0f", $1 / 1024}'
    echo "| $name | $rows | ${a% *} | $(echo "${a#* }" | awk "$mib") | ${b% *} | $(echo "${b#* }" | awk "$mib") | $(awk -v x="${a% *}" -v y="${b% *}" 'BEGIN {printf "%.2f", x / y}') |"
    json+="{\"case\":\"ticketing analysis $name\",\"rows\":$rows,\"wall_s\":${a% *},\"peak_rss_kib\":${a#* },\"peer_wall_s\":${b% *},\"peer_peak_rss_kib\":${b#* }},"
}
bench_peer "default (50 MiB)"
bench_peer "10M rows" --rows 10000000

# The calls analysis against its SQL peer (scripts/calls_peer.py, scripts/calls_peer/*.sql): the
# nine core pages' aggregations and the overview's invariants as far as SQL states them, paired
# the same way. `core s` is the peer's time without its invariant statements (from its own
# timing of the same run), the figure the issue compares against.
echo
echo "| calls analysis | rows | trafficsim s | peak RSS MiB | DuckDB SQL s | peak RSS MiB | ratio | DuckDB core s | ratio to core |"
echo "|---|---|---|---|---|---|---|---|---|"
bench_calls_peer() { # name generate-flags...
    local name="$1"; shift
    rm -rf "$work/calls"
    "$bin" generate --quiet --out "$work/calls" --format parquet "$@" >/dev/null
    local ours=() peer=() core=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/calls/reports"
        "$gnu_time" -f "%e %M" -o "$work/time" "$bin" analyze --input "$work/calls/data" --out "$work/calls/reports" >/dev/null
        ours+=("$(cat "$work/time")")
        "$gnu_time" -f "%e %M" -o "$work/time" "$py" scripts/calls_peer.py "$work/calls/data" --json >"$work/peer.json"
        peer+=("$(cat "$work/time")")
        core+=("$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["core_s"])' "$work/peer.json")")
    done
    local mid=$(( (runs + 1) / 2 ))
    local a b c
    a="$(printf '%s\n' "${ours[@]}" | sort -n | sed -n "${mid}p")"
    b="$(printf '%s\n' "${peer[@]}" | sort -n | sed -n "${mid}p")"
    c="$(printf '%s\n' "${core[@]}" | sort -n | sed -n "${mid}p")"
    local rows
    rows="$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$work/calls/run_summary.json")"
    local mib='{printf "%.0f", $1 / 1024}'
    echo "| $name | $rows | ${a% *} | $(echo "${a#* }" | awk "$mib") | ${b% *} | $(echo "${b#* }" | awk "$mib") | $(awk -v x="${a% *}" -v y="${b% *}" 'BEGIN {printf "%.2f", x / y}') | $(awk -v c="$c" 'BEGIN {printf "%.2f", c}') | $(awk -v x="${a% *}" -v y="$c" 'BEGIN {printf "%.2f", x / y}') |"
    json+="{\"case\":\"calls analysis $name\",\"rows\":$rows,\"wall_s\":${a% *},\"peak_rss_kib\":${a#* },\"peer_wall_s\":${b% *},\"peer_peak_rss_kib\":${b#* },\"peer_core_s\":$c},"
}
bench_calls_peer "default (50 MiB)"
bench_calls_peer "10M rows" --rows 10000000
fi

# Generation against its peer (issue 14): scripts/calls_gen_peer.py, numpy + pyarrow writing the
# same 27 calls columns, ids, CSV and Parquet settings from the same base traffic model. One
# paired run: trafficsim and the peer alternate, each run a whole process; the figures are the
# medians of BENCH_RUNS runs (wall, CPU = user + system, peak RSS), the ratio trafficsim / peer.
gen_peer_python() {
    local venv=output/bench/gen-peer-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
    "$venv/bin/python" -c "import numpy, pyarrow" 2>/dev/null ||
        "$venv/bin/pip" install --quiet "numpy==2.4.6" "pyarrow==26.0.1" >&2
    echo "$venv/bin/python"
}
if want gen-peer; then
gpy="$(gen_peer_python)"
echo
echo "numpy $("$gpy" -c 'import numpy; print(numpy.__version__)') + pyarrow $("$gpy" -c 'import pyarrow; print(pyarrow.__version__)') as the generation peer (scripts/calls_gen_peer.py); both use every core ($(nproc))."
echo
echo "| workload | trafficsim wall s | CPU s | peak RSS MiB | peer wall s | CPU s | peak RSS MiB | ratio wall | ratio CPU |"
echo "|---|---|---|---|---|---|---|---|---|"
median_of() { # awk-expression "wall user sys rss"...
    local expr="$1"; shift
    printf '%s\n' "$@" | awk "{print $expr}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
bench_gen_peer() { # name "trafficsim generate flags" "peer flags"
    local name="$1" ours_flags="$2" peer_flags="$3"
    local ours=() peer=()
    for _ in $(seq "$runs"); do
        rm -rf "$work/gp"
        # shellcheck disable=SC2086
        "$gnu_time" -f "%e %U %S %M" -o "$work/time" "$bin" generate --quiet --out "$work/gp" $ours_flags >/dev/null
        ours+=("$(cat "$work/time")")
        rm -rf "$work/gp"
        # shellcheck disable=SC2086
        "$gnu_time" -f "%e %U %S %M" -o "$work/time" "$gpy" scripts/calls_gen_peer.py --out "$work/gp" $peer_flags >/dev/null
        peer+=("$(cat "$work/time")")
    done
    rm -rf "$work/gp"
    # Medians of wall, CPU (user + system) and peak RSS, each over the runs.
    local a_wall a_cpu a_rss b_wall b_cpu b_rss
    a_wall="$(median_of '$1' "${ours[@]}")" a_cpu="$(median_of '$2 + $3' "${ours[@]}")" a_rss="$(median_of '$4' "${ours[@]}")"
    b_wall="$(median_of '$1' "${peer[@]}")" b_cpu="$(median_of '$2 + $3' "${peer[@]}")" b_rss="$(median_of '$4' "${peer[@]}")"
    local mib='{printf "%.0f", $1 / 1024}' ratio='BEGIN {printf "%.2f", x / y}'
    echo "| $name | $a_wall | $a_cpu | $(echo "$a_rss" | awk "$mib") | $b_wall | $b_cpu | $(echo "$b_rss" | awk "$mib") | $(awk -v x="$a_wall" -v y="$b_wall" "$ratio") | $(awk -v x="$a_cpu" -v y="$b_cpu" "$ratio") |"
    json+="{\"case\":\"generation vs peer $name\",\"wall_s\":$a_wall,\"cpu_s\":$a_cpu,\"peak_rss_kib\":$a_rss,\"peer_wall_s\":$b_wall,\"peer_cpu_s\":$b_cpu,\"peer_peak_rss_kib\":$b_rss},"
}
bench_gen_peer "50 MiB CSV" "--format csv" "--target-size 50MiB --format csv"
bench_gen_peer "1M rows to Parquet" "--rows 1000000 --format parquet" "--rows 1000000 --format parquet"
bench_gen_peer "10M rows to Parquet" "--rows 10000000 --format parquet" "--rows 10000000 --format parquet"
fi

mkdir -p output/bench
echo "${json%,}]" > "output/bench/bench-${commit}${dirty}.json"
echo
echo "saved output/bench/bench-${commit}${dirty}.json"
