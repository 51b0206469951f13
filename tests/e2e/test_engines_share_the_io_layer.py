"""Every engine reads and writes through one IO layer with one meaning per write mode: the
same project gives the same tables on pandas, polars and Spark, through the real CLI. And the
quickstart runs on polars as it does on pandas."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from odibi_core.testing.project import OdibiProject

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"

FIRST = "id,amount,note\n1,1.5,a\n2,2.5,\n,9.0,null key\n"
SECOND = "id,amount,note\n2,20.5,changed\n3,3.5,c\n,90.0,null key again\n"
FORMATS = {"csv": "csv", "parquet": "parquet", "json": "jsonl", "delta": ""}
MODES = ("overwrite", "append", "upsert", "append_once")

#: The rows each mode leaves after FIRST then SECOND: (id, amount), in the target's order.
EXPECTED = {
    "overwrite": [(2, 20.5), (3, 3.5), (None, 90.0)],
    "append": [(1, 1.5), (2, 2.5), (None, 9.0), (2, 20.5), (3, 3.5), (None, 90.0)],
    # The target's rows the batch does not replace, then the batch; a null key is one key.
    "upsert": [(1, 1.5), (2, 20.5), (3, 3.5), (None, 90.0)],
    "append_once": [(1, 1.5), (2, 2.5), (None, 9.0), (3, 3.5)],
}


def _project_text(engine: str) -> str:
    nodes = []
    for fmt, suffix in FORMATS.items():
        for mode in MODES:
            name = f"{fmt}_{mode}"
            path = f"out/{name}" + (f".{suffix}" if suffix else "")
            keys = ", options: {keys: [id]}" if mode in ("upsert", "append_once") else ""
            nodes.append(
                f"      - name: {name}\n"
                f"        read: {{connection: d, format: csv, path: in.csv}}\n"
                f"        write: {{connection: d, format: {fmt}, path: {path}, mode: {mode}{keys}}}"
            )
    return (
        f"project: modes\nengine: {engine}\n"
        "connections: {d: {type: local, base_path: .}}\n"
        "pipelines:\n  - pipeline: p\n    nodes:\n" + "\n".join(nodes) + "\n"
    )


def _target_rows(project: OdibiProject, fmt: str, name: str) -> list[tuple]:
    import pandas as pd

    suffix = FORMATS[fmt]
    path = project.path(f"out/{name}" + (f".{suffix}" if suffix else ""))
    if fmt == "delta":
        table = DeltaTable(str(path)).to_pyarrow_table()
        rows = [(r["id"], r["amount"]) for r in table.to_pylist()]
        return sorted(rows, key=lambda r: (r[0] is None, r[0] or 0, r[1]))  # no row order
    # Spark writes a folder of part files (read in name order); the others one file.
    parts = sorted(path.glob(f"part-*.{fmt}")) if path.is_dir() else [path]
    if fmt == "parquet":
        frame = pq.read_table(path).to_pandas()
    elif fmt == "csv":
        frame = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    else:
        frame = pd.concat([pd.read_json(p, lines=True) for p in parts], ignore_index=True)
    return [
        (None if pd.isna(i) else int(i), float(a))
        for i, a in zip(frame["id"], frame["amount"], strict=True)
    ]


def _expected(fmt: str, mode: str) -> list[tuple]:
    rows = EXPECTED[mode]
    if fmt == "delta":
        return sorted(rows, key=lambda r: (r[0] is None, r[0] or 0, r[1]))
    return rows


def _spark_ready() -> bool:
    return shutil.which("java") is not None


@pytest.mark.parametrize("engine", ["pandas", "polars", "spark"])
def test_every_mode_means_the_same_on_every_engine_and_format(odibi_project, engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
        if not _spark_ready():
            pytest.skip("no Java for Spark")
    project = odibi_project({"odibi.yaml": _project_text(engine), "in.csv": FIRST})
    first = project.run()
    assert first.exit_code == 0, first.output
    project.write({"in.csv": SECOND})
    second = project.run()
    assert second.exit_code == 0, second.output
    for fmt in FORMATS:
        for mode in MODES:
            got = _target_rows(project, fmt, f"{fmt}_{mode}")
            assert got == _expected(fmt, mode), (engine, fmt, mode, got)


def _quickstart(tmp_path: Path, engine: str) -> Path:
    root = tmp_path / engine
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("output", ".odibi"))
    config = root / "odibi.yaml"
    config.write_text(config.read_text().replace("engine: pandas", f"engine: {engine}"))
    return root


def test_the_quickstart_runs_on_polars_with_the_same_rows(tmp_path):
    tables = {}
    for engine in ("pandas", "polars"):
        root = _quickstart(tmp_path, engine)
        project = OdibiProject(root)
        run = project.run()
        assert run.exit_code == 0, run.output
        revenue = DeltaTable(str(root / "output/gold/daily_revenue")).to_pyarrow_table()
        orders = pq.read_table(root / "output/bronze/orders.parquet")
        tables[engine] = (revenue.sort_by([("order_date", "ascending")]).to_pylist(), orders)
        story = json.loads(next((root / "output/stories").rglob("run_*.json")).read_text())
        assert story["engine"] == engine
    assert tables["polars"][0] == tables["pandas"][0]
    assert tables["polars"][1].to_pylist() == tables["pandas"][1].to_pylist()
    assert tables["polars"][1].schema.names == tables["pandas"][1].schema.names


INCREMENTAL = """\
project: p
engine: polars
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: events
        read:
          connection: d
          format: csv
          path: events.csv
          incremental: {mode: stateful, column: updated_at}
        transform:
          steps:
            - {function: tag_rows, params: {tag: seen}}
            - {operation: sort, params: {by: id, ascending: false}}
        write: {connection: d, format: delta, path: events, mode: append}
"""

PLUGIN = """\
from odibi_core import hookimpl
from odibi_core.transforms.registry import transform


@transform("tag_rows", engine="polars")
def tag_rows(ctx, df, tag):
    import polars as pl

    assert isinstance(df, pl.DataFrame), type(df)  # a polars transform gets polars
    return df.with_columns(pl.lit(tag).alias("tag"))


@hookimpl
def odibi_register_transforms():
    return [tag_rows]
"""


def test_polars_keeps_marks_and_hands_polars_frames_to_polars_transforms(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": INCREMENTAL,
            "plugins/tags.py": PLUGIN,
            "events.csv": "id,updated_at\n1,2026-01-01T00:00:00\n2,2026-01-02T00:00:00\n",
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == "2026-01-02T00:00:00"
    project.write(
        {
            "events.csv": "id,updated_at\n1,2026-01-01T00:00:00\n2,2026-01-02T00:00:00\n"
            "3,2026-01-03T00:00:00\n"
        }
    )
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = DeltaTable(str(project.path("events"))).to_pyarrow_table().to_pylist()
    assert sorted((r["id"], r["tag"]) for r in rows) == [(1, "seen"), (2, "seen"), (3, "seen")]
    (state,) = project.catalog("meta_state")
    assert json.loads(state["value"]) == "2026-01-03T00:00:00"


FEATHER = """\
import pyarrow.feather as feather

from odibi_core import hookimpl
from odibi_core.io.files import FileFormat


class FeatherFormat(FileFormat):
    name = "feather"

    def read_paths(self, paths, options, where, folder):
        import fsspec
        import pyarrow as pa

        # paths are local paths, or URLs of an object store opened with the connection's options
        opened = [fsspec.open(p, "rb", **where.fsspec_options) for p in paths]
        tables = []
        for file in opened:
            with file as f:
                tables.append(feather.read_table(f, **options))
        return pa.concat_tables(tables)

    def encode(self, data, dest, options, target):
        feather.write_feather(data, dest, **options)


@hookimpl
def odibi_register_formats():
    return [FeatherFormat()]
"""


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_a_format_plugin_works_on_every_arrow_engine_with_every_mode(odibi_project, engine):
    """The plugin of docs/plugins.md ("A format"): written once, upserted and read back."""
    import pyarrow.feather as feather

    text = f"""\
project: f
engine: {engine}
connections: {{d: {{type: local, base_path: .}}}}
pipelines:
  - pipeline: p
    nodes:
      - name: load
        read: {{connection: d, format: csv, path: in.csv}}
        write: {{connection: d, format: feather, path: t.feather, mode: upsert, options: {{keys: [id]}}}}
      - name: back
        depends_on: [load]
        read: {{connection: d, format: feather, path: t.feather}}
        write: {{connection: d, format: csv, path: back.csv}}
"""
    project = odibi_project({"odibi.yaml": text, "plugins/feather.py": FEATHER, "in.csv": FIRST})
    assert project.odibi("validate", "{config}").exit_code == 0
    assert project.run().exit_code == 0
    project.write({"in.csv": SECOND})
    run = project.run()
    assert run.exit_code == 0, run.output
    rows = feather.read_table(project.path("t.feather")).select(["id", "amount"]).to_pylist()
    assert [(r["id"], r["amount"]) for r in rows] == EXPECTED["upsert"]
    assert project.path("back.csv").read_text().count("\n") == 1 + len(EXPECTED["upsert"])


def test_reads_and_rewrites_keep_every_columns_type(odibi_project):
    """Decimals, dates, durations and zoned times survive a pandas read and every file mode;
    text keys written back to CSV stay text ("02139" is no number)."""
    from datetime import date
    from decimal import Decimal

    import pyarrow as pa

    text = """\
project: types
connections: {d: {type: local, base_path: .}}
pipelines:
  - pipeline: p
    nodes:
      - name: typed
        read: {connection: d, format: parquet, path: in.parquet}
        write: {connection: d, format: parquet, path: out.parquet, mode: append}
      - name: zips
        read: {connection: d, format: csv, path: zips.csv, options: {dtype: {zip: str}}}
        write: {connection: d, format: csv, path: zips_out.csv, mode: upsert, options: {keys: [zip]}}
"""
    project = odibi_project({"odibi.yaml": text, "zips.csv": "zip,n\n02139,1\n00501,2\n"})
    source = pa.table(
        {
            "amount": pa.array([Decimal("12345678901234567.89"), None], pa.decimal128(38, 2)),
            "day": pa.array([date(2026, 1, 2), None], pa.date32()),
            "took": pa.array([90, None], pa.duration("s")),
            "at": pa.array([0, 1], pa.timestamp("us", tz="America/New_York")),
        }
    )
    pq.write_table(source, project.path("in.parquet"))
    for _ in range(2):
        run = project.run()
        assert run.exit_code == 0, run.output
    out = pq.read_table(project.path("out.parquet"))
    # pandas holds Decimal objects: the precision is what the values need, the scale kept.
    assert pa.types.is_decimal(out.schema.field("amount").type)
    assert out.schema.field("amount").type.scale == 2
    assert out.schema.field("day").type == pa.date32()
    assert out.schema.field("took").type == pa.duration("s")
    assert out.schema.field("at").type == pa.timestamp("us", tz="America/New_York")
    assert out.column("amount").to_pylist() == [Decimal("12345678901234567.89"), None] * 2
    assert project.path("zips_out.csv").read_text().splitlines() == ["zip,n", "02139,1", "00501,2"]
