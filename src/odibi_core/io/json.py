"""``format: json``: a JSON array of records, or JSON lines (``.jsonl``/``.ndjson`` files, a
folder of part files as Spark writes them, or ``options: {lines: true}``), through pandas'
``read_json`` / ``to_json`` (dates in ISO 8601), handed on as Arrow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.io.files import FileFormat
from odibi_core.io.format import Location

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import WriteConfig

_LINES_SUFFIXES = (".jsonl", ".ndjson")


class JsonFormat(FileFormat):
    name = "json"

    def read_paths(
        self, paths: list[str], options: dict[str, Any], where: Location, folder: bool
    ) -> pa.Table:
        import pandas as pd

        from odibi_core.engines.pandas_arrow import from_pandas
        from odibi_core.io.options import without_spark_options

        opts = without_spark_options(options)
        lines = opts.pop("lines", None)
        if not where.is_local:
            opts.setdefault("storage_options", where.fsspec_options or None)
        frames = []
        for p in paths:
            per_file = (folder or p.endswith(_LINES_SUFFIXES)) if lines is None else lines
            frames.append(pd.read_json(p, lines=per_file, **opts))
        return from_pandas(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))

    def encode(self, data: pa.Table, dest: Any, options: dict[str, Any], target: str) -> None:
        from odibi_core.engines.pandas_arrow import to_pandas

        opts = dict(options)
        lines = opts.pop("lines", target.endswith(_LINES_SUFFIXES))
        to_pandas(data).to_json(dest, orient="records", lines=lines, date_format="iso", **opts)

    def read_back_options(self, spec: WriteConfig, schema: pa.Schema) -> dict[str, Any]:
        return {"lines": True} if spec.target.endswith(_LINES_SUFFIXES) else {}

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.io.options import option_problems

        return option_problems(block, spec)
