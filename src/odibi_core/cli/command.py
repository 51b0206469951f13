"""What a plugin's ``odibi`` subcommand is (``odibi_register_commands``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command without options of its own."""


@dataclass(frozen=True)
class Command:
    """``odibi NAME ...``: ``add_arguments(parser)`` declares its options on an argparse
    parser; ``run(args)`` does the work and returns the exit code. User errors raised as
    :class:`~odibi_core.errors.OdibiError` are printed as one line like every command's."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments
    description: str = ""
