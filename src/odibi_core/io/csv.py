"""``format: csv``: read with pandas' C parser and its type inference (what Odibi projects
get today), written with pandas' ``to_csv`` (``True``, ``1.5``, ISO times), handed on as Arrow.

``options`` are pandas' ``read_csv`` / ``to_csv`` keywords; Spark's reader options are accepted
and ignored, so a project written for Spark runs here unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.io.files import FileFormat
from odibi_core.io.format import Location

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import WriteConfig

#: Reader options that matter to reading back a CSV written with the same options.
READ_BACK = ("sep", "delimiter", "encoding")


class CsvFormat(FileFormat):
    name = "csv"

    def read_paths(
        self, paths: list[str], options: dict[str, Any], where: Location, folder: bool
    ) -> pa.Table:
        import pandas as pd

        from odibi_core.engines.pandas_arrow import from_pandas
        from odibi_core.io.options import without_spark_options

        opts = without_spark_options(options)
        if opts.get("header") is True:
            opts["header"] = 0
        if not where.is_local:
            opts.setdefault("storage_options", where.fsspec_options or None)
        frames = [pd.read_csv(p, **opts) for p in paths]
        return from_pandas(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))

    def encode(self, data: pa.Table, dest: Any, options: dict[str, Any], target: str) -> None:
        from odibi_core.engines.pandas_arrow import to_pandas

        to_pandas(data).to_csv(dest, index=False, **options)

    def read_back_options(self, spec: WriteConfig, schema: pa.Schema) -> dict[str, Any]:
        import pyarrow as pa

        options: dict[str, Any] = {k: spec.options[k] for k in READ_BACK if k in spec.options}
        # Text stays text ("02139" is no number): the target's rows get the new rows' types.
        text = [
            f.name
            for f in schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_string_view(f.type)
        ]
        if text:
            options["dtype"] = dict.fromkeys(text, "str")
        return options

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.io.options import option_problems

        return option_problems(block, spec)
