"""Publish to the S3 store (KAPIKO_STORE): upload a version, read it back, then move the pointer.

A version is written aside and verified as for the folder (publish.stage), uploaded under
versions/<version>/ with its manifest.json last, and every object is read back and compared
with its file's sha256. Only then is current.json replaced, on condition that it is still the
pointer this run read (If-Match), so a concurrent publish or rollback is refused instead of
overwritten; then history.json is rewritten and old versions are deleted by the folder's rules
(pipeline/history.py, publish.prunable). Readers follow current.json only, so they never see a
half-uploaded version; an upload that fails is deleted again.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from contract.manifest import contract_problem
from contract.store import POINTER, S3Store, StoreError, read_object, store_call
from pipeline import history, publish
from pipeline.bucket import (
    Bucket,
    delete_version,
    open_bucket,
    refusing,
    save_history,
    version_manifest,
)
from pipeline.errors import PublishError

THREADS = 8  # objects uploaded or read back at once


def publish_version(
    tables: Mapping[str, pl.DataFrame],
    store: S3Store,
    manifest: dict[str, Any],
    extras: Sequence[Path] = (),
) -> str:
    """Upload a new version, verify it, make it current, log it, prune; return its URL."""
    version = manifest["version"]
    bucket = open_bucket(store)
    if version in bucket.versions:
        raise PublishError(f"version {version} already exists in {store.url(c.VERSIONS_DIR)}")
    with tempfile.TemporaryDirectory(prefix="kapiko-publish-") as scratch:
        folder = publish.stage(tables, Path(scratch) / version, manifest, extras)
        upload(bucket, folder)
        point(bucket, version)
        history.record_publish(bucket.log, folder, fresh_start=bucket.pointer is None)
    # The version is live from here on: a failure to tidy up is a warning, not a refusal.
    for what, step in (("pruning old versions", prune), ("writing history.json", save_history)):
        try:
            step(bucket)
        except PublishError as error:
            print(
                f"warning: {version} is published and current, but {what} failed "
                f"({error}); the next publish or rollback repeats it",
                file=sys.stderr,
            )
    return store.url(c.VERSIONS_DIR, version)


def rollback(store: S3Store, version: str | None = None) -> tuple[str, str | None]:
    """Make the version before current (or `version`) current again: its URL, and the one before."""
    bucket = open_bucket(store)
    before = bucket.pointer.version if bucket.pointer else None
    where = store.url(c.VERSIONS_DIR)
    target = history.rollback_target(bucket.log, bucket.present, version, where)
    try:
        verify(bucket, target)
    except PublishError as error:
        raise PublishError(f"version {target} is unusable, not rolling back: {error}") from None
    point(bucket, target)
    history.record_rollback(bucket.log, target)
    save_history(bucket)
    return store.url(c.VERSIONS_DIR, target), before


def upload(bucket: Bucket, folder: Path) -> None:
    """Upload every file of a version (manifest last) and read each back; undo it on failure."""
    # Hidden files are this disk's own (contract/verified.py's stamp), not part of the version.
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.relative_to(folder).as_posix().startswith(".")
    )
    manifest = folder / c.MANIFEST
    others = [path for path in files if path != manifest]
    try:
        with refusing(), ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda path: put_file(bucket, folder, path), others))
            put_file(bucket, folder, manifest)
            list(pool.map(lambda path: check_file(bucket, folder, path), files))
    except PublishError as error:
        try:
            delete_version(bucket, folder.name)
            undone = "the partial upload was deleted"
        except StoreError as failure:  # the next publish deletes it (prune)
            undone = f"the partial upload is left for the next publish to delete ({failure})"
        raise PublishError(
            f"could not upload version {folder.name} to {bucket.store.url(c.VERSIONS_DIR)}: "
            f"{error}. Nothing was made current; {undone}"
        ) from None


def put_file(bucket: Bucket, folder: Path, path: Path) -> None:
    """Upload one file of a version folder to the same place under versions/<version>/."""
    key = bucket.store.key(c.VERSIONS_DIR, folder.name, path.relative_to(folder).as_posix())
    with open(path, "rb") as body:
        store_call(
            f"cannot upload s3://{bucket.store.bucket}/{key}",
            lambda: bucket.client.put_object(Bucket=bucket.store.bucket, Key=key, Body=body),
        )


def check_file(bucket: Bucket, folder: Path, path: Path) -> None:
    """Read one uploaded file back; PublishError unless its bytes are the file's."""
    relative = path.relative_to(folder).as_posix()
    _check_object(bucket, folder.name, relative, c.file_sha256(path))


def verify(bucket: Bucket, version: str) -> None:
    """Check a version in the bucket as the folder's rollback checks its folder: download its
    manifest and every file it lists, compare each with its sha256, then run the contract's
    check (schema version, serving layout, Parquet schemas, array headers) on the copy."""
    with refusing(), tempfile.TemporaryDirectory(prefix="kapiko-verify-") as scratch:
        manifest = version_manifest(bucket.client, bucket.store, version)
        where = bucket.store.url(c.VERSIONS_DIR, version, c.MANIFEST)
        problem = contract_problem(manifest, where)
        if problem:
            raise PublishError(problem)
        copy = Path(scratch)
        files = manifest.get("files", {})
        with ThreadPoolExecutor(THREADS) as pool:
            checks = [(name, entry.get("sha256", "")) for name, entry in files.items()]
            list(
                pool.map(
                    lambda check: _check_object(bucket, version, check[0], check[1], copy), checks
                )
            )
        (copy / c.MANIFEST).write_text(json.dumps(manifest))
        try:
            c.read_manifest(copy)
        except c.CuratedDatasetError as error:
            raise PublishError(str(error).replace(str(copy), where.rsplit("/", 1)[0])) from None


def _check_object(
    bucket: Bucket, version: str, relative: str, sha256: str, copy: Path | None = None
) -> None:
    """Read one object of a version back and compare it with its sha256; keep it under `copy`."""
    url = bucket.store.url(c.VERSIONS_DIR, version, relative)
    if copy is not None and (Path(relative).is_absolute() or ".." in Path(relative).parts):
        raise PublishError(f"{url}: the manifest lists a file outside its version folder")
    got = read_object(bucket.client, bucket.store, c.VERSIONS_DIR, version, relative)
    if got is None:
        raise PublishError(f"{url} is missing")
    if hashlib.sha256(got[0]).hexdigest() != sha256:
        raise PublishError(f"{url} does not match its sha256 ({len(got[0])} bytes read back)")
    if copy is not None:
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_bytes(got[0])


def point(bucket: Bucket, version: str) -> None:
    """Replace current.json, only if it is still the pointer this command read."""
    document = json.dumps({"version": version, "published_at": history.now()}).encode()
    condition = {"IfMatch": bucket.pointer.etag} if bucket.pointer else {"IfNoneMatch": "*"}
    key = bucket.store.key(POINTER)
    try:
        store_call(
            f"cannot write {bucket.store.url(POINTER)}",
            lambda: bucket.client.put_object(
                Bucket=bucket.store.bucket, Key=key, Body=document, **condition
            ),
        )
    except StoreError as error:
        if error.code == "PreconditionFailed":
            raise PublishError(
                f"another publish or rollback changed {bucket.store.url(POINTER)} while this one "
                "ran, so nothing was made current: run `make versions`, then try again"
            ) from None
        raise PublishError(str(error)) from None


def prune(bucket: Bucket) -> None:
    """Delete the versions the folder's rules prune, and any incomplete upload.

    An incomplete upload is a failed one, or a concurrent publish's: that one then fails its
    read-back or its conditional pointer write, and is refused.
    """
    doomed = publish.prunable(bucket.log, bucket.present | {bucket.log["live"][-1]})
    incomplete = [name for name, complete in bucket.versions.items() if not complete]
    with refusing():
        for name in [*doomed, *incomplete]:
            delete_version(bucket, name)
    history.record_pruned(bucket.log, doomed)
