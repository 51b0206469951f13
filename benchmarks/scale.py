"""A medallion pipeline at scale: `odibi run` against the same work written by hand.

Per size: orders (CSV or parquet, ~5 % repeated order ids) are deduplicated on ``order_id``
keeping the latest ``ts``, joined to customers with derived columns and written as a silver
Delta table, then aggregated to daily revenue per country in a gold Delta table. Each variant
runs as a whole process, interleaved round by round, and reports wall time and peak RSS:

- ``ours``: ``odibi run`` of that pipeline (catalog, story and telemetry included, as users run it);
- ``ours_polars``: the same project with ``engine: polars`` (only when polars is installed);
- ``duckdb``: one DuckDB process doing the same queries, writing both tables with deltalake
  (the physical limit the issue measures against);
- ``polars``: the same in polars (only when polars is installed).

Both tables of every variant are checked against each other (row counts, revenue sums).
``--baseline REV`` adds ``ours_baseline``: ``odibi run`` with ``src/`` as of that revision.

    .venv/bin/python benchmarks/scale.py --sizes 1M --formats csv      # ~1 min
    .venv/bin/python benchmarks/scale.py --sizes 1M,10M --formats csv,parquet --repeat 3
    .venv/bin/python benchmarks/scale.py --sizes 100M --formats parquet --repeat 1 \
        --variants ours_polars,duckdb                      # the largest size, fewest variants
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ODIBI = Path(sys.executable).with_name("odibi")

SILVER_SQL = (
    "SELECT o.order_id, o.customer_id, o.ts, CAST(o.ts AS DATE) AS order_date, o.amount,"
    " o.status, c.country, c.tier,"
    " o.amount * CASE WHEN c.tier = 'gold' THEN 0.9 ELSE 1.0 END AS net_amount"
    " FROM orders o JOIN customers c ON o.customer_id = c.customer_id"
)
GOLD_SQL = (
    "SELECT order_date, country, SUM(net_amount) AS revenue, COUNT(*) AS orders"
    " FROM silver GROUP BY order_date, country"
)


def _size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def make_data(folder: Path, rows: int) -> Path:
    """Seeded orders and customers as CSV and parquet, made once per size (by DuckDB)."""
    import duckdb

    target = folder / f"rows_{rows}"
    if (target / "done").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    customers = max(1000, rows // 20)
    distinct = rows - rows // 20
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{target / 'tmp'}'")
    con.execute(
        f"""CREATE TABLE orders AS SELECT
              (i * 7919) % {distinct} AS order_id,
              (hash(i) % {customers})::BIGINT AS customer_id,
              TIMESTAMP '2026-01-01' + to_seconds((hash(i * 3) % 15552000)::BIGINT) AS ts,
              round((hash(i * 5) % 100000) / 100.0, 2) AS amount,
              ['completed', 'pending', 'shipped', 'cancelled'][(hash(i * 7) % 4)::INT + 1]
                AS status
            FROM range({rows}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE customers AS SELECT
              i AS customer_id, 'customer ' || i AS name,
              ['DE', 'FR', 'NG', 'US', 'GB', 'IN', 'BR', 'JP', 'KE', 'CA'][(i % 10) + 1]
                AS country,
              CASE WHEN i % 7 = 0 THEN 'gold' ELSE 'standard' END AS tier
            FROM range({customers}) t(i)"""
    )
    for table in ("orders", "customers"):
        con.execute(f"COPY {table} TO '{target / table}.csv' (HEADER)")
        con.execute(f"COPY {table} TO '{target / table}.parquet' (FORMAT parquet)")
    con.close()
    (target / "done").write_text("")
    return target


def project_yaml(data: Path, out: Path, fmt: str, engine: str = "pandas") -> str:
    options = "options: {parse_dates: [ts]}" if fmt == "csv" else ""
    return textwrap.dedent(
        f"""\
        project: scale
        engine: {engine}
        retry: {{enabled: false}}
        connections:
          raw: {{type: local, base_path: "{data}"}}
          lake: {{type: local, base_path: "{out}"}}
        story: {{connection: lake, path: stories}}
        pipelines:
          - pipeline: medallion
            nodes:
              - name: orders
                read: {{connection: raw, format: {fmt}, path: orders.{fmt}, {options}}}
                transformer: deduplicate
                params: {{keys: [order_id], order_by: "ts DESC"}}
              - name: customers
                read: {{connection: raw, format: {fmt}, path: customers.{fmt}}}
              - name: silver
                depends_on: [orders, customers]
                transform: {{steps: ["{SILVER_SQL}"]}}
                write: {{connection: lake, format: delta, path: silver, mode: overwrite}}
              - name: gold
                depends_on: [silver]
                transform: {{steps: ["{GOLD_SQL}"]}}
                write: {{connection: lake, format: delta, path: gold, mode: overwrite}}
        """
    )


def hand_duckdb(data: Path, out: Path, fmt: str, ordered: bool = False) -> None:
    """The same pipeline as one would write it by hand with DuckDB and deltalake; ``ordered``
    keeps the orders in input order, as ``deduplicate`` promises."""
    import duckdb
    from deltalake import write_deltalake

    con = duckdb.connect()
    read = "read_csv" if fmt == "csv" else "read_parquet"
    if ordered:
        con.execute(
            f"CREATE VIEW orders AS SELECT * EXCLUDE (pos) FROM (SELECT *, ROW_NUMBER() OVER () "
            f"AS pos FROM {read}('{data}/orders.{fmt}')) QUALIFY ROW_NUMBER() OVER "
            "(PARTITION BY order_id ORDER BY ts DESC, pos) = 1 ORDER BY pos"
        )
    else:
        con.execute(
            f"CREATE VIEW orders AS SELECT * FROM {read}('{data}/orders.{fmt}') "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ts DESC) = 1"
        )
    con.execute(f"CREATE VIEW customers AS SELECT * FROM {read}('{data}/customers.{fmt}')")
    con.execute(f"CREATE TABLE silver AS {SILVER_SQL}")
    # Streamed in record batches: a silver table of 100M rows does not fit in memory as Arrow.
    write_deltalake(str(out / "silver"), con.sql("SELECT * FROM silver").to_arrow_reader(1 << 20))
    write_deltalake(str(out / "gold"), con.sql(GOLD_SQL).to_arrow_table())


def hand_polars(data: Path, out: Path, fmt: str) -> None:
    import polars as pl

    scan = pl.scan_csv if fmt == "csv" else pl.scan_parquet
    kwargs = {"try_parse_dates": True} if fmt == "csv" else {}
    orders = (
        scan(f"{data}/orders.{fmt}", **kwargs)
        .sort("ts", descending=True)
        .unique(subset=["order_id"], keep="first", maintain_order=True)
    )
    customers = scan(f"{data}/customers.{fmt}")
    silver = (
        orders.join(customers, on="customer_id")
        .with_columns(
            pl.col("ts").cast(pl.Date).alias("order_date"),
            (pl.col("amount") * pl.when(pl.col("tier") == "gold").then(0.9).otherwise(1.0)).alias(
                "net_amount"
            ),
        )
        .select(
            "order_id",
            "customer_id",
            "ts",
            "order_date",
            "amount",
            "status",
            "country",
            "tier",
            "net_amount",
        )
        .collect()
    )
    silver.write_delta(str(out / "silver"))
    gold = silver.group_by("order_date", "country").agg(
        pl.col("net_amount").sum().alias("revenue"), pl.len().alias("orders")
    )
    gold.write_delta(str(out / "gold"))


def _measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one whole process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or None
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out, err = proc.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{out.decode()[-2000:]}\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024


def _check(outs: dict[str, Path]) -> dict[str, object]:
    """The variants wrote the same tables (row counts, revenue and order totals)."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()  # DuckDB's delta extension would be a download: read with deltalake
    found = {}
    for name, out in outs.items():
        s = DeltaTable(str(out / "silver")).to_pyarrow_dataset()  # noqa: F841 (scanned by name)
        g = DeltaTable(str(out / "gold")).to_pyarrow_dataset()  # noqa: F841
        silver = con.execute("SELECT COUNT(*), SUM(net_amount) FROM s").fetchone()
        gold = con.execute("SELECT COUNT(*), SUM(revenue), SUM(orders) FROM g").fetchone()
        found[name] = (silver[0], round(silver[1], 2), gold[0], round(gold[1], 2), gold[2])
    same = len({v for v in found.values()}) == 1
    return {"same_tables": same, "tables": {k: list(v) for k, v in found.items()}}


def default_variants(baseline: bool) -> list[str]:
    variants = ["ours", "duckdb"] + (["ours_baseline"] if baseline else [])
    try:
        import polars  # noqa: F401

        variants += ["ours_polars", "polars"]
    except ImportError:
        pass
    return variants


def run_size(
    rows: int,
    fmt: str,
    repeat: int,
    work: Path,
    data_root: Path,
    baseline: Path | None,
    variants: list[str],
) -> dict[str, object]:
    data = make_data(data_root, rows)
    timings: dict[str, list[tuple[float, int]]] = {v: [] for v in variants}
    last_out: dict[str, Path] = {}
    for round_ in range(repeat):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for variant in order:
            out = work / f"{variant}_{rows}_{fmt}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            env = None
            if variant in ("ours", "ours_baseline", "ours_polars"):
                engine = "polars" if variant == "ours_polars" else "pandas"
                (out / "odibi.yaml").write_text(project_yaml(data, out, fmt, engine))
                argv = [str(ODIBI), "run", str(out / "odibi.yaml")]
                if variant == "ours_baseline":  # the old src/ first on the path
                    env = {**os.environ, "PYTHONPATH": str(baseline)}
                    entry = "from odibi_core.cli.main import entry; entry()"
                    argv = [sys.executable, "-c", entry, "run", str(out / "odibi.yaml")]
            else:
                argv = [sys.executable, str(HERE), "--child", variant, str(data), str(out), fmt]
            wall, rss = _measure(argv, out, env)
            timings[variant].append((wall, rss))
            last_out[variant] = out
            print(f"{rows} {fmt} {variant}: {wall:.1f} s, {rss / 2**20:.0f} MiB", file=sys.stderr)
    result: dict[str, object] = {"rows": rows, "format": fmt, "repeat": repeat}
    for variant, runs in timings.items():
        result[variant] = {
            "wall_s_median": round(statistics.median(w for w, _ in runs), 2),
            "peak_rss_mib_median": round(statistics.median(r for _, r in runs) / 2**20),
            "wall_s": [round(w, 2) for w, _ in runs],
        }
    for hand in ("duckdb", "duckdb_ordered"):
        base = result.get(hand)
        for variant in ("ours", "ours_polars"):
            ours = result.get(variant)
            if ours is None or base is None:
                continue
            result[f"ratio_wall_{variant}_to_{hand}"] = round(
                ours["wall_s_median"] / base["wall_s_median"], 2
            )
            result[f"ratio_rss_{variant}_to_{hand}"] = round(
                ours["peak_rss_mib_median"] / max(base["peak_rss_mib_median"], 1), 2
            )
    if baseline and "ours" in result and "ours_baseline" in result:
        ours = result["ours"]
        old = result["ours_baseline"]
        result["speedup_ours_vs_baseline"] = round(old["wall_s_median"] / ours["wall_s_median"], 2)
    result.update(_check(last_out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M", help="comma-separated row counts: 1M,10M,30M")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per size")
    parser.add_argument("--data-dir", default=None, help="where generated inputs are kept")
    parser.add_argument("--baseline", help="also time odibi run with src/ as of this revision")
    parser.add_argument(
        "--variants",
        help="comma-separated, of ours, ours_polars, duckdb, duckdb_ordered, polars, ours_baseline",
    )
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "DATA", "OUT", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        variant, data, out, fmt = args.child
        hands = {
            "duckdb": hand_duckdb,
            "duckdb_ordered": lambda *a: hand_duckdb(*a, ordered=True),
            "polars": hand_polars,
        }
        hands[variant](Path(data), Path(out), fmt)
        return
    data_root = Path(args.data_dir or Path(tempfile.gettempdir()) / "odibi-scale-data")
    results = []
    with tempfile.TemporaryDirectory(prefix="odibi-scale-") as work:
        baseline = None
        if args.baseline:
            sys.path.insert(0, str(HERE.parent))
            from quality import export_src

            baseline = export_src(args.baseline, Path(work))
        variants = args.variants.split(",") if args.variants else default_variants(bool(baseline))
        for size in args.sizes.split(","):
            for fmt in args.formats.split(","):
                results.append(
                    run_size(
                        _size(size), fmt, args.repeat, Path(work), data_root, baseline, variants
                    )
                )
    targets = {"wall_ratio_10M": 1.3, "rss_ratio_10M": 1.5}
    report = {"cpus": os.cpu_count(), "baseline": args.baseline, "targets": targets}
    print(json.dumps({**report, "results": results}, indent=2))


if __name__ == "__main__":
    main()
