#!/usr/bin/env python3
"""The SQL peer of `trafficsim analyze` on ticketing data: DuckDB running the same aggregations.

Each page's queries are in scripts/ticketing_peer/<page>.sql (the Polars queries of
src/analyze/ticketing/<page>, written as SQL); this runs every statement of every file in one
DuckDB connection, fetching every result (as the analyzers collect theirs), and prints the wall
time. The statistics computed in Rust on top of the aggregates (intervals, tests, curves) are
microseconds and are not repeated here.

    python3 scripts/ticketing_peer.py DATA_DIR [--threads N] [--json]

DATA_DIR is a ticketing data directory (transactions/, events.parquet, users.parquet,
labels.parquet). Needs the duckdb package (scripts/bench.sh installs it in a venv).
"""

import argparse
import json
import pathlib
import sys
import time

import duckdb


def statements(sql: str):
    """The statements of a file, without comment-only fragments."""
    for part in sql.split(";"):
        code = "\n".join(l for l in part.splitlines() if not l.strip().startswith("--")).strip()
        if code:
            yield code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=pathlib.Path)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    ap.add_argument("--json", action="store_true", help="print the timings as JSON")
    args = ap.parse_args()
    if not (args.data / "transactions").is_dir():
        print(f"{args.data}: no transactions/ dataset (give a ticketing data directory)", file=sys.stderr)
        return 2
    files = sorted((pathlib.Path(__file__).parent / "ticketing_peer").glob("*.sql"))
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    data = str(args.data.resolve()).replace("'", "''")
    timings = {}
    start = time.perf_counter()
    for f in files:
        t = time.perf_counter()
        for stmt in statements(f.read_text().replace("DATA", data)):
            con.execute(stmt).fetchall()
        timings[f.stem] = time.perf_counter() - t
    total = time.perf_counter() - start
    if args.json:
        print(json.dumps({"total_s": total, "pages": timings}))
    else:
        for page, s in timings.items():
            print(f"{page:12} {s:7.3f} s")
        print(f"{'total':12} {total:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
