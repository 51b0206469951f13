"""``${...}`` substitution: ``${VAR}``, ``${env:VAR}``, ``${VAR:default}``, ``${vars.name}``,
``${date:expr[:fmt]}``."""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

_PATTERN = re.compile(r"\$\{([^}]+)\}")


class SubstitutionError(Exception):
    pass


def substitute(
    value: Any,
    variables: dict[str, Any],
    on_error: Callable[[Any, Any, str], None],
    container: Any = None,
    key: Any = None,
    templates: dict[str, str] | None = None,
    defaults: dict[str, str] | None = None,
) -> Any:
    """Replace placeholders in every string of ``value`` in place.

    ``on_error(container, key, message)`` reports a placeholder that cannot be resolved, so all of
    them are found in one pass. A string that is exactly one placeholder keeps the type of what it
    refers to (``batch: ${vars.size}`` stays an int). ``templates`` collects each substituted
    string → what was written, so definitions can be stored as the user wrote them;
    ``defaults`` each unset environment variable → the default its placeholder gave it.
    """
    if isinstance(value, dict):
        for k in list(value):
            value[k] = substitute(value[k], variables, on_error, value, k, templates, defaults)
        return value
    if isinstance(value, list):
        for i in range(len(value)):
            value[i] = substitute(value[i], variables, on_error, value, i, templates, defaults)
        return value
    if not isinstance(value, str) or "${" not in value:
        return value
    try:
        whole = _PATTERN.fullmatch(value)
        if whole:
            expr = whole.group(1).strip()
            resolved = _resolve(expr, variables, defaults)
            result = resolved if expr.startswith(("vars.", "date:")) else _typed(resolved)
        else:
            result = _PATTERN.sub(
                lambda m: str(_resolve(m.group(1).strip(), variables, defaults)), value
            )
    except SubstitutionError as exc:
        on_error(container, key, str(exc))
        return value
    if templates is not None and isinstance(result, str):
        templates.setdefault(result, value)
    return result


def _typed(value: Any) -> Any:
    """An environment variable that is a whole value and a number becomes that number, as with
    Odibi's substitution in the raw YAML text (``threshold: ${LIMIT}``). Only canonical
    spellings: ``007`` stays the string it probably is."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                number = kind(value)
            except ValueError:
                continue
            if str(number) == value:
                return number
    return value


def _resolve(expr: str, variables: dict[str, Any], defaults: dict[str, str] | None = None) -> Any:
    if expr.startswith("vars."):
        node: Any = variables
        for part in expr[5:].split("."):
            if not isinstance(node, dict) or part not in node:
                raise SubstitutionError(f"unknown variable '${{{expr}}}' (not in vars:)")
            node = node[part]
        return node
    if expr.startswith("date:"):
        return _date(expr[5:])
    if expr.startswith("kv:"):
        # Not a variable 'kv' with a default: that would put the secret's name in its place.
        raise SubstitutionError(
            f"${{{expr}}}: Key Vault placeholders are not supported; give the value as "
            "${env:NAME}, or use a connection's key_vault auth"
        )
    name = expr[4:] if expr.startswith("env:") else expr
    # ``${NAME:default}`` (Odibi's documented fallback): everything after the first colon.
    name, has_default, default = name.partition(":")
    if name in os.environ:
        return os.environ[name]
    if has_default:
        if defaults is not None:
            defaults.setdefault(name, default)
        return default
    raise SubstitutionError(f"environment variable '{name}' is not set (used as ${{{expr}}})")


_OFFSET = re.compile(r"([+-]\d+)([dwmy])")


def _date(expr: str) -> str:
    spec, _, fmt = expr.partition(":")
    now = datetime.now(UTC)
    today = now.date()
    value: date | datetime
    if spec == "today":
        value = today
    elif spec == "yesterday":
        value = today - timedelta(days=1)
    elif spec == "now":
        value = now
    elif spec == "start_of_month":
        value = today.replace(day=1)
    elif spec == "end_of_month":
        nxt = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        value = nxt - timedelta(days=1)
    elif m := _OFFSET.fullmatch(spec):
        n, unit = int(m.group(1)), m.group(2)
        if unit in "dw":
            value = today + timedelta(days=n * (7 if unit == "w" else 1))
        else:
            months = n * (12 if unit == "y" else 1)
            y, mo = divmod(today.month - 1 + months, 12)
            last_day = calendar.monthrange(today.year + y, mo + 1)[1]
            value = today.replace(year=today.year + y, month=mo + 1, day=min(today.day, last_day))
    else:
        raise SubstitutionError(f"unknown date expression '${{date:{expr}}}'")
    if fmt:
        return value.strftime(fmt)
    return value.isoformat()
