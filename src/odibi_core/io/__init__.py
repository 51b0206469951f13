"""The IO layer: every format read and written once, on Arrow, for every engine that computes
on Arrow (pandas, polars). Formats register through ``odibi_register_formats`` (built-ins in
:mod:`odibi_core.io.builtin`, plugins the same way); :mod:`odibi_core.io.modes` owns what each
write mode means. An engine never opens a file: it hands Arrow to :func:`write` and takes
Arrow from :func:`read`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from odibi_core.errors import NodeError, first_line, transient
from odibi_core.io.format import Format, Location, whole

if TYPE_CHECKING:
    import pyarrow as pa

    from odibi_core.config.models import ReadConfig, WriteConfig
    from odibi_core.connections.base import Connection

__all__ = ["Format", "Location", "read", "stored_hash", "write"]


def read(formats: Mapping[str, Format], spec: ReadConfig, connection: Connection) -> pa.Table:
    """``spec``'s data as Arrow; a missing source or unreadable data is a ``NodeError``."""
    fmt = spec.format.lower()
    where = Location.of(fmt, connection, spec.path or spec.table or "")
    found = formats.get(fmt)
    if found is None or not found.reads:
        raise NodeError(f"no installed format reads '{fmt}'", step="read")
    _require_capability(found, connection, "read")
    try:
        return found.read(where, spec)
    except NodeError:
        raise
    except FileNotFoundError:
        message = f"cannot read {where.label}: not found ({where.uri})"
        raise NodeError(message, step="read") from None
    except Exception as exc:
        raise NodeError(
            f"cannot read {where.label}: {_first_line(exc)}", step="read", retryable=transient(exc)
        ) from exc


def write(
    formats: Mapping[str, Format],
    data: pa.Table | pa.RecordBatchReader,
    spec: WriteConfig,
    connection: Connection,
) -> None:
    """Write ``data`` (a table, or a stream of record batches) as ``spec`` says, atomically
    (see :class:`Format`). A stream reaches the format as a stream only if it takes one."""
    fmt = spec.format.lower()
    where = Location.of(fmt, connection, spec.target)
    found = formats.get(fmt)
    if found is None or not found.writes:
        raise NodeError(f"no installed format writes '{fmt}'", step="write")
    _require_capability(found, connection, "write")
    try:
        if not found.takes_batches(spec):
            data = whole(data)
        found.write(data, where, spec)
    except NodeError as exc:
        exc.step = exc.step or "write"
        raise
    except Exception as exc:
        raise NodeError(
            f"cannot write {where.label}: {_first_line(exc)}",
            step="write",
            retryable=transient(exc),
        ) from exc


def stored_hash(
    formats: Mapping[str, Format], spec: WriteConfig, connection: Connection
) -> str | None:
    """The content hash kept with the last write of ``spec``'s target (``skip_if_unchanged``),
    or None: not written yet, written without one, or a format that keeps none."""
    fmt = spec.format.lower()
    found = formats.get(fmt)
    keeper = getattr(found, "stored_hash", None)
    if keeper is None:
        return None
    where = Location.of(fmt, connection, spec.target)
    try:
        return keeper(where)  # type: ignore[no-any-return]
    except Exception as exc:
        raise NodeError(
            f"cannot read the history of {where.label}: {_first_line(exc)}",
            step="write",
            retryable=transient(exc),
        ) from exc


def _require_capability(fmt: Format, connection: Connection, step: str) -> None:
    """A file format on a database connection (or the other way round) is a config mistake."""
    if fmt.stores != connection.stores:
        hint = "format: sql" if connection.stores == "tables" else "a file format (csv, parquet …)"
        raise NodeError(
            f"format '{fmt.name}' {step}s {fmt.stores}, but connection '{connection.name}' "
            f"({connection.type_name}) holds {connection.stores}: use {hint}",
            step=step,
        )


def _first_line(exc: BaseException) -> str:
    return first_line(exc) or type(exc).__name__
