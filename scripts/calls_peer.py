#!/usr/bin/env python3
"""The SQL peer of `trafficsim analyze` on calls data: DuckDB running the same aggregations.

Each of the nine core pages' queries is in scripts/calls_peer/<page>.sql (the Polars queries of
src/analyze/<page>.rs, written as SQL), and the overview's invariant pass, as far as SQL states
it, in invariants.sql; this runs every statement of every file in one DuckDB connection, fetching
every result (as the analyzers collect theirs), and prints the wall time, with and without the
invariants (`core`). The statistics computed in
Rust on top of the aggregates (forecasts, baselines, scenarios, rankings) are milliseconds and
are not repeated here.

    python3 scripts/calls_peer.py DATA_DIR [--threads N] [--json]

DATA_DIR is a calls data directory (calls/, a Parquet dataset). Needs the duckdb package
(scripts/bench.sh installs it in a venv).
"""

import argparse
import json
import pathlib
import sys
import time

import duckdb

PAGES = [
    "overview",
    "understanding",
    "performance",
    "decisions",
    "rate_optimization",
    "organization",
    "profitability",
    "pricing",
    "features",
]


def statements(sql: str):
    """The statements of a file: comment lines dropped first (they may hold a `;`)."""
    code = "\n".join(l for l in sql.splitlines() if not l.strip().startswith("--"))
    for part in code.split(";"):
        if part.strip():
            yield part.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=pathlib.Path)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    ap.add_argument("--json", action="store_true", help="print the timings as JSON")
    ap.add_argument("--only", help="run only these pages, comma-separated")
    ap.add_argument("--no-invariants", action="store_true", help="skip invariants.sql")
    args = ap.parse_args()
    if not (args.data / "calls").is_dir():
        print(f"{args.data}: no calls/ dataset (give a calls data directory written as Parquet)", file=sys.stderr)
        return 2
    pages = args.only.split(",") if args.only else PAGES + ["invariants"]
    if args.no_invariants and "invariants" in pages:
        pages.remove("invariants")
    unknown = [p for p in pages if p not in PAGES + ["invariants"]]
    if unknown:
        allowed = ", ".join(PAGES + ["invariants"])
        print(f"--only: unknown page(s) {', '.join(unknown)}: allowed are {allowed}", file=sys.stderr)
        return 2
    here = pathlib.Path(__file__).parent / "calls_peer"
    con = duckdb.connect()
    # Days and hours in UTC, as trafficsim counts them.
    con.execute("SET TimeZone = 'UTC'")
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    data = str(args.data.resolve()).replace("'", "''")
    timings = {}
    start = time.perf_counter()
    for page in pages:
        t = time.perf_counter()
        for stmt in statements((here / f"{page}.sql").read_text().replace("DATA", data)):
            con.execute(stmt).fetchall()
        timings[page] = time.perf_counter() - t
    total = time.perf_counter() - start
    core = total - timings.get("invariants", 0.0)
    if args.json:
        print(json.dumps({"total_s": total, "core_s": core, "pages": timings}))
    else:
        for page, s in timings.items():
            print(f"{page:18} {s:7.3f} s")
        print(f"{'total':18} {total:7.3f} s")
        print(f"{'core (no invariants)':18} {core:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
