"""Mutual exclusion for catalog maintenance.

Two concurrent OPTIMIZE commits over the same files must not both succeed, or every row in
those files is duplicated; deltalake 1.6 was seen committing both (tests/e2e/
test_concurrency.py found it), so maintenance of a table runs under a lock. Appends need no
lock: Delta resolves concurrent blind appends itself.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def maintenance_lock(
    base_uri: str, table: str, is_local: bool, wait_seconds: float = 0.0
) -> Iterator[bool]:
    """Yield True while holding the table's maintenance lock, False if it is not available.

    Local catalogs use an advisory file lock beside the tables. Remote catalogs have no lock
    yet, so automatic maintenance is skipped there (False) and only explicit
    ``odibi catalog optimize`` runs, which the caller then does at its own risk.
    """
    if not is_local:
        yield False
        return
    import fcntl

    folder = Path(base_uri) / "_locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{table}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
