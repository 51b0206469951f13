"""Local output files: how engines replace them without leaving half a write behind."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path


def replace_path(tmp: Path, target: Path) -> None:
    """Put ``tmp`` (a file or a folder written beside ``target``) in ``target``'s place, so a
    failed write never leaves half an output behind; a folder is swapped with two renames."""
    if tmp.is_dir():
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    else:
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(tmp, target)
