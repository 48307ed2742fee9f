"""Verify a folder's checksums once per host, not once per worker: a stamp beside it.

Hashing every file of a version or a serving-cache entry costs time at every start of every
worker; after a full check against the folder's listing (a version's manifest.json, a cache
entry's cache.json), the checker leaves a stamp in `.stamps/<folder>.json` beside the folder
(never inside it: published folders are read-only): the listing's sha256 and, per file, its
size, modification time, status-change time and inode. A later check whose files still have
exactly those skips the hashing. Replacing a file gives it a new inode; rewriting it, or
copying onto it and setting the old modification time back (`cp -p`, `touch -r`), gives it a
new status-change time (ctime), which no user can set: the full check runs again. File systems
keep times to a few milliseconds, so a file changed in the same tick as its last write could keep
them: no stamp is left while any file is younger than SETTLED_S seconds. Writing the stamp is
best effort (a read-only place just means hashing every time).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

STAMPS = ".stamps"
SETTLED_S = 2.0  # files at least this old cannot change and keep their times


def stamp_path(directory: Path) -> Path:
    """Where a folder's stamp is kept: .stamps/<folder name>.json beside it."""
    return directory.parent / STAMPS / f"{directory.name}.json"


def signature(directory: Path, names: list[str], listing: str) -> dict[str, object]:
    """What the stamp records: the listing's sha256 and each file's (size, mtime, ctime, inode)."""
    listed = hashlib.sha256((directory / listing).read_bytes()).hexdigest()
    files = {}
    for name in names:
        stat = (directory / name).stat()
        files[name] = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    return {"listing": listed, "files": files}


def already_verified(directory: Path, names: list[str], listing: str = "manifest.json") -> bool:
    """Whether the folder's stamp matches its files as they are now."""
    try:
        stamp = json.loads(stamp_path(directory).read_text())
        return bool(stamp == signature(directory, names, listing))
    except (OSError, ValueError):
        return False


def mark_verified(directory: Path, names: list[str], listing: str = "manifest.json") -> None:
    """Leave the stamp after a full check (atomically), unless a file is too recent to trust its
    times, or the place is read-only."""
    path = stamp_path(directory)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        recent = time.time() - SETTLED_S
        if any((directory / name).stat().st_mtime > recent for name in names):
            return
        path.parent.mkdir(exist_ok=True)
        temporary.write_text(json.dumps(signature(directory, names, listing)))
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def forget(directory: Path) -> None:
    """Remove a folder's stamp (its folder is being deleted)."""
    stamp_path(directory).unlink(missing_ok=True)
