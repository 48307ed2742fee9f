"""Write a curated dataset aside, verify it, and swap it in atomically; roll back on request.

data/curated/
  versions/<version>/   one folder per published dataset (Parquet files, manifest.json, data_docs/)
  current  -> versions/<version>   the live dataset, replaced by one atomic rename
  previous -> versions/<version>   the one before, for `make rollback`
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from pipeline.errors import PublishError

KEEP_VERSIONS = 3


def write_dataset(
    tables: Mapping[str, pl.DataFrame], directory: Path, manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write the contract's tables and a manifest listing their checksums into `directory`."""
    missing = sorted(set(c.CURATED_SCHEMAS) - set(tables))
    if missing:
        raise PublishError(f"cannot write a dataset without {missing}")
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in c.CURATED_SCHEMAS:
        path = directory / name
        tables[name].write_parquet(path, compression="zstd", statistics=True)
        files[name] = {
            "sha256": c.file_sha256(path),
            "rows": tables[name].height,
            "bytes": path.stat().st_size,
        }
    manifest = {**manifest, "schema_version": c.SCHEMA_VERSION, "files": files}
    (directory / c.MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    try:
        c.read_manifest(directory)
    except c.CuratedDatasetError as error:
        raise PublishError(
            f"the dataset written to {directory} does not check out: {error}"
        ) from None
    return manifest


def current_manifest(curated_dir: Path) -> dict[str, Any] | None:
    """The live dataset's manifest, or None when nothing has been published (or it is broken)."""
    try:
        return c.read_manifest(curated_dir / c.CURRENT_LINK)
    except c.CuratedDatasetError:
        return None


def publish(
    tables: Mapping[str, pl.DataFrame],
    curated_dir: Path,
    manifest: dict[str, Any],
    extra: Path | None = None,
) -> Path:
    """Write a new version aside, then make it `current` in one rename; keep the old as `previous`.

    `extra`, if given, is a folder copied into the version first (the run's data-quality docs).
    """
    version = manifest["version"]
    versions = curated_dir / c.VERSIONS_DIR
    staging = versions / f".staging-{version}"
    final = versions / version
    if final.exists():
        raise PublishError(f"version {version} already exists in {versions}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        if extra is not None and extra.is_dir():
            shutil.copytree(extra, staging / extra.name)
        write_dataset(tables, staging, manifest)
        os.replace(staging, final)
    except PublishError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(f"could not write the new dataset under {versions}: {error}") from None
    old = _link_target(curated_dir / c.CURRENT_LINK)
    _point(curated_dir / c.CURRENT_LINK, final)
    if old is not None and old != final:
        _point(curated_dir / c.PREVIOUS_LINK, old)
    prune_versions(curated_dir)
    return final


def rollback(curated_dir: Path) -> Path:
    """Swap `current` and `previous`; return the folder that is live now."""
    current = _link_target(curated_dir / c.CURRENT_LINK)
    previous = _link_target(curated_dir / c.PREVIOUS_LINK)
    if previous is None or not previous.is_dir():
        raise PublishError(
            f"nothing to roll back to: {curated_dir / c.PREVIOUS_LINK} does not exist"
        )
    try:
        c.read_manifest(previous)
    except c.CuratedDatasetError as error:
        raise PublishError(f"the previous dataset is unusable, not rolling back: {error}") from None
    _point(curated_dir / c.CURRENT_LINK, previous)
    if current is not None:
        _point(curated_dir / c.PREVIOUS_LINK, current)
    return previous


def prune_versions(curated_dir: Path, keep: int = KEEP_VERSIONS) -> list[Path]:
    """Delete old versions beyond the newest `keep`, never the current or previous one."""
    versions = curated_dir / c.VERSIONS_DIR
    linked = {_link_target(curated_dir / name) for name in (c.CURRENT_LINK, c.PREVIOUS_LINK)}
    # Version names start with a UTC timestamp, so name order is age order.
    folders = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    doomed = [p for p in folders[:-keep] if p.resolve() not in linked]
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


def _link_target(link: Path) -> Path | None:
    return link.resolve() if link.is_symlink() else None


def _point(link: Path, target: Path) -> None:
    """Make `link` a relative symlink to `target`, replacing any old link in one rename."""
    temporary = link.with_name(f".{link.name}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)
