"""Serve from the S3 store: read the pointer, fetch a version into the local cache, verify it.

A worker never reads Parquet over the network: it downloads a version once into the cache
folder (KAPIKO_CACHE_DIR, default data/cache) and loads it from there like a local version.
A download goes to a temporary folder, is checked against its manifest (every file it lists,
by sha256, then contract.read_manifest) and renamed into place whole, so the cache never holds
half a version. The workers of a host share the cache and take turns: one downloads a version
while the others wait for it, then find it there (as does a restarted worker). The KEEP_CACHED
most recently used versions are kept.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from pathlib import Path

from contract import VERSIONS_DIR, CuratedDatasetError, read_manifest
from contract.bucket import BucketStore
from contract.readonly import remove_tree, seal
from contract.store import POINTER, STORE_ENV, StoreError
from service.reload import Source

LOG = logging.getLogger("service")
KEEP_CACHED = 3  # versions kept in the cache: the live one and those a rollback goes back to


def s3_source(store: BucketStore, cache_dir: Path) -> Source:
    """The Source of a bucket: current.json names the version, the cache holds its files."""

    def pointer() -> str:
        found = store.pointer()
        if found is None:
            raise StoreError(
                f"nothing is published at {store.url()} (no {POINTER}): run `make ingest` "
                f"with {STORE_ENV}={store.url()}"
            )
        return found.version

    def fallbacks() -> list[Path]:
        """The versions this host has in its cache, most recently used first."""
        if not cache_dir.is_dir():
            return []
        kept = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(kept, key=lambda p: p.stat().st_mtime, reverse=True)

    return Source(
        store.url(), pointer, lambda version: cached(store, version, cache_dir), fallbacks
    )


def cached(store: BucketStore, version: str, cache_dir: Path) -> Path:
    """The folder of `version` in the cache, downloaded and verified first if it is not there.

    The workers of a host take turns (a lock file), so a version is downloaded once per host.
    """
    final = cache_dir / version
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held by one worker's reload thread; requests go on
        if final.is_dir():
            try:
                read_manifest(final)
                os.utime(final)  # recently used: kept by prune_cache
                return final
            except CuratedDatasetError as error:
                LOG.warning("cached copy %s is unusable (%s); fetching it again", final, error)
                remove_tree(final)
        fetch_into(store, version, final)
        prune_cache(cache_dir, final)
    return final


def fetch_into(store: BucketStore, version: str, final: Path) -> None:
    """Download a version beside `final`, verify it, and rename it into place whole."""
    staging = Path(tempfile.mkdtemp(prefix=f".download-{version}-", dir=final.parent))
    started = time.monotonic()
    try:
        store.download(version, staging)
        read_manifest(staging)
        seal(staging)  # checked: from now on nothing changes it
        os.rename(staging, final)
        took = time.monotonic() - started
        LOG.info("fetched %s into %s in %.2f s", store.url(VERSIONS_DIR, version), final, took)
    except OSError as error:
        raise StoreError(f"cannot write {version} into the cache {final.parent}: {error}") from None
    finally:
        remove_tree(staging)


def prune_cache(cache_dir: Path, keep: Path) -> None:
    """Delete all but the KEEP_CACHED most recently used versions, and abandoned downloads.

    Called with the cache's lock held, so a download folder left here is a dead worker's.
    """
    versions = []
    for path in cache_dir.iterdir():
        if path.name.startswith(".download-"):
            remove_tree(path)
        elif path.is_dir() and not path.name.startswith("."):
            versions.append((path.stat().st_mtime, path))
    for _, path in sorted(versions, reverse=True)[KEEP_CACHED:]:
        if path != keep:
            remove_tree(path)
