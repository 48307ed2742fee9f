"""The log of published versions, history.json beside them, that `make rollback` steps through.

    {"versions": [{"version", "created_at", "tracks", "published_at", "pruned_at"}, ...],
     "live": [<version>, ...]}

`versions` lists every version in the order it was published (or found in the store). `live`
lists the versions that have been current, oldest first, without those rolled away from: its
last entry is `current`, and `make rollback` makes the one before it current. A rolled-away
version comes back only when asked for by name. The log is rewritten whole. It is read and
written through the store (contract/store.py), so a folder and a bucket keep it alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import contract as c
from contract.store import HISTORY, StoreError, VersionStore
from pipeline.errors import PublishError

History = dict[str, Any]


def load(store: VersionStore) -> History:
    """The history, brought in line with the versions in the store and its pointer."""
    try:
        pointer = store.pointer()
        versions = store.versions()
        text = store.read_text(HISTORY)
    except StoreError as error:
        raise PublishError(str(error)) from None
    try:
        history: History = json.loads(text) if text else {"versions": [], "live": []}
    except ValueError as error:
        raise PublishError(
            f"{store.url(HISTORY)} is unreadable ({error}): fix it, or delete it to rebuild it "
            "from the versions kept"
        ) from None
    if not versions and pointer is None:  # nothing published, or `make clean` since
        return {"versions": [], "live": []}
    complete = [name for name, done in versions.items() if done]
    current = pointer.version if pointer else None
    return reconcile(history, complete, current, lambda name: _describe(store, name))


def reconcile(
    history: History,
    present: list[str],
    current: str | None,
    describe: Callable[[str], dict[str, Any]],
) -> History:
    """Add the versions present but not logged (described by `describe`) and the live pointer.

    Wherever the versions are kept (a folder, a bucket), the history follows them: a version
    found there without an entry gets one (found together, in the order they were created),
    and `current` ends the live path.
    """
    first_time = not history["versions"]
    found = [describe(name) for name in present if entry(history, name) is None]
    found.sort(key=lambda item: (str(item.get("created_at") or ""), item["version"]))
    created = {item["version"]: str(item.get("created_at") or "") for item in found}
    for item in found:
        history["versions"].append(item)
        if (
            first_time
            and current is not None
            and created[item["version"]] <= created.get(current, "")
        ):
            history["live"].append(item["version"])
    if current is not None and current in history["live"]:
        history["live"] = history["live"][: history["live"].index(current) + 1]
    elif current is not None:
        history["live"].append(current)
    return history


def save(store: VersionStore, history: History) -> None:
    """Write the history whole: a reader sees the old log or the new one, never half."""
    try:
        store.write_text(HISTORY, json.dumps(history, indent=2) + "\n")
    except (OSError, StoreError) as error:
        raise PublishError(f"cannot write {store.url(HISTORY)}: {error}") from None


def record_publish(history: History, manifest: dict[str, Any], fresh_start: bool) -> None:
    """Log a published version as current; with no live dataset before, start afresh. A
    version published again (its data came back) moves to the end of the rollback path, so a
    rollback returns to the version it replaced, and a pruned one is logged as present again."""
    name = manifest["version"]
    found = entry(history, name)
    if found is None:
        history["versions"].append(described(name, manifest, published_at=now()))
    else:
        found.update(pruned_at=None, published_at=now())
    before = [] if fresh_start else [version for version in history["live"] if version != name]
    history["live"] = [*before, name]


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


def present(store: VersionStore) -> set[str]:
    """The names of the complete versions in the store."""
    try:
        return {name for name, complete in store.versions().items() if complete}
    except StoreError as error:
        raise PublishError(str(error)) from None


def _describe(store: VersionStore, version: str) -> dict[str, Any]:
    try:
        manifest = store.manifest(version)
    except StoreError:
        manifest = {}
    return described(version, manifest, None)


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
