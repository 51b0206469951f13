"""Bulk load into PostgreSQL: Odibi's ``format: sql`` write against hand-written psycopg COPY.

One seeded Arrow table (id, a UTC time, a numeric(12,2) amount, a text status, a boolean) is
loaded into a fresh table by each variant, interleaved round by round, in the same run:

- ``odibi_overwrite``: the IO layer's write (``mode: overwrite`` into a new table: CREATE
  TABLE, then ``COPY … FROM STDIN`` in CSV written by Arrow, one transaction);
- ``psycopg_copy_rows``: the hand-written baseline, psycopg 3's ``cursor.copy`` with
  ``write_row`` over the same rows as Python tuples (what one writes from the psycopg docs);
- ``odibi_upsert``: ``mode: upsert`` of the same rows into a table already holding them
  with every other key changed (staging table, UPDATE … FROM, INSERT … WHERE NOT EXISTS);
- ``odibi_read`` / ``psycopg_fetchall``: reading the loaded table back into Arrow, through
  ``format: sql`` and by hand (psycopg's ``fetchall``, then ``pyarrow.array`` per column);
- ``odibi_run``: ``odibi run`` (``engine: polars``, which keeps decimals as decimals) of a
  project reading the rows from parquet and writing them
  (``mode: overwrite``): the whole process, catalog and story included.

With ``--spark``, two whole processes more, each starting a local Spark:

- ``odibi_spark_run``: the same project on ``engine: spark`` (Spark's JDBC writer loads a table
  from the executors, then one transaction on the driver moves the rows into the target);
- ``spark_jdbc_by_hand``: the physical limit on Spark, a hand-written PySpark script reading
  the parquet and ``df.write.jdbc(..., mode="overwrite")`` with the same JDBC driver options.

Each table is checked afterwards (row count and the sum of ``amount``). The server is the
tests' own (Debian's PostgreSQL, initdb in a temp dir, fsync off) unless ``--dsn`` names one.

    .venv/bin/python benchmarks/sql_load.py                  # 1M rows, 3 rounds (~1 min)
    .venv/bin/python benchmarks/sql_load.py --rows 200k --repeat 5
    .venv/bin/python benchmarks/sql_load.py --spark            # + Spark, ~4 min
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ODIBI = Path(sys.executable).with_name("odibi")


def _size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def make_table(rows: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(7)
    start = np.datetime64("2026-01-01T00:00:00", "us").astype("int64")
    cents = rng.integers(0, 10_000_000, rows)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype="int64")),
            "ts": pa.array(start + rng.integers(0, 86_400_000_000 * 365, rows), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "amount": pa.array([Decimal(int(c)).scaleb(-2) for c in cents], pa.decimal128(12, 2)),
            "status": pa.array(rng.choice(["completed", "pending", 'refunded, "late"'], rows)),
            "flag": pa.array(rng.random(rows) < 0.5),
        }
    )


@contextlib.contextmanager
def server(dsn: str | None) -> Iterator[dict[str, Any]]:
    if dsn:
        import psycopg

        info = psycopg.conninfo.conninfo_to_dict(dsn)
        yield {
            "host": info.get("host", "127.0.0.1"),
            "port": int(info.get("port", 5432)),
            "user": info.get("user"),
            "password": info.get("password"),
            "database": info.get("dbname", "postgres"),
        }
        return
    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    import external_tools

    with external_tools.postgres_server() as found:
        yield found


def _connect(db: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        host=db["host"],
        port=db["port"],
        user=db["user"],
        password=db["password"],
        dbname=db["database"],
    )


def _connection(db: dict[str, Any]) -> Any:
    from odibi_core.connections.sql import PostgresConnection, SqlConfig

    config = SqlConfig.model_validate(
        {
            "host": db["host"],
            "port": db["port"],
            "database": db["database"],
            "auth": {"username": db["user"], "password": db["password"]},
        }
    )
    return PostgresConnection("pg", config, Path("."))


def odibi_write(db: dict[str, Any], data: Any, table: str, mode: str = "overwrite") -> None:
    from odibi_core.config.models import WriteConfig
    from odibi_core.io.format import Location
    from odibi_core.io.sql import SqlFormat

    conn = _connection(db)
    keys = {"options": {"keys": ["id"]}} if mode == "upsert" else {}
    spec = WriteConfig.model_validate(
        {"connection": "pg", "format": "sql", "table": table, "mode": mode, **keys}
    )
    try:
        SqlFormat().write(data, Location.of("sql", conn, table), spec)
    finally:
        conn.close()


def psycopg_copy_rows(db: dict[str, Any], data: Any, table: str) -> None:
    """The hand-written baseline: CREATE TABLE, then COPY with write_row, one transaction."""
    with _connect(db) as conn:
        conn.execute(
            f"CREATE TABLE {table} (id bigint, ts timestamptz, amount numeric(12,2), "
            "status text, flag boolean)"
        )
        columns = [c.to_pylist() for c in data.columns]
        with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)


def odibi_read(db: dict[str, Any], table: str) -> int:
    from odibi_core.config.models import ReadConfig
    from odibi_core.io.format import Location
    from odibi_core.io.sql import SqlFormat

    conn = _connection(db)
    spec = ReadConfig(connection="pg", format="sql", table=table)
    try:
        return SqlFormat().read(Location.of("sql", conn, table), spec).num_rows
    finally:
        conn.close()


def psycopg_fetchall(db: dict[str, Any], table: str) -> int:
    import pyarrow as pa

    with _connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    columns = zip(*rows, strict=True)
    return pa.table({n: pa.array(list(v)) for n, v in zip(names, columns, strict=True)}).num_rows


def odibi_run(db: dict[str, Any], folder: Path, table: str, engine: str = "polars") -> None:
    project = folder / "odibi.yaml"
    project.write_text(
        f"project: bench\nengine: {engine}\nretry: {{enabled: false}}\nconnections:\n"
        "  d: {type: local, base_path: .}\n"
        f"  pg: {{type: postgres, host: {db['host']}, port: {db['port']}, "
        f"database: {db['database']}, auth: {{username: {db['user']}, "
        "password: '${env:BENCH_PG_PASSWORD}'}}\n"
        "pipelines:\n  - pipeline: p\n    nodes:\n"
        "      - name: load\n"
        "        read: {connection: d, format: parquet, path: rows.parquet}\n"
        f"        write: {{connection: pg, format: sql, table: {table}, mode: overwrite}}\n"
    )
    env = {**os.environ, "BENCH_PG_PASSWORD": str(db["password"])}
    done = subprocess.run(
        [str(ODIBI), "run", str(project)], capture_output=True, text=True, env=env, cwd=folder
    )
    if done.returncode != 0:
        raise SystemExit(f"odibi run failed:\n{done.stdout}\n{done.stderr}")


SPARK_BY_HAND = """
import sys
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession
from odibi_core.engines.spark_jdbc import DRIVER_PACKAGES
url, table, user, password, source = sys.argv[1:]
builder = (SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false")
           .config("spark.driver.host", "127.0.0.1").config("spark.sql.session.timeZone", "UTC"))
spark = configure_spark_with_delta_pip(builder, extra_packages=list(DRIVER_PACKAGES)).getOrCreate()
spark.read.parquet(source).write.jdbc(url, table, mode="overwrite", properties={
    "user": user, "password": password, "driver": "org.postgresql.Driver",
    "reWriteBatchedInserts": "true", "batchsize": "10000"})
"""


def spark_jdbc_by_hand(db: dict[str, Any], folder: Path, table: str) -> None:
    url = f"jdbc:postgresql://{db['host']}:{db['port']}/{db['database']}"
    args = [url, table, str(db["user"]), str(db["password"]), str(folder / "rows.parquet")]
    done = subprocess.run(
        [sys.executable, "-c", SPARK_BY_HAND, *args], capture_output=True, text=True, cwd=folder
    )
    if done.returncode != 0:
        raise SystemExit(f"the PySpark script failed:\n{done.stderr[-3000:]}")


def check(db: dict[str, Any], table: str) -> tuple[int, str]:
    with _connect(db) as conn:
        count, total = conn.execute(f"SELECT COUNT(*), SUM(amount) FROM {table}").fetchone()
    return int(count), str(total)


def drop(db: dict[str, Any], *tables: str) -> None:
    with _connect(db) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dsn", help="a PostgreSQL to use instead of starting one")
    parser.add_argument("--spark", action="store_true", help="add the two Spark variants")
    args = parser.parse_args()
    rows = _size(args.rows)

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    print(f"making {rows} rows", file=sys.stderr)
    data = make_table(rows)
    # Half the keys changed for the upsert: the same ids, every other amount + 1.
    changed = pc.if_else(
        pc.equal(pc.bit_wise_and(data["id"], pa.scalar(1, pa.int64())), 0),
        pc.add(data["amount"], pa.scalar(1, pa.decimal128(12, 2))).cast(pa.decimal128(12, 2)),
        data["amount"],
    )
    upsert_batch = data.set_column(2, "amount", changed)
    times: dict[str, list[float]] = {}
    checks: dict[str, tuple[int, str]] = {}
    with server(args.dsn) as db, tempfile.TemporaryDirectory() as folder:
        pq.write_table(data, Path(folder) / "rows.parquet")
        for round_ in range(args.repeat):
            print(f"round {round_ + 1}/{args.repeat}", file=sys.stderr)
            drop(db, "b_odibi", "b_psycopg", "b_upsert", "b_run", "b_spark", "b_spark_hand")
            variants = {
                "odibi_overwrite": lambda: odibi_write(db, data, "b_odibi"),
                "psycopg_copy_rows": lambda: psycopg_copy_rows(db, data, "b_psycopg"),
                "odibi_run": lambda: odibi_run(db, Path(folder), "b_run"),
            }
            if args.spark:
                variants["odibi_spark_run"] = lambda: odibi_run(
                    db, Path(folder), "b_spark", engine="spark"
                )
                variants["spark_jdbc_by_hand"] = lambda: spark_jdbc_by_hand(
                    db, Path(folder), "b_spark_hand"
                )
            for name, work in variants.items():
                started = time.perf_counter()
                work()
                times.setdefault(name, []).append(time.perf_counter() - started)
                print(f"  {name}: {times[name][-1]:.2f}s", file=sys.stderr)
            for name, read in (("odibi_read", odibi_read), ("psycopg_fetchall", psycopg_fetchall)):
                started = time.perf_counter()
                if read(db, "b_odibi") != rows:
                    raise SystemExit(f"{name} read the wrong number of rows")
                times.setdefault(name, []).append(time.perf_counter() - started)
                print(f"  {name}: {times[name][-1]:.2f}s", file=sys.stderr)
            odibi_write(db, data, "b_upsert")
            started = time.perf_counter()
            odibi_write(db, upsert_batch, "b_upsert", "upsert")
            times.setdefault("odibi_upsert", []).append(time.perf_counter() - started)
            print(f"  odibi_upsert: {times['odibi_upsert'][-1]:.2f}s", file=sys.stderr)
            for name, table in (
                ("odibi_overwrite", "b_odibi"),
                ("psycopg_copy_rows", "b_psycopg"),
                ("odibi_run", "b_run"),
                ("odibi_upsert", "b_upsert"),
                *(
                    [("odibi_spark_run", "b_spark"), ("spark_jdbc_by_hand", "b_spark_hand")]
                    if args.spark
                    else []
                ),
            ):
                checks[name] = check(db, table)
        version = _connect(db).execute("SHOW server_version").fetchone()[0]
    expected = (rows, str(pc.sum(data["amount"]).as_py()))
    upserted = (rows, str(pc.sum(upsert_batch["amount"]).as_py()))
    for name, found in checks.items():
        want = upserted if name == "odibi_upsert" else expected
        if found != want:
            raise SystemExit(f"{name} left {found}, expected {want}")
    medians = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "benchmark": "sql_load",
        "rows": rows,
        "repeat": args.repeat,
        "server": f"PostgreSQL {version}",
        "seconds": {
            k: {
                "median": round(m, 3),
                "min": round(min(times[k]), 3),
                "max": round(max(times[k]), 3),
            }
            for k, m in medians.items()
        },
        "rows_per_second": {k: round(rows / m) for k, m in medians.items()},
        "odibi_overwrite_vs_psycopg_copy_rows": round(
            medians["psycopg_copy_rows"] / medians["odibi_overwrite"], 2
        ),
        "odibi_read_vs_psycopg_fetchall": round(
            medians["psycopg_fetchall"] / medians["odibi_read"], 2
        ),
        **(
            {
                "odibi_spark_run_vs_spark_jdbc_by_hand": round(
                    medians["odibi_spark_run"] / medians["spark_jdbc_by_hand"], 2
                )
            }
            if args.spark
            else {}
        ),
        "checked": {k: {"rows": v[0], "sum_amount": v[1]} for k, v in checks.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
