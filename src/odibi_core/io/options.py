"""Which ``read``/``write`` options the file formats take, for ``odibi validate``.

The names come from the signatures of the functions the formats hand ``options`` to, so they
follow the installed pandas and pyarrow. Those libraries are imported only when a project
gives options and the names of their installed versions are not cached yet.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any, TypeGuard

from odibi_core.config.errors import did_you_mean

#: Where the engine passes a format's options: (module, function, the arguments its caller
#: fills in). Parquet goes to pyarrow (``read_table``; ``write_table`` and its
#: ``ParquetWriter``, or ``write_to_dataset`` and ``write_dataset`` when partitioned).
_TARGETS: dict[tuple[str, str], tuple[tuple[str, str, frozenset[str]], ...]] = {
    ("read", "csv"): (("pandas", "read_csv", frozenset({"filepath_or_buffer"})),),
    ("read", "json"): (("pandas", "read_json", frozenset({"path_or_buf"})),),
    ("read", "parquet"): (("pyarrow.parquet", "read_table", frozenset({"source"})),),
    ("read", "delta"): (),
    ("write", "csv"): (("pandas", "DataFrame.to_csv", frozenset({"path_or_buf"})),),
    ("write", "json"): (("pandas", "DataFrame.to_json", frozenset({"path_or_buf"})),),
    ("write", "parquet"): (
        ("pyarrow.parquet", "write_table", frozenset({"table", "where"})),
        ("pyarrow.parquet", "ParquetWriter.__init__", frozenset({"where", "schema"})),
        ("pyarrow.parquet", "write_to_dataset", frozenset({"table", "root_path"})),
        ("pyarrow.dataset", "write_dataset", frozenset({"data", "base_dir", "format"})),
    ),
    ("write", "delta"): (),
}

#: Arguments the formats pass themselves (``index=False``...): an option of the same name
#: would be given twice. Keep in step with ``csv.py``, ``json.py`` and ``parquet.py``.
_SET_BY_FORMAT: dict[tuple[str, str], frozenset[str]] = {
    ("write", "csv"): frozenset({"index"}),
    ("write", "json"): frozenset({"orient", "date_format"}),
    ("write", "parquet"): frozenset({"index", "partition_cols"}),
}

#: Options a reader takes that odibi cannot honour: it needs the whole frame at once.
_NOT_SUPPORTED: dict[tuple[str, str], frozenset[str]] = {
    ("read", "csv"): frozenset({"chunksize", "iterator"}),
    ("read", "json"): frozenset({"chunksize"}),
}

#: Spark's reader options that pandas has no use for. Odibi projects set them for Spark and run
#: the same file on pandas, where Odibi ignores them: so do we (they are not passed on).
SPARK_READER_OPTIONS = frozenset(
    {
        "inferSchema",
        "multiLine",
        "mode",
        "columnNameOfCorruptRecord",
        "dateFormat",
        "timestampFormat",
        "nullValue",
        "nanValue",
        "positiveInf",
        "negativeInf",
        "escape",
        "charToEscapeQuoteEscaping",
        "ignoreLeadingWhiteSpace",
        "ignoreTrailingWhiteSpace",
        "maxColumns",
        "maxCharsPerColumn",
        "unescapedQuoteHandling",
        "enforceSchema",
        "samplingRatio",
        "emptyValue",
        "locale",
        "lineSep",
        "pathGlobFilter",
        "recursiveFileLookup",
        "modifiedBefore",
        "modifiedAfter",
        "mergeSchema",
    }
)


def without_spark_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` less Spark's reader options, which the file formats ignore."""
    return {k: v for k, v in options.items() if k not in SPARK_READER_OPTIONS}


#: Options the formats use themselves instead of passing them on.
_OWN: dict[tuple[str, str], frozenset[str]] = {
    # Spark's spellings of time travel too (Odibi reads them on pandas).
    ("read", "delta"): frozenset({"version", "as_of_version", "versionAsOf", "timestampAsOf"}),
    **{("read", fmt): SPARK_READER_OPTIONS for fmt in ("csv", "json")},
    # pandas users write engine: pyarrow; it is what reads and writes parquet here anyway.
    ("read", "parquet"): SPARK_READER_OPTIONS | {"engine"},
    ("write", "parquet"): frozenset({"keys", "engine"}),
    **{("write", fmt): frozenset({"keys"}) for fmt in ("csv", "json", "delta")},
}

#: What the messages name as the taker of each format's options.
_TAKER = {
    ("read", "csv"): "pandas.read_csv",
    ("read", "json"): "pandas.read_json",
    ("read", "parquet"): "pyarrow.parquet.read_table",
    ("write", "csv"): "DataFrame.to_csv",
    ("write", "json"): "DataFrame.to_json",
    ("write", "parquet"): "the pyarrow parquet writers",
}


def option_problems(block: str, spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(option, message)`` for each option in ``spec`` (a raw ``read``/``write`` block)
    its format would not take; formats it does not know are not checked."""
    fmt = str(spec.get("format", "")).lower()
    options = spec.get("options")
    if (block, fmt) not in _TARGETS or not isinstance(options, Mapping):
        return []
    accepted = _names(block, fmt)
    set_by_format = _SET_BY_FORMAT.get((block, fmt), frozenset())
    problems = []
    for name in options:
        key = str(name)
        if key in _NOT_SUPPORTED.get((block, fmt), ()):
            problems.append((key, f"'{key}' is not supported: odibi reads whole files"))
        elif key in set_by_format:
            problems.append((key, f"'{key}' is set by odibi itself"))
        elif key not in accepted:
            taker = _TAKER.get((block, fmt))
            message = (
                f"'{key}' is not an option of {taker}"
                if taker
                else f"'{key}' is not an option of {fmt} {block}s "
                f"(it takes: {', '.join(sorted(accepted))})"
            )
            problems.append((key, message + did_you_mean(key, accepted)))
    return problems


@cache
def _names(block: str, fmt: str) -> frozenset[str]:
    """The option names a format takes: the engine's own, and its readers' or writers'."""
    signatures = _signatures()
    accepted = set(_OWN.get((block, fmt), ()))
    for module, name, filled in _TARGETS[block, fmt]:
        accepted |= set(signatures[f"{module}:{name}"]) - filled
    return frozenset(accepted - _SET_BY_FORMAT.get((block, fmt), frozenset()))


def _signatures() -> dict[str, list[str]]:
    """The keyword names of every function in ``_TARGETS``. Importing pandas and pyarrow
    costs more than the rest of ``odibi validate``, so the names are kept in the user's cache
    folder, one file per pair of installed versions."""
    wanted = {f"{module}:{name}" for targets in _TARGETS.values() for module, name, _ in targets}
    path = _cache_file()
    try:
        kept = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        kept = None
    if _well_formed(kept, wanted):
        return kept
    found = {target: _keywords(*target.split(":")) for target in sorted(wanted)}
    if path:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(found), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: work them out every time
    return found


def _well_formed(kept: Any, wanted: set[str]) -> TypeGuard[dict[str, list[str]]]:
    return (
        isinstance(kept, dict)
        and set(kept) >= wanted
        and all(isinstance(v, list) and all(isinstance(n, str) for n in v) for v in kept.values())
    )


def _keywords(module: str, name: str) -> list[str]:
    target: Any = import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    params = inspect.signature(target).parameters.values()
    return sorted(p.name for p in params if p.kind in _NAMED and p.name != "self")


def _cache_file() -> Path | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        versions = f"pandas-{version('pandas')}-pyarrow-{version('pyarrow')}"
    except PackageNotFoundError:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "odibi" / f"options-{versions}.json"


_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
