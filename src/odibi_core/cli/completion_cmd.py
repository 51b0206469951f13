"""``odibi completion bash|zsh``: a shell completion script, written from the parser itself
(commands, actions, options and their fixed values, plugins' commands included), so it needs
no extra library and completes without starting Python.

Install: ``odibi completion bash > ~/.local/share/bash-completion/completions/odibi``, or
``eval "$(odibi completion zsh)"`` in ``~/.zshrc``. Write it again after installing a plugin
that adds commands."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("completion", help="print a shell completion script (bash or zsh)")
    p.add_argument("shell", choices=["bash", "zsh"])
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from odibi_core.cli.main import build_parser

    parser = build_parser(None, with_plugins=True)
    print(script(parser, args.shell), end="")
    return 0


def words(parser: argparse.ArgumentParser, path: str = "") -> dict[str, tuple[list[str], bool]]:
    """Command path (``"catalog runs"``) → (the words that may follow, whether a file may)."""
    found: dict[str, tuple[list[str], bool]] = {}
    nexts: list[str] = []
    files = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                nexts.append(name)
                found.update(words(child, f"{path} {name}".strip()))
        elif action.option_strings:
            if action.help != argparse.SUPPRESS:
                nexts.extend(o for o in action.option_strings if o.startswith("--"))
            if action.choices:
                for option in action.option_strings:
                    found[f"{path} {option}".strip()] = (sorted(map(str, action.choices)), False)
        elif action.choices:
            nexts.extend(map(str, action.choices))
        else:
            files = True
    found[path] = (nexts, files)
    return found


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    table = words(parser)
    lines = []
    for path, (nexts, files) in sorted(table.items()):
        key = path.replace(" ", "_") or "_"
        lines.append(f"    [{key}]={_quote(' '.join(nexts))}")
        if files:
            lines.append(f"    [{key}_files]=1")
    body = _BASH.replace("@TABLE@", "\n".join(lines))
    if shell == "zsh":
        body = "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


_BASH = """\
# odibi shell completion (written by 'odibi completion')
declare -gA _odibi_words=(
@TABLE@
)

_odibi() {
    local cur="${COMP_WORDS[COMP_CWORD]}" path="" key i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        key="${path}_${w}"; key="${key#_}"
        [[ -n "${_odibi_words[$key]+set}" && "$w" != -* ]] && path="$key"
    done
    # The values of an option just typed (--format table|json ...).
    local prev="${COMP_WORDS[COMP_CWORD-1]}"
    key="${path}_${prev}"; key="${key#_}"
    if [[ "$prev" == -* && -n "${_odibi_words[$key]+set}" ]]; then
        COMPREPLY=($(compgen -W "${_odibi_words[$key]}" -- "$cur"))
        return
    fi
    key="${path:-_}"
    COMPREPLY=($(compgen -W "${_odibi_words[$key]}" -- "$cur"))
    if [[ -n "${_odibi_words[${key}_files]+set}" && "$cur" != -* ]]; then
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _odibi odibi
"""
