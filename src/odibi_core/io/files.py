"""What every file format shares: which files a path names, the write modes on whole files,
and replacing an output without ever leaving half of it behind (locally or in object stores).

A format module (``csv``, ``parquet``, ``json``) only says how to read some files into Arrow
and how to encode a table into one file.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import tempfile
import uuid
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odibi_core.errors import NodeError
from odibi_core.io import modes
from odibi_core.io.format import Format, Location

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig, WriteConfig


class FileFormat(Format):
    """A format stored as files: one file, a glob of them, or a folder of part files."""

    #: Whether a folder is one dataset the reader opens whole (parquet's partitioned layout)
    #: rather than a folder of ``*.<name>`` part files.
    reads_folders: bool = False
    #: Whether ``encode`` takes a ``pyarrow.RecordBatchReader`` too: then an overwrite
    #: streams the rows into the file.
    encodes_batches: bool = False

    @abstractmethod
    def read_paths(
        self, paths: list[str], options: dict[str, Any], where: Location, folder: bool
    ) -> pa.Table:
        """The rows of ``paths`` (local paths or URLs), in order; ``folder`` when they are
        the part files of a folder."""

    @abstractmethod
    def encode(self, data: pa.Table, dest: Any, options: dict[str, Any], target: str) -> None:
        """Write ``data`` as one file to ``dest`` (a path or a binary buffer); ``target`` is
        the output's name (its suffix may decide the layout)."""

    def read_back_options(self, spec: WriteConfig, schema: pa.Schema) -> dict[str, Any]:
        """Reader options for a file written with ``spec``'s options, whose new rows have
        ``schema`` (a text format reads their text columns back as text)."""
        return {}

    def encode_partitioned(
        self, data: pa.Table, folder: str, partition_by: list[str], options: dict[str, Any]
    ) -> None:
        raise NodeError("partition_by needs format parquet or delta", step="write")

    # ------------------------------------------------------------ read

    def read(self, where: Location, spec: ReadConfig) -> pa.Table:
        return self.read_options(where, dict(spec.options))

    def read_options(self, where: Location, options: dict[str, Any]) -> pa.Table:
        paths, folder = self._paths(where)
        return self.read_paths(paths, options, where, folder)

    def _paths(self, where: Location) -> tuple[list[str], bool]:
        uri = where.uri
        if not where.is_local:
            return _remote_paths(self.name, uri, where.fsspec_options, self.reads_folders)
        paths = sorted(glob.glob(uri)) if glob.has_magic(uri) else [uri]
        if not paths or not all(os.path.exists(p) for p in paths):
            raise FileNotFoundError(uri)
        if len(paths) == 1 and os.path.isdir(paths[0]) and not self.reads_folders:
            parts = sorted(str(p) for p in Path(paths[0]).glob(f"*.{self.name}"))
            if not parts:  # an empty folder: nothing to read, said as for a missing file
                raise FileNotFoundError(f"{uri} (no *.{self.name} files in it)")
            return parts, True
        return paths, False

    # ------------------------------------------------------------ write

    def takes_batches(self, spec: WriteConfig) -> bool:
        return self.encodes_batches and spec.mode == "overwrite" and not spec.partition_by

    def write(self, data: pa.Table, where: Location, spec: WriteConfig) -> None:
        if spec.mode != "overwrite" and _exists(where):
            existing = self.read_options(where, self.read_back_options(spec, data.schema))
            data = combine(existing, data, spec)
        options = {k: v for k, v in spec.options.items() if k != "keys"}
        if where.is_local:
            self._write_local(data, Path(where.uri), spec, options)
        else:
            self._write_remote(data, where, spec, options)

    def _write_local(
        self, data: pa.Table, target: Path, spec: WriteConfig, options: dict[str, Any]
    ) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed, so a failure never leaves half a file.
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            if spec.partition_by:
                self.encode_partitioned(data, str(tmp), spec.partition_by, options)
            else:
                self.encode(data, str(tmp), options, str(target))
            replace_path(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()

    def _write_remote(
        self, data: pa.Table, where: Location, spec: WriteConfig, options: dict[str, Any]
    ) -> None:
        """The output is made in full before anything is uploaded, and a file goes up in one
        request, which the store publishes only once it is complete: a failed write leaves
        the previous version. A partitioned dataset's new files are uploaded beside the old
        ones, which they replace once the upload succeeded (for a moment readers may see both)."""
        import fsspec

        fs, path = fsspec.core.url_to_fs(where.uri, **where.fsspec_options)
        if not spec.partition_by:
            buffer = io.BytesIO()
            self.encode(data, buffer, options, where.uri)
            fs.pipe_file(path, buffer.getvalue())
            return
        old = set(fs.find(path)) if fs.exists(path) else set()
        with tempfile.TemporaryDirectory(prefix="odibi-") as local:
            # The writer names each file afresh, so the new files never overwrite the old
            # ones, which are deleted only once every new file is up.
            folder = os.path.join(local, "out")
            self.encode_partitioned(data, folder, spec.partition_by, options)
            try:
                fs.put(folder + "/", path, recursive=True)
            except BaseException:
                new = set(fs.find(path)) - old
                if new:
                    fs.rm(sorted(new))
                raise
        if old:
            fs.rm(sorted(old))


def combine(existing: pa.Table, incoming: pa.Table, spec: WriteConfig) -> pa.Table:
    """The rows a file target holds after a write in ``spec.mode`` (``io.modes``): the
    target's rows, then the new ones, columns matched by name, each keeping its type."""
    import pyarrow as pa

    from odibi_core.io.format import classic

    existing, incoming = classic(existing), classic(incoming)  # Arrow's kernels take these
    if spec.mode in modes.KEYED_MODES:
        modes.require_target_keys(spec, existing.column_names)
        if spec.mode == "upsert":
            existing = existing.take(_unmatched(existing, incoming, spec.keys))
        else:
            incoming = incoming.take(_unmatched(incoming, existing, spec.keys))
    return pa.concat_tables([existing, incoming], promote_options="permissive")


def _unmatched(rows: pa.Table, other: pa.Table, keys: list[str]) -> pa.Array:
    """Positions of ``rows`` whose keys ``other`` lacks, compared on DuckDB; keys of types
    that do not compare (text and numbers) are compared as text."""
    import duckdb
    import pyarrow as pa

    left, right = rows.select(keys), other.select(keys)
    for key in keys:
        a, b = left.schema.field(key).type, right.schema.field(key).type
        if a != b and not (_numeric(a) and _numeric(b)):
            left = left.set_column(
                left.schema.get_field_index(key), key, left[key].cast(pa.string())
            )
            right = right.set_column(
                right.schema.get_field_index(key), key, right[key].cast(pa.string())
            )
    with duckdb.connect() as con:
        con.register("rows", left)
        con.register("other", right)
        query = modes.unmatched_sql(keys, _quote, "ROW_NUMBER() OVER ()")
        return con.sql(query).to_arrow_table().column(0).combine_chunks()


def _numeric(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def replace_path(tmp: Path, target: Path) -> None:
    """Put ``tmp`` (a file or a folder written beside ``target``) in ``target``'s place, so a
    failed write never leaves half an output behind; a folder is swapped with two renames."""
    if tmp.is_dir():
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)


def _exists(where: Location) -> bool:
    if where.is_local:
        return Path(where.uri).exists()
    import fsspec

    fs, path = fsspec.core.url_to_fs(where.uri, **where.fsspec_options)
    return bool(fs.exists(path))


def _remote_paths(
    fmt: str, uri: str, storage_options: Mapping[str, Any], reads_folders: bool
) -> tuple[list[str], bool]:
    """The files a remote path names, like the local rules: a glob's matches, or a folder's
    ``*.<fmt>`` files (a parquet folder is one dataset)."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri, **storage_options)
    if glob.has_magic(path):
        found = sorted(fs.glob(path))
        if not found:
            raise FileNotFoundError(uri)
        return [fs.unstrip_protocol(p) for p in found], False
    if not reads_folders and fs.isdir(path):
        found = sorted(p for p in fs.ls(path, detail=False) if p.endswith(f".{fmt}"))
        if not found:
            raise FileNotFoundError(uri)
        return [fs.unstrip_protocol(p) for p in found], True
    return [uri], False


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
