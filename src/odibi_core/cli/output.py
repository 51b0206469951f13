"""Tables on the terminal: rich when interactive, plain aligned text in logs and pipes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

STATUS_STYLE = {
    "SUCCESS": "green",
    "FAILURE": "red",
    "SKIPPED": "yellow",
    "RUNNING": "cyan",
    "PENDING": "dim",
}


def is_terminal() -> bool:
    return sys.stdout.isatty()


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    rich: bool | None = None,
) -> None:
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    if rich if rich is not None else is_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for col in header:
            table.add_column(col, overflow="fold")
        for row in cells:
            table.add_row(*(f"[{STATUS_STYLE[v]}]{v}[/]" if v in STATUS_STYLE else v for v in row))
        Console(soft_wrap=True).print(table)
        return
    widths = [max(len(x) for x in col) for col in zip(header, *cells, strict=True)]
    for row in [list(header), *cells]:
        print("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
