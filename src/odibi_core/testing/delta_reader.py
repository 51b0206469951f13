"""A minimal Delta Lake reader that replays ``_delta_log`` itself and reads the parquet files
with pyarrow: independent of the ``deltalake`` library Odibi writes with, so tests cannot
agree with the writer by sharing its bugs. Local paths only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote


def active_files(table: str | Path) -> list[tuple[str, dict[str, str | None]]]:
    """(relative path, partition values) of every file in the latest snapshot."""
    import pyarrow.parquet as pq

    log = Path(table) / "_delta_log"
    if not log.is_dir():
        raise FileNotFoundError(f"not a Delta table: {table}")
    files: dict[str, dict[str, str | None]] = {}
    start = -1
    last_cp = log / "_last_checkpoint"
    if last_cp.exists():
        start = json.loads(last_cp.read_text())["version"]
        for part in sorted(log.glob(f"{start:020d}.checkpoint*.parquet")):
            for row in pq.read_table(part, columns=["add"]).column("add").to_pylist():
                if row:
                    files[unquote(row["path"])] = dict(row.get("partitionValues") or {})
    for commit in sorted(log.glob("*.json")):
        if int(commit.stem) <= start:
            continue
        for line in commit.read_text().splitlines():
            action = json.loads(line) if line.strip() else {}
            if "add" in action:
                files[unquote(action["add"]["path"])] = action["add"].get("partitionValues") or {}
            elif "remove" in action:
                files.pop(unquote(action["remove"]["path"]), None)
    return sorted(files.items())


def read_delta(table: str | Path) -> list[dict[str, Any]]:
    """All rows of the latest snapshot as dicts (partition columns filled in as strings)."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for path, partitions in active_files(table):
        data = pq.ParquetFile(Path(table) / path).read().to_pylist()
        for row in data:
            for key, value in partitions.items():
                row.setdefault(key, value)
        rows.extend(data)
    return rows
