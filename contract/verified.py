"""Verify a dataset folder's checksums once per host, not once per worker.

Hashing every file of a version costs about 0.6 s a worker at a million tracks (1 GB of arrays
and texts), and every worker of every restart would pay it again. After a full check against the
manifest, the checker leaves a stamp in the folder: the manifest's sha256 and, per file, its
size, modification time and inode. A later check whose files still have exactly those (and the
same manifest) skips the hashing. Replacing a file gives it a new inode and rewriting it a new
modification time, so the full check runs again; what is not caught is a copy onto the same file
that keeps its size and sets the old time back (`cp -p`, `touch -r`): delete the stamp after one
(docs/data-dictionary.md says so). File systems keep modification times to a few milliseconds,
so a file changed in the same tick as its last write could keep its time: no stamp is left while
any file is younger than SETTLED_S seconds. Writing the stamp is best effort (a read-only
folder just means hashing every time).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

STAMP = ".verified.json"
SETTLED_S = 2.0  # files at least this old cannot change and keep their modification time


def signature(directory: Path, names: list[str]) -> dict[str, object]:
    """What the stamp records: the manifest's sha256 and each file's (size, mtime_ns, inode)."""
    manifest = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
    files = {}
    for name in names:
        stat = (directory / name).stat()
        files[name] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    return {"manifest": manifest, "files": files}


def already_verified(directory: Path, names: list[str]) -> bool:
    """Whether the folder's stamp matches its files as they are now."""
    try:
        stamp = json.loads((directory / STAMP).read_text())
        return bool(stamp == signature(directory, names))
    except (OSError, ValueError):
        return False


def mark_verified(directory: Path, names: list[str]) -> None:
    """Leave the stamp after a full check (atomically), unless a file is too recent to trust its
    time, or the folder is read-only."""
    temporary = directory / f".{STAMP}.{os.getpid()}"
    try:
        recent = time.time() - SETTLED_S
        if any((directory / name).stat().st_mtime > recent for name in names):
            return
        temporary.write_text(json.dumps(signature(directory, names)))
        os.replace(temporary, directory / STAMP)
    except OSError:
        temporary.unlink(missing_ok=True)
