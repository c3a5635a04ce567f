"""Cache files kept beside an index folder: where each lives, and how it is replaced whole.

Two caches use this: the last builds' embeddings (index/embedcache.py) and the lexical table
(qa/answering/lexical.py). Both are caches, not data: a write that fails is one warning and
leaves the old file as it was, never an error.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


def beside(index_dir: Path, name: str) -> Path:
    """`.<index folder's name>.<name>` in the index folder's parent: beside the index, not inside it."""
    index_dir = Path(index_dir)
    return index_dir.with_name(f".{index_dir.name}.{name}")


def keep(path: Path, write: Callable[[BinaryIO], None], what: str) -> None:
    """Replace `path` whole with what `write` writes (a temporary file beside it, renamed into
    place, so processes writing at once cannot tear it); a failure is one warning naming `what`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("cannot keep the %s %s: %s", what, path, exc.strerror or exc)
