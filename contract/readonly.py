"""Published folders are read-only: sealed once verified, unsealed only to be deleted.

A version folder (and a serving-cache entry) is never changed after it was checked, so its files
are made 0444 and its folders 0555: a stray `cp` or editor fails instead of changing what a
worker maps. (Root can still write; the stamps' status-change times catch that: verified.py.)
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

FILE_MODE, FOLDER_MODE = 0o444, 0o555


def seal(folder: Path) -> None:
    """Make every file under folder read-only for everyone, and every folder, itself last."""
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            os.chmod(Path(root) / name, FILE_MODE)
        for name in folders:
            os.chmod(Path(root) / name, FOLDER_MODE)
    os.chmod(folder, FOLDER_MODE)


def remove_tree(folder: Path) -> None:
    """Delete a folder, sealed or not (a sealed folder's entries cannot be unlinked by its owner
    until the folder is writable again); a folder already gone is fine."""
    if not folder.exists():
        return
    for root, folders, _ in os.walk(folder):
        os.chmod(root, os.stat(root).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        for name in folders:
            path = Path(root) / name
            os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR | stat.S_IXUSR)
    shutil.rmtree(folder, ignore_errors=True)
