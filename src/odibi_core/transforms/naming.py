"""Built-in transforms that rename or reorder columns: add_prefix, add_suffix,
normalize_column_names and normalize_schema (Odibi's names and parameters). Imported when the
CLI starts, so nothing heavy is imported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, field_validator

from odibi_core.transforms._sql import _check_columns, _columns, _fail, _one_or_many, _Params
from odibi_core.transforms.registry import TransformContext, transform


def _renamed(ctx: TransformContext, df: Any, step: str, rename: Callable[[str], str]) -> Any:
    """Every column under the name ``rename`` gives it; two columns may not end up alike."""
    q = ctx.quote
    have = _columns(ctx, df)
    new = [rename(c) for c in have]
    clashes = sorted({n for n in new if new.count(n) > 1})
    if clashes:
        raise _fail(ctx, step, f"renaming would give duplicate column(s) {clashes}")
    empty = [old for old, n in zip(have, new, strict=True) if not n]
    if empty:
        raise _fail(ctx, step, f"column '{empty[0]}' would get an empty name")
    items = [
        q(old) if old == n else f"{q(old)} AS {q(n)}" for old, n in zip(have, new, strict=True)
    ]
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)


# ---------------------------------------------------------------- add_prefix / add_suffix


class _AffixParams(_Params):
    columns: list[str] | None = None
    exclude: list[str] | None = None

    @field_validator("columns", "exclude", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _one_or_many(value)


class AddPrefixParams(_AffixParams):
    prefix: str = Field(min_length=1)


class AddSuffixParams(_AffixParams):
    suffix: str = Field(min_length=1)


def _affix(
    ctx: TransformContext,
    df: Any,
    step: str,
    columns: list[str] | None,
    exclude: list[str] | None,
    affix: Callable[[str], str],
) -> Any:
    have = _columns(ctx, df)
    if columns:
        _check_columns(ctx, step, columns, have)
    chosen = set(columns or have) - set(exclude or [])
    return _renamed(ctx, df, step, lambda c: affix(c) if c in chosen else c)


@transform("add_prefix", params=AddPrefixParams)
def add_prefix(
    ctx: TransformContext,
    df: Any,
    prefix: str,
    columns: list[str] | None = None,
    exclude: list[str] | None = None,
) -> Any:
    """Put a prefix before column names (all, or the listed ones, minus exclude)."""
    return _affix(ctx, df, "add_prefix", columns, exclude, lambda c: prefix + c)


@transform("add_suffix", params=AddSuffixParams)
def add_suffix(
    ctx: TransformContext,
    df: Any,
    suffix: str,
    columns: list[str] | None = None,
    exclude: list[str] | None = None,
) -> Any:
    """Put a suffix after column names (all, or the listed ones, minus exclude)."""
    return _affix(ctx, df, "add_suffix", columns, exclude, lambda c: c + suffix)


# ---------------------------------------------------------------- normalize_column_names


class NormalizeColumnNamesParams(_Params):
    style: Literal["snake_case", "none"] = "snake_case"
    lowercase: bool = True
    remove_special: bool = True


def normalized_name(name: str, style: str, lowercase: bool, remove_special: bool) -> str:
    """Odibi's rules: lower-case; spaces, dashes and dots (and camelCase humps) to ``_``;
    then anything but letters, digits and ``_`` removed, runs of ``_`` squeezed."""
    if lowercase:
        name = name.lower()
    if style == "snake_case":
        name = re.sub(r"[\s\-.]+", "_", name)
        name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    if remove_special:
        name = re.sub(r"[^a-zA-Z0-9_]", "", name)
        name = re.sub(r"_+", "_", name).strip("_")
    return name


@transform("normalize_column_names", params=NormalizeColumnNamesParams)
def normalize_column_names(
    ctx: TransformContext,
    df: Any,
    style: str = "snake_case",
    lowercase: bool = True,
    remove_special: bool = True,
) -> Any:
    """Rename every column to snake_case (``First Name`` → ``first_name``)."""
    return _renamed(
        ctx,
        df,
        "normalize_column_names",
        lambda c: normalized_name(c, style, lowercase, remove_special),
    )


# ---------------------------------------------------------------- normalize_schema


class NormalizeSchemaParams(_Params):
    rename: dict[str, str] | None = Field(default_factory=dict)
    drop: list[str] | None = Field(default_factory=list)
    select_order: list[str] | None = None


@transform("normalize_schema", params=NormalizeSchemaParams)
def normalize_schema(
    ctx: TransformContext,
    df: Any,
    rename: dict[str, str] | None = None,
    drop: list[str] | None = None,
    select_order: list[str] | None = None,
) -> Any:
    """Rename, drop (names the data lacks are ignored) and, with select_order, keep only
    these columns in this order (new names)."""
    q = ctx.quote
    rename = rename or {}
    have = _columns(ctx, df)
    _check_columns(ctx, "normalize_schema", rename, have, "column to rename")
    kept = [c for c in have if c not in set(drop or [])]
    by_new = {rename.get(c, c): c for c in kept}
    if select_order is not None:
        _check_columns(ctx, "normalize_schema", select_order, list(by_new), "select_order column")
        names = list(dict.fromkeys(select_order))
    else:
        names = list(by_new)
    items = [q(by_new[n]) if by_new[n] == n else f"{q(by_new[n])} AS {q(n)}" for n in names]
    if not items:
        raise _fail(ctx, "normalize_schema", "no column would be left")
    return ctx.sql(f"SELECT {', '.join(items)} FROM df", df)
