"""The log of published versions, data/curated/history.json, that `make rollback` steps through.

    {"versions": [{"version", "created_at", "tracks", "published_at", "pruned_at"}, ...],
     "live": [<version>, ...]}

`versions` lists every version in the order it was published (or found on disk). `live` lists
the versions that have been current, oldest first, without those rolled away from: its last
entry is `current`, and `make rollback` makes the one before it current. A rolled-away version
comes back only when asked for by name. The file is rewritten whole and swapped in by a rename.
The S3 store keeps the same log beside its versions (pipeline/bucket.py, publish_s3.py):
everything here but load and save works on either, given the versions present there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import contract as c
from pipeline.errors import PublishError

HISTORY = "history.json"
History = dict[str, Any]


def load(curated_dir: Path) -> History:
    """The history, brought in line with the folders on disk and the `current` link."""
    if not (curated_dir / c.VERSIONS_DIR).is_dir():  # nothing published, or `make clean` since
        return {"versions": [], "live": []}
    try:
        history: History = json.loads((curated_dir / HISTORY).read_text())
    except FileNotFoundError:
        history = {"versions": [], "live": []}
    except (OSError, ValueError) as error:
        raise PublishError(
            f"{curated_dir / HISTORY} is unreadable ({error}): fix it, or delete it to rebuild "
            "it from the version folders"
        ) from None
    folders = {folder.name: folder for folder in _folders(curated_dir)}
    return reconcile(
        history, list(folders), current_version(curated_dir), lambda name: _entry(folders[name])
    )


def reconcile(
    history: History,
    present: list[str],
    current: str | None,
    describe: Callable[[str], dict[str, Any]],
) -> History:
    """Add the versions present but not logged (described by `describe`) and the live pointer.

    Wherever the versions are kept (a folder, a bucket), the history follows them: a version
    found there without an entry gets one, and `current` ends the live path.
    """
    first_time = not history["versions"]
    for name in sorted(present):
        if entry(history, name) is None:
            history["versions"].append(describe(name))
            if first_time and current is not None and name <= current:
                history["live"].append(name)  # names start with a UTC timestamp
    if current is not None and current in history["live"]:
        history["live"] = history["live"][: history["live"].index(current) + 1]
    elif current is not None:
        history["live"].append(current)
    return history


def save(curated_dir: Path, history: History) -> None:
    """Write the history atomically: a reader sees the old file or the new one, never half."""
    temporary = curated_dir / f".{HISTORY}.tmp"
    temporary.write_text(json.dumps(history, indent=2) + "\n")
    os.replace(temporary, curated_dir / HISTORY)


def record_publish(history: History, version_dir: Path, fresh_start: bool) -> None:
    """Log a newly published version as current; with no live dataset before, start afresh."""
    if entry(history, version_dir.name) is None:
        history["versions"].append(_entry(version_dir, published_at=now()))
    history["live"] = [*([] if fresh_start else history["live"]), version_dir.name]


def rollback_target(
    history: History, present: Collection[str], version: str | None, where: str
) -> str:
    """The version a rollback makes current: the one before current, or `version`; else refuse."""
    if not history["live"]:
        raise PublishError("nothing is published yet: run `make ingest` first")
    current = history["live"][-1]
    if version is None and len(history["live"]) < 2:
        raise PublishError(
            f"nothing to roll back to: {current} is the oldest version still on the rollback "
            "path. `make versions` lists every version; `make rollback VERSION=<version>` "
            "brings back a rolled-away one"
        )
    target = version or history["live"][-2]
    if target == current:
        raise PublishError(f"version {target} is already current; nothing changed")
    found = entry(history, target)
    if found is None:
        raise PublishError(f"there is no version {target!r}: `make versions` lists them")
    if found.get("pruned_at"):
        raise PublishError(
            f"version {target} was pruned on {found['pruned_at']} (only the current version "
            "and the ones just before it are kept): `make versions` lists what is left"
        )
    if target not in present:
        raise PublishError(
            f"version {target} is gone from {where} (deleted outside the pipeline): "
            "`make versions` lists what is left"
        )
    return target


def record_rollback(history: History, target: str) -> None:
    """Make `target` current: back down the live path to it, or (if rolled away) onto it again."""
    live = history["live"]
    history["live"] = live[: live.index(target) + 1] if target in live else [*live, target]


def record_pruned(history: History, names: list[str]) -> None:
    """Mark versions as pruned, so rollbacks and listings say so."""
    for name in names:
        found = entry(history, name)
        if found is not None:
            found["pruned_at"] = now()


def states(history: History, present: Collection[str]) -> list[tuple[dict[str, Any], str]]:
    """Every version with its state: current, earlier, rolled back, pruned or missing."""
    live = history["live"]

    def state(item: dict[str, Any]) -> str:
        if item.get("pruned_at"):
            return "pruned"
        if item["version"] not in present:
            return "missing"
        if live and item["version"] == live[-1]:
            return "current"
        return "earlier" if item["version"] in live else "rolled back"

    return [(item, state(item)) for item in history["versions"]]


def entry(history: History, version: str) -> dict[str, Any] | None:
    """The history's entry for a version, or None."""
    return next((item for item in history["versions"] if item["version"] == version), None)


def current_version(curated_dir: Path) -> str | None:
    """The name of the version `current` points at, or None."""
    link = curated_dir / c.CURRENT_LINK
    return link.resolve().name if link.is_symlink() else None


def present(curated_dir: Path) -> set[str]:
    """The names of the version folders on disk."""
    versions = curated_dir / c.VERSIONS_DIR
    return {folder.name for folder in _folders(curated_dir)} if versions.is_dir() else set()


def _folders(curated_dir: Path) -> list[Path]:
    versions = curated_dir / c.VERSIONS_DIR
    return sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))


def _entry(folder: Path, published_at: str | None = None) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / c.MANIFEST).read_text())
    except (OSError, ValueError):
        manifest = {}
    return described(folder.name, manifest, published_at)


def described(version: str, manifest: dict[str, Any], published_at: str | None) -> dict[str, Any]:
    """A version's history entry, from its manifest ({} when unreadable)."""
    return {
        "version": version,
        "created_at": manifest.get("created_at"),
        "tracks": manifest.get("files", {}).get(c.TRACKS, {}).get("rows"),
        "published_at": published_at,
        "pruned_at": None,
    }


def now() -> str:
    return c.rfc3339(datetime.now(UTC))
