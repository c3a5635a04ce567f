"""Replace a text file staff keep (the programme text, the id ledger, drafts) whole or not at all.

The text goes to a temporary file beside the target, is flushed to disk, and is renamed over
it, so a reader sees the old file or the new one, never half of one. The new file keeps the
old one's permissions (or gets the usual ones for a new file, 0666 less the umask: a service
running as another user can still read it), and a symbolic link is written through, not
replaced by a file. A failure is one `CannotWrite` with a message for a person: no temporary
file names, no errno.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class CannotWrite(Exception):
    """The file could not be written; the message says which and why. Nothing was changed."""


def write_text_atomically(path: str | Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8), whole or not at all.

    Raises:
        CannotWrite: the path is empty or a folder, its folder is missing, or the write failed.
    """
    shown = Path(path)
    if not str(path).strip():
        raise CannotWrite("cannot write '': give the path of a file")
    target = shown.resolve() if shown.is_symlink() else shown
    if target.is_dir():
        raise CannotWrite(f"cannot write {shown}: it is a folder; give the path of a file")
    if not target.parent.is_dir():
        raise CannotWrite(f"cannot write {shown}: no folder {target.parent}")
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise CannotWrite(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise CannotWrite(f"cannot write {shown}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CannotWrite(f"cannot write {shown}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask
