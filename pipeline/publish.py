"""Write a curated version aside, verify it, add it to the store and move the pointer; roll back.

Publishing and rolling back go through the store's interface (contract/store.py), so a folder
and an S3 bucket follow the same steps and rules:

  versions/<version>/   one folder per published dataset: its Parquet tables, datapackage.json,
                        manifest.json (written last), report.html and data_docs/
  the pointer           `current` (a folder's symlink) or current.json (a bucket's), moved last
  history.json          every version and the rollback path (pipeline/history.py)

A version is named by its data (contract/digest.py): publishing data that the store already
holds adds no folder, it only moves the pointer. Run reports (data/runs/<run>/) are pruned here.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

import contract as c
from contract.datapackage import datapackage
from contract.readonly import remove_tree
from contract.store import PointerMoved, StoreError, VersionStore
from pipeline import history
from pipeline.errors import EnvironmentFailure, PipelineError, PublishError, environmental

# The current version and the two `make rollback` can step back to are kept; see prunable.
KEEP_VERSIONS = 3
_RUN_NAME = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")  # data/runs/<UTC start>[-<n>]


Tables = Mapping[str, pl.DataFrame | Path]  # a table as a frame, or as a Parquet file of it


def write_dataset(tables: Tables, directory: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the contract's tables (a frame is written, a Parquet file linked or copied),
    datapackage.json and a manifest listing every file's checksum into `directory`, then check
    the folder against the manifest."""
    missing = sorted(set(c.CURATED_SCHEMAS) - set(tables))
    if missing:
        raise PublishError(f"cannot write a dataset without {missing}")
    for name, columns in c.CURATED_SCHEMAS.items():
        table = tables[name]
        schema = dict(
            table.schema if isinstance(table, pl.DataFrame) else pl.read_parquet_schema(table)
        )
        if schema != columns:
            raise PublishError(
                f"the dataset written to {directory} does not check out: {name} has columns "
                f"{schema}, the contract says {columns}"
            )
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in c.CURATED_SCHEMAS:
        path, table = directory / name, tables[name]
        if isinstance(table, pl.DataFrame):
            table.write_parquet(path, compression="zstd", statistics=True)
            files[name] = _entry(path, table.height)
        else:
            _link_or_copy(table, path)
            files[name] = _entry(path, pq.ParquetFile(path).metadata.num_rows)
    package = datapackage(manifest["version"], manifest["created_at"], files)
    (directory / c.DATAPACKAGE).write_text(json.dumps(package, indent=2) + "\n")
    files[c.DATAPACKAGE] = _entry(directory / c.DATAPACKAGE, len(package["resources"]))
    manifest = {
        **manifest,
        "schema_version": c.SCHEMA_VERSION,
        "schema_fingerprint": c.schema_fingerprint(),
        "files": files,
    }
    (directory / c.MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    try:
        c.read_manifest(directory)
    except c.CuratedDatasetError as error:
        raise PublishError(
            f"the dataset written to {directory} does not check out: {error}"
        ) from None
    return manifest


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows it (no second copy of a large table)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _entry(path: Path, rows: int) -> dict[str, Any]:
    return {"sha256": c.file_sha256(path), "rows": rows, "bytes": path.stat().st_size}


def current_manifest(store: VersionStore) -> dict[str, Any] | None:
    """The live version's manifest, or None when nothing has been published (or it is gone)."""
    try:
        pointer = store.pointer()
        return None if pointer is None else store.manifest(pointer.version)
    except StoreError:
        return None


def publish(
    tables: Tables,
    store: VersionStore,
    manifest: dict[str, Any],
    extras: Sequence[Path] = (),
) -> str:
    """Add a new version to the store (unless it holds this data already), make it current, log
    it and prune old versions; where the version is.

    `extras` are files or folders copied into the version before it goes live (the run's
    data-quality report and docs); one that does not exist is left out.
    """
    version = manifest["version"]
    log = history.load(store)
    expected = _pointer(store)
    if version not in history.present(store):
        store.delete_version(version)  # an incomplete upload of the same data, if any
        with tempfile.TemporaryDirectory(prefix=".kapiko-publish-", dir=_parent(store)) as scratch:
            folder = stage(tables, Path(scratch) / version, manifest, extras)
            _add(store, folder)
    written = _manifest(store, version)
    _move(store, version, expected)
    history.record_publish(log, written, fresh_start=expected is None)
    # The version is live from here on: a failure to tidy up is a warning, not a refusal.
    for what, step in (("pruning old versions", prune), ("writing history.json", history.save)):
        try:
            step(store, log)
        except PipelineError as error:
            print(
                f"warning: {version} is published and current, but {what} failed ({error}); "
                "the next publish or rollback repeats it",
                file=sys.stderr,
            )
    return store.url(c.VERSIONS_DIR, version)


def _parent(store: VersionStore) -> Path | None:
    parent = store.staging_parent()
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return parent


def _add(store: VersionStore, folder: Path) -> None:
    try:
        store.add_version(folder)
    except StoreError as error:
        raise PublishError(f"{error}. Nothing was made current") from None


def _pointer(store: VersionStore) -> Any:
    try:
        return store.pointer()
    except StoreError as error:
        raise PublishError(str(error)) from None


def _manifest(store: VersionStore, version: str) -> dict[str, Any]:
    try:
        return store.manifest(version)
    except StoreError as error:
        raise PublishError(str(error)) from None


def _move(store: VersionStore, version: str, expected: Any) -> None:
    """Move the pointer, refusing if another publish or rollback moved it meanwhile."""
    try:
        store.move_pointer(version, expected)
    except PointerMoved as error:
        raise PublishError(
            f"another publish or rollback changed the pointer while this one ran ({error}), so "
            "nothing was made current: run `make versions`, then try again"
        ) from None
    except StoreError as error:
        raise PublishError(str(error)) from None


def stage(
    tables: Tables,
    staging: Path,
    manifest: dict[str, Any],
    extras: Sequence[Path] = (),
) -> Path:
    """Write a whole version (tables, manifest, extras) into the new folder `staging`, verified.

    On any failure the folder is removed again and a PublishError says what went wrong.
    """
    remove_tree(staging)
    try:
        staging.mkdir(parents=True)
        for extra in extras:
            if extra.is_dir():
                shutil.copytree(extra, staging / extra.name)
            elif extra.is_file():
                shutil.copy2(extra, staging / extra.name)
        write_dataset(tables, staging, manifest)
    except BaseException as error:
        remove_tree(staging)
        if environmental(error) and not isinstance(error, EnvironmentFailure):
            raise EnvironmentFailure(
                f"could not write the new dataset to {staging}: {error}"
            ) from None
        raise
    return staging


def rollback(store: VersionStore, version: str | None = None) -> tuple[str, str | None]:
    """Make the version before current (or `version`) current again: its name, and the one
    that was current before."""
    log = history.load(store)
    expected = _pointer(store)
    target = history.rollback_target(
        log, history.present(store), version, store.url(c.VERSIONS_DIR)
    )
    try:
        store.check_version(target)
    except c.CuratedDatasetError as error:
        raise PublishError(f"version {target} is unusable, not rolling back: {error}") from None
    _move(store, target, expected)
    history.record_rollback(log, target)
    history.save(store, log)
    store.mark_previous(_previous(log))
    return target, expected.version if expected else None


def prune(store: VersionStore, log: history.History, keep: int = KEEP_VERSIONS) -> list[str]:
    """Delete every version but the current one and the `keep - 1` a rollback steps back to,
    and every incomplete upload (a failed one's, or a concurrent publish's, which then fails
    its conditional pointer move). The history marks what was deleted."""
    try:
        versions = store.versions()
        doomed = prunable(log, {name for name, done in versions.items() if done}, keep)
        incomplete = [name for name, done in versions.items() if not done]
        for name in [*doomed, *incomplete]:
            store.delete_version(name)
    except StoreError as error:
        raise PublishError(str(error)) from None
    history.record_pruned(log, doomed)
    store.mark_previous(_previous(log))
    return doomed


def _previous(log: history.History) -> str | None:
    return log["live"][-2] if len(log["live"]) > 1 else None


def prunable(
    log: history.History, present: Collection[str], keep: int = KEEP_VERSIONS
) -> list[str]:
    """The versions a prune deletes: every one present but current and the `keep - 1` before it."""
    kept = set(log["live"][-keep:])
    return [
        item["version"]
        for item, state in history.states(log, present)
        if state in ("earlier", "rolled back") and item["version"] not in kept
    ]


def prune_runs(runs_dir: Path, keep: int, current: Path) -> list[Path]:
    """Delete run report folders beyond the newest `keep`; the current run counts and stays."""
    runs = []
    for path in runs_dir.iterdir():
        name = _RUN_NAME.match(path.name)
        if name and path.is_dir() and path.name != current.name:
            # Runs started in the same second are numbered -2, -3, …: compare those as numbers.
            runs.append(((name[1], int(name[2] or 1)), path))
    doomed = [path for _, path in sorted(runs, reverse=True)][max(keep - 1, 0) :]
    for folder in doomed:
        remove_tree(folder)
    return doomed


@contextmanager
def exclusive(curated_dir: Path) -> Iterator[None]:
    """Hold data/curated/.lock, so two ingests or rollbacks on this host never run at once."""
    lock_path = curated_dir / ".lock"
    curated_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PipelineError(
                f"another ingest or rollback holds {lock_path}; wait for it to finish, then run "
                "the command again"
            ) from None
        yield
