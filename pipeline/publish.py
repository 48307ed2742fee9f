"""Write a curated dataset aside, verify it, and swap it in atomically; roll back on request.

data/curated/
  versions/<version>/   one folder per published dataset (Parquet files, manifest.json, data_docs/)
  current  -> versions/<version>   the live dataset, replaced by one atomic rename
  previous -> versions/<version>   the one `make rollback` would make current (absent if none)
  history.json                     every version and the rollback path (pipeline/history.py)
  .lock                            held by the one ingest or rollback running

Run reports (data/runs/<run>/) are pruned here too: see prune_runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import contract as c
from contract import serving
from pipeline import history
from pipeline.errors import PipelineError, PublishError
from pipeline.serving import serving_arrays

# The current version and the two `make rollback` can step back to are kept; see prune_versions.
KEEP_VERSIONS = 3
_RUN_NAME = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")  # data/runs/<UTC start>[-<n>]


def write_dataset(
    tables: Mapping[str, pl.DataFrame], directory: Path, manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write the contract's tables, their serving arrays (contract.serving) and a manifest listing
    every file's checksum into `directory`, then check the folder against the manifest."""
    missing = sorted(set(c.CURATED_SCHEMAS) - set(tables))
    if missing:
        raise PublishError(f"cannot write a dataset without {missing}")
    for name, columns in c.CURATED_SCHEMAS.items():
        if dict(tables[name].schema) != columns:
            raise PublishError(
                f"the dataset written to {directory} does not check out: {name} has columns "
                f"{dict(tables[name].schema)}, the contract says {columns}"
            )
    (directory / serving.INDEX_DIR).mkdir(parents=True, exist_ok=True)
    files = {}
    for name in c.CURATED_SCHEMAS:
        path = directory / name
        tables[name].write_parquet(path, compression="zstd", statistics=True)
        files[name] = _entry(path, tables[name].height)
    for name, part in serving_arrays(dict(tables)):
        path = serving.array_path(directory, name)
        files[serving.array_file(name)] = _entry(path, save_array(path, part))
    manifest = {
        **manifest,
        "schema_version": c.SCHEMA_VERSION,
        "layout_sha256": serving.LAYOUT_SHA256,
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


def save_array(path: Path, part: np.ndarray | list[np.ndarray]) -> int:
    """Write an array, or the pieces of a 1-d one one after another, as a .npy; its length."""
    pieces = part if isinstance(part, list) else [part]
    shape = (sum(len(piece) for piece in pieces), *pieces[0].shape[1:])
    with open(path, "wb") as handle:
        header = {"descr": np.lib.format.dtype_to_descr(pieces[0].dtype), "fortran_order": False,
                  "shape": shape}  # fmt: skip
        np.lib.format.write_array_header_1_0(handle, header)
        for piece in pieces:
            handle.write(np.ascontiguousarray(piece).data)
    return shape[0]


def _entry(path: Path, rows: int) -> dict[str, Any]:
    return {"sha256": c.file_sha256(path), "rows": rows, "bytes": path.stat().st_size}


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
    extras: Sequence[Path] = (),
) -> Path:
    """Write a new version aside, make it `current` in one rename, log it, prune old versions.

    `extras` are files or folders copied into the version before it goes live (the run's
    data-quality report and docs); one that does not exist is left out.
    """
    version = manifest["version"]
    versions = curated_dir / c.VERSIONS_DIR
    final = versions / version
    if final.exists():
        raise PublishError(f"version {version} already exists in {versions}")
    log = history.load(curated_dir)  # before the new folder exists: it is logged as published
    staging = stage(tables, versions / f".staging-{version}", manifest, extras)
    try:
        os.replace(staging, final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(f"could not write the new dataset under {versions}: {error}") from None
    fresh_start = history.current_version(curated_dir) is None
    _point(curated_dir / c.CURRENT_LINK, final)
    history.record_publish(log, final, fresh_start)
    history.save(curated_dir, log)
    prune_versions(curated_dir)
    return final


def stage(
    tables: Mapping[str, pl.DataFrame],
    staging: Path,
    manifest: dict[str, Any],
    extras: Sequence[Path] = (),
) -> Path:
    """Write a whole version (tables, manifest, extras) into the new folder `staging`, verified.

    On any failure the folder is removed again and a PublishError says what went wrong.
    """
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        for extra in extras:
            if extra.is_dir():
                shutil.copytree(extra, staging / extra.name)
            elif extra.is_file():
                shutil.copy2(extra, staging / extra.name)
        write_dataset(tables, staging, manifest)
    except PublishError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(f"could not write the new dataset to {staging}: {error}") from None
    return staging


def rollback(curated_dir: Path, version: str | None = None) -> Path:
    """Make the version before current (or `version`) current again; return its folder."""
    log = history.load(curated_dir)
    versions = curated_dir / c.VERSIONS_DIR
    target = history.rollback_target(log, history.present(curated_dir), version, str(versions))
    folder = versions / target
    try:
        c.read_manifest(folder)
    except c.CuratedDatasetError as error:
        raise PublishError(f"version {target} is unusable, not rolling back: {error}") from None
    _point(curated_dir / c.CURRENT_LINK, folder)
    history.record_rollback(log, target)
    history.save(curated_dir, log)
    _point_previous(curated_dir, log)
    return folder


def prune_versions(curated_dir: Path, keep: int = KEEP_VERSIONS) -> list[Path]:
    """Delete every version but the current one and the `keep - 1` a rollback steps back to.

    Versions rolled away from go at the next publish. The history marks what was deleted, so a
    rollback to it is refused with a reason. Folders the pipeline is writing are left alone.
    """
    log = history.load(curated_dir)
    names = prunable(log, history.present(curated_dir), keep)
    doomed = [curated_dir / c.VERSIONS_DIR / name for name in names]
    for folder in doomed:
        shutil.rmtree(folder)
    history.record_pruned(log, [folder.name for folder in doomed])
    history.save(curated_dir, log)
    _point_previous(curated_dir, log)
    return doomed


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
        shutil.rmtree(folder)
    return doomed


@contextmanager
def exclusive(curated_dir: Path) -> Iterator[None]:
    """Hold data/curated/.lock, so two ingests or rollbacks never change the dataset at once."""
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


def _point_previous(curated_dir: Path, log: history.History) -> None:
    """Point `previous` at what `make rollback` would bring back, or remove it if nothing."""
    live = log["live"]
    target = curated_dir / c.VERSIONS_DIR / live[-2] if len(live) > 1 else None
    if target is not None and target.is_dir():
        _point(curated_dir / c.PREVIOUS_LINK, target)
    else:
        (curated_dir / c.PREVIOUS_LINK).unlink(missing_ok=True)


def _point(link: Path, target: Path) -> None:
    """Make `link` a relative symlink to `target`, replacing any old link in one rename."""
    temporary = link.with_name(f".{link.name}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)
