"""The ``odibi`` command: argument parsing and the one place user errors are printed."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from odibi_core import __version__
from odibi_core.cli import (
    catalog_cmd,
    completion_cmd,
    doctor_cmd,
    explain_cmd,
    graph_cmd,
    init_cmd,
    lineage_cmd,
    list_cmd,
    logs,
    plugins_cmd,
    run_cmd,
    schema_cmd,
    story_cmd,
    templates_cmd,
    validate_cmd,
)
from odibi_core.errors import OdibiError

COMMANDS = (
    run_cmd,
    validate_cmd,
    graph_cmd,
    story_cmd,
    catalog_cmd,
    lineage_cmd,
    plugins_cmd,
    init_cmd,
    templates_cmd,
    list_cmd,
    explain_cmd,
    doctor_cmd,
    schema_cmd,
    completion_cmd,
)
log = logging.getLogger("odibi.cli")


def build_parser(
    argv: Sequence[str] | None = None, with_plugins: bool = False
) -> argparse.ArgumentParser:
    """The parser for ``argv``. Plugins are loaded only when ``argv`` names a command that
    needs them (``catalog``, whose actions include plugins' tables) or a command that is not
    built in (a plugin's), so ``odibi --help`` and ``odibi validate`` start fast;
    ``with_plugins`` loads them anyway (shell completion lists everything)."""
    word = command_word(argv or [])
    parser = argparse.ArgumentParser(
        prog="odibi",
        description="Declarative data pipelines with a Delta Lake System Catalog.",
        epilog="Plugins may add commands: 'odibi plugins' lists them.",
    )
    parser.add_argument("--version", action="version", version=f"odibi {__version__}")
    _add_verbose(parser, "verbose", 0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    registry = _registry(argv or []) if word == "catalog" or with_plugins else None
    for command in COMMANDS:
        if command is catalog_cmd:
            catalog_cmd.add_parser(sub, registry)
        else:
            command.add_parser(sub)
    if with_plugins or (word is not None and word not in sub.choices):
        add_plugin_commands(sub, registry or _registry(argv or []))
    _verbose_everywhere(parser)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the top-level
    options take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _registry(argv: Sequence[str]) -> Any:
    """Installed plugins' registry, plus the project-local plugins of any project file the
    command line names (``odibi my-command odibi.yaml``)."""
    from pathlib import Path

    from odibi_core.plugin_manager import get_plugin_manager

    manager = get_plugin_manager()
    for arg in argv:
        if arg.endswith((".yaml", ".yml")) and Path(arg).is_file():
            manager.load_project_plugins(Path(arg).resolve().parent)
    return manager.registry


def add_plugin_commands(sub: Any, registry: Any) -> None:
    """Plugins' commands (``odibi_register_commands``) beside the built-in ones."""
    for name, command in registry.commands.items():
        if name in sub.choices:
            log.warning("plugin command '%s' is hidden by the built-in command of that name", name)
            continue
        p = sub.add_parser(name, help=command.help, description=command.description or None)
        command.add_arguments(p)
        p.set_defaults(handler=command.run)


def _add_verbose(parser: argparse.ArgumentParser, dest: str, default: object) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest=dest,
        default=default,
        help="show Odibi's debug logs and full tracebacks (-vv: every library's debug logs)",
    )


def _verbose_everywhere(parser: argparse.ArgumentParser) -> None:
    """``-v`` after any (sub)command too (``odibi run x.yaml -v``). Counted apart from the
    top-level one, which a subcommand's parser would otherwise reset."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # An alias (``odibi create`` for ``odibi init``) maps to the same parser.
            for child in {id(c): c for c in action.choices.values()}.values():
                _add_verbose(child, "verbose_after", argparse.SUPPRESS)
                _verbose_everywhere(child)


def _verbosity(args: argparse.Namespace) -> int:
    given = args.verbose + getattr(args, "verbose_after", 0)
    env = os.environ.get("ODIBI_VERBOSE", "").strip()
    return max(given, int(env) if env.isdigit() else 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
    except OdibiError as exc:  # a plugin that fails to load, before any option is read
        _error(str(exc))
        return exc.exit_code
    args = parser.parse_args(argv)
    verbosity = _verbosity(args)
    verbose = verbosity > 0
    logs.configure(verbosity)
    _scrub_logs()
    try:
        code: int = args.handler(args)
        return code
    except OdibiError as exc:
        if verbose:
            logging.exception("odibi failed")
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (``odibi ... | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug in odibi or a plugin: say so, briefly
        if verbose:
            from odibi_core.secrets import scrub_live

            print(scrub_live(traceback.format_exc()), file=sys.stderr, end="")
            return 1
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)")
        return 1


def _scrub_logs() -> None:
    """Every handler of the root logger scrubs the secrets of the projects loaded."""
    from odibi_core.secrets import ScrubbingFilter

    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())


def _error(message: str) -> None:
    from odibi_core.secrets import scrub_live

    lines = scrub_live(message).splitlines() or [""]
    print(f"odibi: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)


def entry() -> None:
    """The ``odibi`` console script: run :func:`main`, then leave without interpreter teardown.

    Native threads of deltalake/pyarrow still alive at teardown sometimes abort the process
    ("terminate called without an active exception", exit 134) after all the work was done and
    printed; everything worth keeping is flushed here first.
    """
    from odibi_core.cli import startup_gc

    startup_gc.own_process()
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
