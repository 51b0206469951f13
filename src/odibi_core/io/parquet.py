"""``format: parquet``: pyarrow's reader and writer, no conversion on the way. A folder is one
dataset (Hive-style ``column=value`` partitions, as ``partition_by`` writes them).

``options`` are ``pyarrow.parquet.read_table`` / ``write_table`` keywords (``engine: pyarrow``,
which pandas users write, is accepted); Spark's reader options are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from odibi_core.io.files import FileFormat
from odibi_core.io.format import Location, classic, classic_schema

if TYPE_CHECKING:
    import pyarrow as pa


class ParquetFormat(FileFormat):
    name = "parquet"
    reads_folders = True

    def read_paths(
        self, paths: list[str], options: dict[str, Any], where: Location, folder: bool
    ) -> pa.Table:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from odibi_core.io.options import without_spark_options

        opts = without_spark_options(options)
        opts.pop("engine", None)
        filesystem = None
        if not where.is_local:
            import fsspec

            filesystem, _ = fsspec.core.url_to_fs(where.uri, **where.fsspec_options)
            paths = [filesystem._strip_protocol(p) for p in paths]
        tables = [pq.read_table(p, filesystem=filesystem, **opts) for p in paths]
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="permissive")

    encodes_batches = True

    def encode(self, data: pa.Table, dest: Any, options: dict[str, Any], target: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        opts = _writer_options(options)
        if not isinstance(data, pa.RecordBatchReader):
            pq.write_table(classic(data), dest, **opts)
            return
        schema = classic_schema(data.schema)
        group = opts.pop("row_group_size", None)
        with pq.ParquetWriter(dest, schema, **opts) as writer:
            for batch in data:
                writer.write_batch(batch.cast(schema), row_group_size=group)

    def encode_partitioned(
        self, data: pa.Table, folder: str, partition_by: list[str], options: dict[str, Any]
    ) -> None:
        import pyarrow.parquet as pq

        pq.write_to_dataset(
            classic(data), folder, partition_cols=partition_by, **_writer_options(options)
        )

    def option_problems(self, block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
        from odibi_core.io.options import option_problems

        return option_problems(block, spec)


def _writer_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "engine"}
