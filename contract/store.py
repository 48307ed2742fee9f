"""Where versions are kept: one small interface, two implementations (a folder and an S3 bucket).

A store holds versions (each a folder of files under versions/<version>/, complete once its
manifest.json is there), a pointer naming the current one, and small text files beside them
(history.json). The pipeline publishes, rolls back and prunes through this interface alone
(pipeline/publish.py), and a replica follows the pointer through it (service/reload.py), so the
folder and the bucket cannot behave differently:

  data/curated/ (FolderStore)           s3://<bucket>/<prefix>/ (contract/bucket.py)
    versions/<version>/...                versions/<version>/...
    current -> versions/<version>         current.json  {"version": ..., "published_at": ...}
    history.json                          history.json

Moving the pointer is conditional: it names the pointer the caller read, and a pointer moved
meanwhile by another publish or rollback refuses the move (a folder's writers also hold
data/curated/.lock; a bucket's PUT carries If-Match). `KAPIKO_STORE=s3://...` selects the bucket.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import contract as c
from contract import verified
from contract.manifest import CuratedDatasetError, load_manifest, read_manifest
from contract.readonly import remove_tree, seal

STORE_ENV = "KAPIKO_STORE"
POINTER = "current.json"
HISTORY = "history.json"
# A version name is one path segment: the pointer must not lead a reader out of versions/.
VERSION_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")


class StoreError(CuratedDatasetError):
    """The store is misnamed, or cannot be read or written."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # the S3 error code, e.g. "PreconditionFailed", when there is one


class PointerMoved(StoreError):
    """The pointer is no longer the one the caller read: another writer moved it."""


@dataclass(frozen=True)
class Pointer:
    """The version the pointer names, and a tag the conditional move compares (an ETag, or the
    link's text)."""

    version: str
    tag: str


class VersionStore(Protocol):
    """What the pipeline and a replica need of the place versions are kept."""

    location: str  # a folder or an s3:// URL, for messages

    def url(self, *parts: str) -> str:
        """Where a path under the store is, for messages."""
        ...

    def pointer(self) -> Pointer | None:
        """The current version, or None when nothing is published."""
        ...

    def move_pointer(self, version: str, expected: Pointer | None) -> None:
        """Make `version` current if the pointer is still `expected`; else PointerMoved."""
        ...

    def versions(self) -> dict[str, bool]:
        """Every version kept, and whether it is complete (its manifest is there)."""
        ...

    def manifest(self, version: str) -> dict[str, Any]:
        """A version's manifest.json (StoreError if missing or unreadable)."""
        ...

    def staging_parent(self) -> Path | None:
        """Where a version to add should be written first (None: any temporary folder)."""
        ...

    def add_version(self, folder: Path) -> None:
        """Add a verified version folder (named after the version), checked once it is in."""
        ...

    def delete_version(self, version: str) -> None:
        """Delete every file of a version."""
        ...

    def check_version(self, version: str) -> None:
        """Verify a kept version against its manifest and the contract (CuratedDatasetError)."""
        ...

    def read_text(self, name: str) -> str | None:
        """A small file beside the versions (history.json), or None if there is none."""
        ...

    def write_text(self, name: str, text: str) -> None:
        """Replace a small file beside the versions whole."""
        ...

    def mark_previous(self, version: str | None) -> None:
        """Point `previous` at the version a rollback would bring back (folders only)."""
        ...


class FolderStore:
    """data/curated: versions/<v>/ folders, `current` and `previous` symlinks, history.json."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def url(self, *parts: str) -> str:
        return str(self.root.joinpath(*parts))

    def pointer(self) -> Pointer | None:
        link = self.root / c.CURRENT_LINK
        if not link.is_symlink():
            return None
        return Pointer(link.resolve().name, os.readlink(link))

    def move_pointer(self, version: str, expected: Pointer | None) -> None:
        if self.pointer() != expected:  # the caller holds data/curated/.lock: no race here
            raise PointerMoved(f"{self.root / c.CURRENT_LINK} changed while this command ran")
        _point(self.root / c.CURRENT_LINK, self.root / c.VERSIONS_DIR / version)

    def versions(self) -> dict[str, bool]:
        folder = self.root / c.VERSIONS_DIR
        if not folder.is_dir():
            return {}
        return {
            path.name: (path / c.MANIFEST).is_file()
            for path in sorted(folder.iterdir())
            if path.is_dir() and not path.name.startswith(".")
        }

    def manifest(self, version: str) -> dict[str, Any]:
        try:
            return load_manifest(self.root / c.VERSIONS_DIR / version)
        except CuratedDatasetError as error:
            raise StoreError(str(error)) from None

    def staging_parent(self) -> Path | None:
        return self.root / c.VERSIONS_DIR  # the same file system: the rename is atomic

    def add_version(self, folder: Path) -> None:
        final = self.root / c.VERSIONS_DIR / folder.name
        try:
            os.replace(folder, final)
            seal(final)  # verified: from now on nothing changes it
        except OSError as error:
            raise StoreError(f"could not move the new version into {final}: {error}") from None

    def delete_version(self, version: str) -> None:
        folder = self.root / c.VERSIONS_DIR / version
        remove_tree(folder)
        verified.forget(folder)

    def check_version(self, version: str) -> None:
        read_manifest(self.root / c.VERSIONS_DIR / version)

    def read_text(self, name: str) -> str | None:
        try:
            return (self.root / name).read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"cannot read {self.root / name}: {error}") from None

    def write_text(self, name: str, text: str) -> None:
        temporary = self.root / f".{name}.tmp"
        temporary.write_text(text)
        os.replace(temporary, self.root / name)  # a reader sees the old file or the new one

    def mark_previous(self, version: str | None) -> None:
        link = self.root / c.PREVIOUS_LINK
        target = self.root / c.VERSIONS_DIR / version if version else None
        if target is not None and target.is_dir():
            _point(link, target)
        else:
            link.unlink(missing_ok=True)


def _point(link: Path, target: Path) -> None:
    """Make `link` a relative symlink to `target`, replacing any old link in one rename."""
    temporary = link.with_name(f".{link.name}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)


def open_store(location: str, curated_dir: Path) -> VersionStore:
    """The store a KAPIKO_STORE value names: empty is the folder `curated_dir`."""
    from contract.bucket import parse_bucket

    bucket = parse_bucket(location)
    return FolderStore(curated_dir) if bucket is None else bucket


def store_from_env(curated_dir: Path) -> VersionStore:
    """The store $KAPIKO_STORE names, or the folder `curated_dir`."""
    return open_store(os.environ.get(STORE_ENV, ""), curated_dir)
