"""Where each value of a loaded project came from (file, line, column), for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Mark:
    file: str
    line: int
    column: int


class SourceMap:
    """Positions of keys and items, keyed by the identity of their container.

    Keyed by container rather than by path so positions survive merging imports and
    environments: merged structures keep the original nested containers.
    """

    def __init__(self) -> None:
        self._marks: dict[int, tuple[Any, dict[Any, Mark]]] = {}
        self._self: dict[int, Mark] = {}

    def record(self, container: Any, key: Any, mark: Mark) -> None:
        entry = self._marks.setdefault(id(container), (container, {}))
        entry[1][key] = mark

    def record_container(self, container: Any, mark: Mark) -> None:
        self._self[id(container)] = mark
        self._marks.setdefault(id(container), (container, {}))

    def of(self, container: Any, key: Any = None) -> Mark | None:
        """The mark of ``container[key]`` (or of the container itself)."""
        if key is not None:
            entry = self._marks.get(id(container))
            return entry[1].get(key) if entry else None
        return self._self.get(id(container))

    def at_path(self, root: Any, path: tuple[Any, ...]) -> Mark | None:
        """The most precise mark along ``path`` from ``root``."""
        best = self._self.get(id(root))
        node = root
        for key in path:
            mark = self.of(node, key)
            if mark is not None:
                best = mark
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        return best

    def update(self, other: SourceMap) -> None:
        self._marks.update(other._marks)
        self._self.update(other._self)
