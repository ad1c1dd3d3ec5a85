#!/usr/bin/env python3
"""A numpy + pyarrow peer of `trafficsim generate` for the calls workload (issue 14).

It writes trafficsim's own 27 calls columns (names, Arrow types and order of src/batch/calls.rs),
its id formats, its CSV (arrow's CSV writer, the same header, RFC 3339 millisecond timestamps,
no quoting) and its Parquet dataset (zstd level 1, row groups of at most 32,768 rows, dictionary
encoding off for the timestamp and the unique ids, statistics off for text, page index on, Hive
day partitions data/calls/date=YYYY-MM-DD/part-NNNNN.parquet), from the same base traffic model
read from the same files (config/default.toml and the traffic and catalogue files it names):
customers with an archetype, tier, organization, product, time zone, SDK and adopted features;
Poisson calls per customer and UTC hour from the customer's weekday rate x the local hour's
share (business hours) x the weekend factor x log-normal day-to-day noise; model choice by
market weight; triangular input tokens per task, output = input x U(ratio); status, environment;
latency per token x model multiplier x jitter; cost from the catalogue prices, rounded to 6
places. The cohorts of the run plan only name the customers (cust-KK-IIIII, the scenario column):
every cohort follows the base traffic, no scenario modifiers. Like trafficsim's planner, each
cohort takes customers until it holds its share of the rows, then its surplus calls are thinned
evenly (Bresenham over its calls in (hour, customer) order), so a run has exactly the rows asked.

Everything per row is vectorised: per UTC day, the day's calls are cut into time-ordered chunks
of at most CHUNK_ROWS rows (consecutive hours; an hour of more rows is cut after sorting it),
generated with numpy (ids and timestamps are formatted as fixed-width byte matrices turned into
Arrow string arrays without a Python string per row; low-cardinality text is built as Arrow
dictionary arrays), and encoded by a pool of threads (pyarrow releases the GIL) while the main
thread generates the next chunk. Memory is bounded by the chunks in flight, not by the rows. A
day of more than CHUNK_ROWS rows is written as several part files in its partition (part-00000,
part-00001, ...), so that its chunks encode in parallel: pyarrow cannot encode the row groups of
one file in parallel, where trafficsim writes one file per day from parallel workers.

    python scripts/calls_gen_peer.py --rows 1000000 --format parquet --out /tmp/peer
    python scripts/calls_gen_peer.py --target-size 50MiB --format csv --out /tmp/peer
"""

import argparse
import collections
import os
import re
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

CHUNK_ROWS = 65_536
ROW_GROUP_ROWS = 32_768  # trafficsim's UNIT_ROWS: one row group per work unit
GOLDEN = 0.6180339887498949
MAX_PER_HOUR = 65_535
CALL_KEY = np.uint64(0x6361_6C6C_5F69_6421)
SESSION_KEY = np.uint64(0x7365_7373_696F_6E21)
UNIQUE = ("timestamp", "call_id", "request_id", "trace_id")  # no dictionary encoding
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
# Byte b -> its two hex digits, as a little-endian uint16 (high nibble first in memory), and a
# 16-bit half-word -> its four (its bytes in memory order).
HEX2 = (HEX[np.arange(256) >> 4].astype(np.uint16) | (HEX[np.arange(256) & 15].astype(np.uint16) << 8))
HEX4 = HEX2[np.arange(65536) & 255].astype(np.uint32) | (HEX2[np.arange(65536) >> 8].astype(np.uint32) << 16)
DIGITS = np.frombuffer(b"0123456789", np.uint8)
DIG2 = np.stack([DIGITS[np.arange(100) // 10], DIGITS[np.arange(100) % 10]], axis=1)
DIG3 = np.stack([DIGITS[np.arange(1000) // 100], DIGITS[np.arange(1000) // 10 % 10], DIGITS[np.arange(1000) % 10]], axis=1)

TEXT, CATEGORY, TS = pa.string(), "category", pa.timestamp("us", tz="UTC")
COLUMNS = [  # trafficsim's, in order; CATEGORY: text of few values, built as an Arrow dictionary
    ("timestamp", TS), ("call_id", TEXT), ("provider", CATEGORY), ("model", CATEGORY),
    ("input_tokens", pa.int64()), ("output_tokens", pa.int64()), ("cost_usd", pa.float64()),
    ("latency_ms", pa.int64()), ("customer_id", CATEGORY), ("subscription_tier", CATEGORY),
    ("organization_id", CATEGORY), ("product_id", CATEGORY), ("feature_id", CATEGORY),
    ("task_type", CATEGORY), ("environment", CATEGORY), ("request_id", TEXT), ("trace_id", TEXT),
    ("session_id", TEXT), ("user_agent", CATEGORY), ("total_tokens", pa.int64()), ("status", CATEGORY),
    ("region", CATEGORY), ("tier_price_usd", pa.float64()), ("customer_archetype", CATEGORY),
    ("scenario", CATEGORY), ("timezone", CATEGORY), ("cached_input_tokens", pa.int64()),
]


def size_bytes(text):
    m = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]i?B|B)?\s*", text, re.I)
    if not m:
        sys.exit(f"bad size {text!r}")
    unit = (m.group(2) or "B").upper()
    base = 1024 if "I" in unit else 1000
    return int(float(m.group(1)) * base ** "BKMGT".index(unit[0]))


def cdf(weights):
    c = np.cumsum(np.asarray(weights, float))
    return c / c[-1]


def pick(c, u):
    """Index of the first cumulative weight above u (u in [0, 1))."""
    return np.minimum(np.searchsorted(c, u, side="right"), len(c) - 1)


def mix64(x, key):
    """A bijection of 64-bit ints (splitmix64's finalizer after xor with a key): unique ids."""
    z = x ^ key
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hex_digits(words, block=8_192):
    """uint64 words (n,) or (n, k) -> (n, 16 k) ASCII hex digits of their bytes in memory order
    (a bijection, like the value's own hex): each 16-bit half-word looked up in a table of its
    four digits, in cache-sized blocks."""
    halves = words.view(np.uint16).ravel()
    out = np.empty(len(halves), np.uint32)
    for i in range(0, len(halves), block * 4):
        np.take(HEX4, halves[i:i + block * 4], out=out[i:i + block * 4], mode="clip")  # all in range
    return out.view(np.uint8).reshape(len(words), -1)


def prefixed_hex(prefix, words):
    """(n, 21) rows `prefix` (5 bytes, e.g. call_) then the 16 hex digits of each word."""
    out = np.empty((len(words), 21), np.uint8)
    at(out, 0, 1, "<u4")[:] = np.frombuffer(prefix[:4], "<u4")[0]
    out[:, 4] = prefix[4]
    at(out, 5, 4, "<u4")[:] = hex_digits(words).view("<u4")
    return out


def at(matrix, offset, k, dtype):
    """A (rows, k) view of `dtype` into a uint8 matrix at byte `offset` of every row (unaligned)."""
    return np.ndarray((len(matrix), k), dtype, buffer=matrix, offset=offset,
                      strides=(matrix.shape[1], np.dtype(dtype).itemsize))


def pick_few_per_row(bounds, rows, u):
    """`pick_few` with bounds that differ per row: bounds[j][rows] is row's j-th bound."""
    out = (u >= bounds[0].take(rows)).view(np.int8)
    for b in bounds[1:]:
        out += u >= b.take(rows)
    return out


def pick_few(c, u):
    """`pick` for a short cumulative table: a count of the bounds at or below u."""
    out = (u >= c[0]).view(np.int8)
    for bound in c[1:-1]:
        out += u >= bound
    return out


def fixed_strings(matrix):
    """An Arrow string array over the rows of a C-contiguous (n, w) uint8 matrix, zero-copy."""
    n, w = matrix.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix))


def rng(*key):
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(list(key))))


class Model:
    """The run plan, traffic model and catalogue, as numpy tables."""

    def __init__(self, config, seed, days, start):
        plan = tomllib.loads(config.read_text())
        t = tomllib.loads((config.parent / plan["traffic"]).read_text())
        c = tomllib.loads((config.parent / plan["catalogue"]).read_text())
        run = plan["run"]
        self.seed = run["seed"] if seed is None else seed
        self.days = days or run["days"]
        self.start = date.fromisoformat(start or str(run["start_date"]))
        self.target_size = run.get("target_size", "50MiB")
        self.cohorts = [(k["name"], k["scenario"], float(k.get("share", 1))) for k in plan["cohorts"]]

        self.tiers = list(t["tiers"])
        self.tier_price = np.array([float(t["tiers"][n]) for n in self.tiers])
        self.archetypes = list(t["archetypes"])
        cells = [(a, self.tiers.index(tn), arch["weight"] * w, arch["calls_per_day"])
                 for a, arch in enumerate(t["archetypes"].values()) for tn, w in arch["tiers"].items()]
        self.cell_arch = np.array([x[0] for x in cells])
        self.cell_tier = np.array([x[1] for x in cells])
        self.cell_cdf = cdf([x[2] for x in cells])
        self.arch_calls = np.array([a["calls_per_day"] for a in t["archetypes"].values()], float)
        self.per_weekday = sum(a["weight"] * sum(a["calls_per_day"]) / 2 for a in t["archetypes"].values())

        cal = t["calendar"]
        b0, b1 = cal["business_hours"]
        h = np.arange(24)
        self.hour_share = np.where((h >= b0) & (h < b1), cal["business_share"] / (b1 - b0),
                                   (1 - cal["business_share"]) / (24 - (b1 - b0)))
        self.weekend_factor, self.noise = cal["weekend_factor"], cal["daily_noise"]

        self.tz_names = [z["name"] for z in t["timezones"]]
        self.tz_cdf = cdf([z["weight"] for z in t["timezones"]])
        geos = [z["geo"] for z in t["timezones"]]
        self.orgs = t["organizations"]["count"]
        self.products = list(t["products"])
        self.product_cdf = cdf([p["weight"] for p in t["products"].values()])
        self.features = list(t["features"])
        self.tasks = list(t["tasks"])
        f = t["features"]
        self.feat_task = np.array([self.tasks.index(f[n]["task"]) for n in self.features])
        self.feat_weight = np.array([f[n]["weight"] for n in self.features])
        self.feat_adoption = np.array([f[n]["adoption"] for n in self.features])
        self.offered = np.array([[n in p["features"] for n in self.features] for p in t["products"].values()])
        tk = t["tasks"]
        self.tri = np.array([tk[n]["input_tokens"] for n in self.tasks], float)
        self.ratio = np.array([tk[n]["output_ratio"] for n in self.tasks], float)
        self.in_lim, self.out_lim = t["token_limits"]["input"], t["token_limits"]["output"]
        self.environments = list(t["environments"])
        self.env_cdf = cdf(list(t["environments"].values()))
        self.statuses = list(t["statuses"])
        self.status_cdf = cdf(list(t["statuses"].values()))
        self.success = self.statuses.index("success")
        self.user_agents = list(t["user_agents"])
        self.ua_cdf = cdf(list(t["user_agents"].values()))
        lat = t["latency"]
        self.ms_per_token, self.jitter, self.timeout_ms = lat["ms_per_token"], lat["jitter"], lat["timeout_ms"]
        if t.get("providers", {}).get("loyalty", 0):
            sys.exit("the peer models provider loyalty 0 only")

        self.providers = list(c["providers"])
        self.provider_cdf = cdf([c["market_weights"][p] for p in self.providers])
        self.models, prov_first, prov_len = [], [], []
        for p in self.providers:
            prov_first.append(len(self.models))
            prov_len.append(len(c["providers"][p]["models"]))
            self.models += c["providers"][p]["models"]
        self.prov_first, self.prov_len = np.array(prov_first), np.array(prov_len)
        self.model_provider = np.repeat(np.arange(len(self.providers)), self.prov_len)
        self.price_in = np.array([c["prices"][m]["input"] for m in self.models]) / 1000
        self.price_out = np.array([c["prices"][m]["output"] for m in self.models]) / 1000
        mult = c.get("latency_multipliers", {})
        self.latency_mult = np.array([mult.get(m, 1.0) for m in self.models])
        region = [[c["providers"][p]["regions"][g] for g in geos] for p in self.providers]
        self.regions = sorted({r for row in region for r in row})
        self.region_of = np.array([[self.regions.index(r) for r in row] for row in region])  # [provider, tz]

        # Every UTC hour of the window in every zone: local hour, local day (from -1), weekend.
        hours = self.days * 24
        t0 = datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc)
        self.local_hour = np.zeros((len(geos), hours), np.int64)
        self.local_day = np.zeros((len(geos), hours), np.int64)
        weekend = np.zeros((len(geos), hours), bool)
        for z, name in enumerate(self.tz_names):
            tz = ZoneInfo(name)
            for hr in range(hours):
                local = (t0 + timedelta(hours=hr, minutes=30)).astimezone(tz)
                self.local_hour[z, hr] = local.hour
                self.local_day[z, hr] = (local.date() - self.start).days
                weekend[z, hr] = local.weekday() >= 5
        # Calls per weekday -> expected calls in the hour, but the customer's base rate and noise.
        self.hour_factor = self.hour_share[self.local_hour] * np.where(weekend, self.weekend_factor, 1.0)

    def expected_per_customer(self):
        return self.per_weekday * (5 + 2 * self.weekend_factor) / 7 * self.days


class Customers:
    """Candidate customers of every cohort (cohort-major), each decided from the seed alone."""

    def __init__(self, m, sizes):
        self.sizes = sizes
        parts = collections.defaultdict(list)
        for k, n in enumerate(sizes):
            r = rng(m.seed, 1, k)
            idx = np.arange(n)
            cell = pick(m.cell_cdf, (r.random() + idx * GOLDEN) % 1.0)
            arch = m.cell_arch[cell]
            lo, hi = m.arch_calls[arch, 0], m.arch_calls[arch, 1]
            product = pick(m.product_cdf, r.random(n))
            adopted = (r.random((n, len(m.features))) < m.feat_adoption) & m.offered[product]
            none = ~adopted.any(axis=1)
            if none.any():  # at least one feature: one of the product's, by weight
                w = m.offered[product[none]] * m.feat_weight
                c = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
                f = (r.random(none.sum())[:, None] >= c).sum(axis=1)
                adopted[np.flatnonzero(none), f] = True
            for name, v in dict(cohort=np.full(n, k), index=idx, arch=arch, tier=m.cell_tier[cell],
                                base=lo + (hi - lo) * r.random(n), org=r.integers(0, m.orgs, n),
                                product=product, tz=pick(m.tz_cdf, r.random(n)),
                                ua=pick(m.ua_cdf, r.random(n)), adopted=adopted).items():
                parts[name].append(v)
        for name, v in parts.items():
            setattr(self, name, np.concatenate(v))
        self.count = len(self.cohort)
        # Day-to-day noise per customer and local day (-1 .. days): a mean-one log-normal.
        z = rng(m.seed, 2).standard_normal((self.count, m.days + 2))
        self.day_noise = np.exp(m.noise * z - m.noise * m.noise / 2)

    def take(self, sel):
        out = object.__new__(Customers)
        for name in ("cohort", "index", "arch", "tier", "base", "org", "product", "tz", "ua", "adopted", "day_noise"):
            setattr(out, name, getattr(self, name)[sel])
        out.count = len(sel)
        return out

    def day_counts(self, m, day):
        """Poisson calls of every customer in each UTC hour of `day`: (24, customers)."""
        hrs = slice(day * 24, day * 24 + 24)
        ld = m.local_day[self.tz, hrs] + 1
        lam = self.base[:, None] * m.hour_factor[self.tz, hrs] * np.take_along_axis(self.day_noise, ld, axis=1)
        return np.minimum(rng(m.seed, 3, day).poisson(lam.T), MAX_PER_HOUR)


class Plan:
    """Customers per cohort and, per day, the calls kept of every customer-hour."""

    def __init__(self, m, rows):
        self.m, self.rows = m, rows
        shares = np.array([s for _, _, s in m.cohorts])
        exact = rows * shares / shares.sum()
        targets = np.floor(exact).astype(np.int64)
        targets[np.argsort(-(exact - targets), kind="stable")[: rows - targets.sum()]] += 1
        self.targets = targets
        per = m.expected_per_customer()
        sizes = [int(np.ceil(t / per * 1.15)) + 8 for t in targets]
        while True:
            pool = Customers(m, sizes)
            totals = sum(pool.day_counts(m, d).sum(axis=0, dtype=np.int64) for d in range(m.days))
            sel, short = [], False
            for k, start in enumerate(np.cumsum([0] + sizes[:-1])):
                cum = np.cumsum(totals[start:start + sizes[k]])
                n = int(np.searchsorted(cum, targets[k])) + 1
                if targets[k] == 0:
                    n = 0
                elif n > sizes[k]:
                    short = True
                sel.append(np.arange(start, start + min(n, sizes[k])))
            if not short:
                break
            sizes = [int(s * 1.5) + 8 for s in sizes]
        self.pool, self.sel = pool, np.concatenate(sel)
        self.customers = pool.take(self.sel)
        self.calls = np.bincount(self.customers.cohort, totals[self.sel], len(targets)).astype(np.int64)
        self.seen = np.zeros(len(targets), np.int64)  # each cohort's calls before the next day
        self.cohort_cols = [np.flatnonzero(self.customers.cohort == k) for k in range(len(targets))]

    def day_kept(self, day):
        """Rows of every selected customer in each UTC hour of `day`, after thinning: (24, n)."""
        counts = self.pool.day_counts(self.m, day)[:, self.sel].astype(np.int64)
        kept = np.empty_like(counts)
        for k, cols in enumerate(self.cohort_cols):
            c = counts[:, cols]
            end = self.seen[k] + np.cumsum(c.ravel())  # (hour, customer) order
            r, t = self.targets[k], max(self.calls[k], 1)
            kept_end = end * r // t
            kept[:, cols] = np.diff(kept_end, prepend=self.seen[k] * r // t).reshape(c.shape)
            self.seen[k] = end[-1] if len(end) else self.seen[k]
        return kept


class Generator:
    def __init__(self, plan):
        self.plan, m, c = plan, plan.m, plan.customers
        self.m = m
        self.row = 0
        # Features: each customer's adopted features (at most a product's) and the cumulative
        # weights between them; a row's feature is its customer's slot below its uniform draw.
        slots = int(c.adopted.sum(axis=1).max())
        order = np.argsort(~c.adopted, axis=1, kind="stable")[:, :slots]  # adopted first
        w = np.take_along_axis(c.adopted * m.feat_weight, order, axis=1)
        self.feat_slot = order.astype(np.int8)
        self.feat_bounds = [np.ascontiguousarray(b) for b in (np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)).T[:-1]]
        for b in self.feat_bounds:  # past the last adopted feature: never chosen
            b[b >= 1 - 1e-12] = 2.0
        # Per feature: its task's triangular input tokens and output ratio, as flat tables.
        a, mode, b = m.tri[m.feat_task].T
        self.tri_a, self.tri_b, self.tri_fc = a, b, (mode - a) / (b - a)
        self.tri_k1, self.tri_k2 = (b - a) * (mode - a), (b - a) * (b - mode)
        lo, hi = m.ratio[m.feat_task].T
        self.ratio_lo, self.ratio_span = lo, hi - lo
        key = (c.cohort.astype(np.uint64) << np.uint64(20)) | c.index.astype(np.uint64)
        self.session_base = key << np.uint64(16)
        self.seed = np.uint64(m.seed)
        self.cust_bits = max(int(c.count).bit_length(), 1)
        # Text of few values: Arrow dictionaries, with indices as narrow as their count allows.
        values = dict(
            provider=m.providers, model=m.models, subscription_tier=m.tiers,
            organization_id=[f"org_{i + 1:03d}" for i in range(m.orgs)], product_id=m.products,
            feature_id=m.features, task_type=m.tasks, environment=m.environments,
            user_agent=m.user_agents, status=m.statuses, region=m.regions,
            customer_archetype=m.archetypes, scenario=[s for _, s, _ in m.cohorts], timezone=m.tz_names,
            customer_id=[f"cust-{k:02d}-{i:05d}" for k, i in zip(c.cohort, c.index)],
            tier_price_usd=[repr(float(p)) for p in m.tier_price],  # CSV: 29.0, as trafficsim
        )
        self.dicts = {k: pa.array(v, TEXT) for k, v in values.items()}
        self.index = {k: np.int8 if len(v) < 128 else np.int16 if len(v) < 32768 else np.int32
                      for k, v in values.items()}
        # Each customer's attributes, as those indices.
        self.per_customer = {k: v.astype(self.index[k]) for k, v in dict(
            customer_id=np.arange(c.count), subscription_tier=c.tier, organization_id=c.org,
            product_id=c.product, user_agent=c.ua, customer_archetype=c.arch, scenario=c.cohort,
            timezone=c.tz).items()}
        self.region_flat = m.region_of.ravel()
        self.local_day_flat, self.hours = m.local_day.ravel(), m.local_day.shape[1]

        def field(name, t, csv):
            if csv and name == "timestamp":
                t = TEXT  # RFC 3339 text, as trafficsim's CSV
            elif t == CATEGORY or (csv and name == "tier_price_usd"):
                t = pa.dictionary(pa.from_numpy_dtype(self.index[name]), TEXT)
            return pa.field(name, t, nullable=False)
        self.schema = {f: pa.schema([field(n, t, f == "csv") for n, t in COLUMNS]) for f in ("csv", "parquet")}

    def category(self, name, indices):
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(self.index[name], copy=False)),
                                              self.dicts[name], safe=False)

    def chunks(self, day, kept):
        """The calls of `day` in time order, as (key, ms into the day, customer) chunks of at most
        CHUNK_ROWS rows: consecutive hours, and an hour of more rows cut after sorting it."""
        per_hour = kept.sum(axis=1)
        groups, h0, rows = [], 0, 0
        for h in range(24):
            if rows and rows + per_hour[h] > CHUNK_ROWS:
                groups.append((h0, h))
                h0, rows = h, 0
            rows += per_hour[h]
        if rows:
            groups.append((h0, 24))
        count, bits = self.plan.customers.count, self.cust_bits
        for h0, h1 in groups:
            # Each call's ms in the day and customer, packed in one int64 and sorted.
            cells = kept[h0:h1].ravel()
            cust = np.repeat(np.tile(np.arange(count, dtype=np.int64), h1 - h0), cells)
            hour = np.repeat(np.arange(h0, h1, dtype=np.int64), per_hour[h0:h1])
            ms = hour * 3_600_000 + rng(self.m.seed, 4, day, h0).integers(0, 3_600_000, len(cust))
            packed = np.sort((ms << bits) | cust)
            for i in range(0, len(packed), CHUNK_ROWS):
                p = packed[i:i + CHUNK_ROWS]
                yield (h0, i), p >> bits, p & ((1 << bits) - 1)

    def generate(self, day, key, ms, cust, formats):
        """Everything about the calls of `cust` at `ms` into `day`, as Arrow tables per format."""
        m, n = self.m, len(ms)
        r = rng(m.seed, 5, day, *key)
        hour = day * 24 + ms // 3_600_000
        u = r.random((8, n))
        tz = self.per_customer["timezone"].take(cust)
        slot = pick_few_per_row(self.feat_bounds, cust, u[0])
        feature = self.feat_slot.ravel().take(cust * self.feat_slot.shape[1] + slot)
        task = m.feat_task.take(feature)
        provider = pick_few(m.provider_cdf, u[1])
        model = m.prov_first.take(provider) + (u[2] * m.prov_len.take(provider)).astype(np.int64)
        # Input tokens ~ triangular(min, mode, max) of the task (inverse CDF), rounded, clamped.
        u3 = u[3]
        low = u3 < self.tri_fc.take(feature)
        tri = np.sqrt(np.where(low, self.tri_k1.take(feature) * u3, self.tri_k2.take(feature) * (1 - u3)))
        tri = np.where(low, self.tri_a.take(feature) + tri, self.tri_b.take(feature) - tri)
        inp = np.clip(np.floor(tri + 0.5), *m.in_lim).astype(np.int64)
        ratio = self.ratio_lo.take(feature) + self.ratio_span.take(feature) * u[4]
        out = np.clip(np.floor(inp * ratio + 0.5), *m.out_lim).astype(np.int64)
        status = pick_few(m.status_cdf, u[5])
        env = pick_few(m.env_cdf, u[6])
        per_token = (m.ms_per_token * m.latency_mult).take(model) * (m.jitter[0] + (m.jitter[1] - m.jitter[0]) * u[7])
        tokens = inp + out
        latency = tokens * per_token
        cost = np.floor((inp * m.price_in.take(model) + out * m.price_out.take(model)) * 1e6 + 0.5) / 1e6
        failed = np.flatnonzero(status != m.success)
        if len(failed):  # only successful calls produce output and are billed
            uf = r.random(len(failed))
            name = np.array(m.statuses)[status[failed]]
            out[failed], cost[failed], tokens[failed] = 0, 0.0, inp[failed]
            latency[failed] = np.where(name == "rate_limited", 20 + 130 * uf,
                                       np.where(name == "timeout", float(m.timeout_ms),
                                                inp[failed] * per_token[failed] * (0.2 + 0.8 * uf)))
        latency_ms = np.maximum(np.floor(latency + 0.5), 1).astype(np.int64)

        # Ids: call_ + 16 hex digits of a bijection of the row number; UUID v4 request ids;
        # 32-hex trace ids; sess_ + 16 hex of a bijection of (customer, local day).
        rows = np.arange(self.row, self.row + n, dtype=np.uint64)
        self.row += n
        call = prefixed_hex(b"call_", mix64(rows, CALL_KEY ^ self.seed))
        h = hex_digits(r.bit_generator.random_raw((n, 2))).view("<u4")  # request id: 8-4-4-4-12, v4
        req = np.empty((n, 36), np.uint8)
        at(req, 0, 2, "<u4")[:], at(req, 24, 3, "<u4")[:] = h[:, 0:2], h[:, 5:8]
        at(req, 9, 1, "<u4")[:], at(req, 14, 1, "<u4")[:], at(req, 19, 1, "<u4")[:] = h[:, 2:3], h[:, 3:4], h[:, 4:5]
        for col in (8, 13, 18, 23):
            req[:, col] = ord("-")
        req[:, 14] = ord("4")
        v = req[:, 19]  # the variant digit 8, 9, a or b: two bits of the random digit there
        req[:, 19] = HEX.take(8 + (((v & 15) + 9 * (v >> 6)) & 3))
        trace = hex_digits(r.bit_generator.random_raw((n, 2)))
        local_day = self.local_day_flat.take(tz.astype(np.int64) * self.hours + hour)
        skey = self.session_base[cust] | (local_day + 1).astype(np.uint64)
        sess = prefixed_hex(b"sess_", mix64(skey, SESSION_KEY ^ self.seed))

        cat, pc = self.category, self.per_customer
        cols = {
            "timestamp": pa.array((self.day_start_ms(day) + ms) * 1000, TS),
            "call_id": fixed_strings(call),
            "provider": cat("provider", provider), "model": cat("model", model),
            "input_tokens": inp, "output_tokens": out, "cost_usd": cost, "latency_ms": latency_ms,
            **{k: cat(k, pc[k].take(cust)) for k in ("customer_id", "subscription_tier", "organization_id",
                                                      "product_id", "user_agent", "customer_archetype",
                                                      "scenario")},
            "feature_id": cat("feature_id", feature), "task_type": cat("task_type", task),
            "environment": cat("environment", env),
            "request_id": fixed_strings(req), "trace_id": fixed_strings(trace), "session_id": fixed_strings(sess),
            "total_tokens": tokens, "status": cat("status", status),
            "region": cat("region", self.region_flat.take(m.model_provider.take(model) * len(m.tz_names) + tz)),
            "tier_price_usd": m.tier_price.take(pc["subscription_tier"].take(cust)),
            "timezone": cat("timezone", tz),
            "cached_input_tokens": np.zeros(n, np.int64),
        }
        batches = {}
        if "parquet" in formats:
            batches["parquet"] = pa.table([cols[name] for name, _ in COLUMNS], schema=self.schema["parquet"])
        if "csv" in formats:
            # CSV: RFC 3339 timestamps with milliseconds, prices as trafficsim writes them (29.0).
            cols["timestamp"] = self.timestamp_text(day, ms)
            cols["tier_price_usd"] = cat("tier_price_usd", pc["subscription_tier"].take(cust))
            batches["csv"] = pa.table([cols[name] for name, _ in COLUMNS], schema=self.schema["csv"])
        return batches

    def day_start_ms(self, day):
        d = self.m.start + timedelta(days=day)
        return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) * 1000

    def timestamp_text(self, day, ms):
        """YYYY-MM-DDTHH:MM:SS.mmmZ of ms into `day`, as a fixed-width string array."""
        n = len(ms)
        t = np.empty((n, 24), np.uint8)
        t[:, :11] = np.frombuffer(f"{self.m.start + timedelta(days=day)}T".encode(), np.uint8)
        sec, milli = np.divmod(ms, 1000)
        minute, s = np.divmod(sec, 60)
        hh, mm = np.divmod(minute, 60)
        t[:, 11:13], t[:, 14:16], t[:, 17:19], t[:, 20:23] = DIG2[hh], DIG2[mm], DIG2[s], DIG3[milli]
        t[:, [13, 16]] = ord(":")
        t[:, 19], t[:, 23] = ord("."), ord("Z")
        return fixed_strings(t)


PARQUET_OPTIONS = dict(
    compression="zstd", compression_level=1,
    use_dictionary=[n for n, _ in COLUMNS if n not in UNIQUE],
    # Statistics on the sorted timestamp and the numbers, not on text (as trafficsim).
    write_statistics=[n for n, t in COLUMNS if t not in (TEXT, CATEGORY)],
    # Format 1.0 and a page index, as trafficsim's writer (parquet-rs defaults). The Arrow schema is
    # not stored: it would say dictionary where trafficsim's says string; read back, both are the
    # same schema (string, timestamp[us, tz=UTC], int64, double, not null).
    version="1.0", write_page_index=True, store_schema=False,
)


def write_parquet(path, table):
    import pyarrow.parquet as pq  # only when writing Parquet
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, **PARQUET_OPTIONS) as w:
        w.write_table(table, row_group_size=ROW_GROUP_ROWS)
    return path.stat().st_size


def csv_bytes(table, header):
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=header, batch_size=8192,
                                                  quoting_style="none", quoting_header="none"))
    return sink.getvalue()


def run(m, rows, formats, out, threads):
    """Generates chunk after chunk in this thread; a pool of `threads` encodes them (CSV bytes,
    Parquet files; pyarrow releases the GIL) and one more thread appends the CSV bytes in order.
    At most `threads` chunks are in flight beyond the one being generated."""
    plan = Plan(m, rows)
    gen = Generator(plan)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    csv_file = pa.OSFile(str(data / "simulated_calls.csv"), "wb") if "csv" in formats else None
    pending = collections.deque()
    sizes = dict(csv=0, parquet=0)

    def append(encoded):
        buf = encoded.result()
        csv_file.write(buf)
        return buf.size

    def drain(limit):
        while len(pending) > limit:
            for kind, future in pending.popleft():
                sizes[kind] += future.result()

    with ThreadPoolExecutor(threads) as pool, ThreadPoolExecutor(1) as io:
        for day in range(m.days):
            kept = plan.day_kept(day)
            d = m.start + timedelta(days=day)
            for part, (key, ms, cust) in enumerate(gen.chunks(day, kept)):
                b = gen.generate(day, key, ms, cust, formats)
                futures = []
                if "csv" in b:
                    header = gen.row == b["csv"].num_rows  # the first chunk's CSV has the header
                    futures.append(("csv", io.submit(append, pool.submit(csv_bytes, b["csv"], header))))
                if "parquet" in b:
                    path = data / "calls" / f"date={d}" / f"part-{part:05d}.parquet"
                    futures.append(("parquet", pool.submit(write_parquet, path, b["parquet"])))
                pending.append(futures)
                del b
                drain(threads)
        drain(0)
    if csv_file is not None:
        csv_file.close()
    return gen.row, sizes


def rows_for_size(m, target):
    """Rows whose CSV is `target` bytes: bytes per row measured on a pilot, the first chunk of a
    run of about that size (within about 0.5%; trafficsim's is within 1%)."""
    header = len(",".join(n for n, _ in COLUMNS)) + 1
    guess = max(int((target - header) / 350), 1)
    plan = Plan(m, guess)
    gen = Generator(plan)
    kept = plan.day_kept(0)
    t = gen.generate(0, *next(gen.chunks(0, kept)), ("csv",))["csv"]
    size, n = csv_bytes(t, False).size, t.num_rows
    return max(round((target - header) / (size / max(n, 1))), 1)


def main():
    root = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=root / "config" / "default.toml")
    p.add_argument("--rows", type=int)
    p.add_argument("--target-size")
    p.add_argument("--format", default="csv,parquet")
    p.add_argument("--out", type=Path, default=Path("output-peer"))
    p.add_argument("--seed", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--start-date")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = p.parse_args()
    formats = tuple(f.strip() for f in a.format.split(","))
    if not set(formats) <= {"csv", "parquet"}:
        sys.exit("--format: csv, parquet or csv,parquet")
    pa.set_cpu_count(max(a.threads, 1))
    try:  # jemalloc returns freed chunk memory, where the default mimalloc keeps ~40 MiB more
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        pa.set_memory_pool(pa.system_memory_pool())
    m = Model(a.config, a.seed, a.days, a.start_date)
    rows = a.rows if a.rows is not None else rows_for_size(m, size_bytes(a.target_size or m.target_size))
    t0 = datetime.now()
    n, sizes = run(m, rows, formats, a.out, max(a.threads, 1))
    secs = (datetime.now() - t0).total_seconds()
    what = ", ".join(f"{f.upper() if f == 'csv' else 'Parquet'} {sizes[f] / 1e6:.2f} MB" for f in formats)
    print(f"peer: generated {n} rows, {what} in {secs:.2f} s, seed {m.seed}")


if __name__ == "__main__":
    main()
