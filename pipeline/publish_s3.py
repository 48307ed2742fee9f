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
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from contract.manifest import contract_problem
from contract.store import (
    HISTORY,
    POINTER,
    Pointer,
    S3Store,
    StoreError,
    read_object,
    read_pointer,
    s3_client,
    store_call,
)
from pipeline import history, publish
from pipeline.errors import PublishError

THREADS = 8  # objects uploaded or read back at once


@dataclass
class Bucket:
    """The store as a command found it: its client, pointer, versions and history."""

    client: Any
    store: S3Store
    pointer: Pointer | None
    versions: dict[str, bool]  # every version folder in the bucket -> complete (has a manifest)
    log: history.History

    @property
    def present(self) -> set[str]:
        """The complete versions: those whose manifest.json was uploaded."""
        return {name for name, complete in self.versions.items() if complete}


@contextmanager
def refusing() -> Iterator[None]:
    """Turn a StoreError (unreachable store, wrong credentials, ...) into the pipeline's refusal."""
    try:
        yield
    except StoreError as error:
        raise PublishError(str(error)) from None


def open_bucket(store: S3Store) -> Bucket:
    """Read the pointer, list the versions and load the history, reconciled like the folder's."""
    with refusing():
        client = s3_client()
        pointer = read_pointer(client, store)
        versions = listed_versions(client, store)
        got = read_object(client, store, HISTORY)
    try:
        log = json.loads(got[0]) if got else {"versions": [], "live": []}
    except ValueError as error:
        raise PublishError(
            f"{store.url(HISTORY)} is unreadable ({error}): fix it, or delete it to rebuild it "
            "from the versions in the bucket"
        ) from None
    bucket = Bucket(client, store, pointer, versions, log)
    current = pointer.version if pointer else None
    history.reconcile(log, sorted(bucket.present), current, lambda name: _entry(bucket, name))
    return bucket


def current_manifest(store: S3Store) -> dict[str, Any] | None:
    """The live version's manifest in the bucket, or None when nothing is published there."""
    with refusing():
        client = s3_client()
        pointer = read_pointer(client, store)
        return None if pointer is None else _manifest(client, store, pointer.version)


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
        manifest = _manifest(bucket.client, bucket.store, version)
        where = bucket.store.url(c.VERSIONS_DIR, version, c.MANIFEST)
        problem = contract_problem(manifest, where)
        if problem:
            raise PublishError(problem)
        copy = Path(scratch)
        files = manifest.get("files", {})
        with ThreadPoolExecutor(THREADS) as pool:
            checks = [(name, entry.get("sha256", "")) for name, entry in files.items()]
            list(pool.map(lambda check: _check_object(bucket, version, *check, copy), checks))
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


def save_history(bucket: Bucket) -> None:
    """Write history.json whole (one PUT: a reader sees the old object or the new one)."""
    body = (json.dumps(bucket.log, indent=2) + "\n").encode()
    key = bucket.store.key(HISTORY)
    with refusing():
        store_call(
            f"cannot write {bucket.store.url(HISTORY)}",
            lambda: bucket.client.put_object(Bucket=bucket.store.bucket, Key=key, Body=body),
        )


def listed_versions(client: Any, store: S3Store) -> dict[str, bool]:
    """Every version folder under versions/, and whether its manifest.json is there."""
    prefix = store.key(c.VERSIONS_DIR) + "/"

    def listing() -> dict[str, bool]:
        found: dict[str, bool] = {}
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                version, _, rest = item["Key"][len(prefix) :].partition("/")
                found[version] = found.get(version, False) or rest == c.MANIFEST
        return found

    return store_call(f"cannot list {store.url(c.VERSIONS_DIR)}", listing)


def delete_version(bucket: Bucket, version: str) -> None:
    """Delete every object of one version folder; StoreError naming any object left behind."""
    prefix = bucket.store.key(c.VERSIONS_DIR, version) + "/"
    client, name = bucket.client, bucket.store.bucket
    where = bucket.store.url(c.VERSIONS_DIR, version)

    def deletion() -> list[dict[str, str]]:
        failed = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                answer = client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
                failed += answer.get("Errors", [])  # Quiet: it lists only what was not deleted
        return failed

    failed = store_call(f"cannot delete {where}", deletion)
    if failed:
        first = failed[0]
        raise StoreError(
            f"cannot delete {where}: {len(failed)} objects were not deleted, e.g. "
            f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip(),
            str(first.get("Code", "")),
        )


def _manifest(client: Any, store: S3Store, version: str) -> dict[str, Any]:
    """A version's manifest.json from the bucket; StoreError if it is missing or not JSON."""
    got = read_object(client, store, c.VERSIONS_DIR, version, c.MANIFEST)
    url = store.url(c.VERSIONS_DIR, version, c.MANIFEST)
    if got is None:
        raise StoreError(f"{url} is missing")
    try:
        manifest: dict[str, Any] = json.loads(got[0])
    except ValueError as error:
        raise StoreError(f"{url} is not JSON: {error}") from None
    return manifest


def _entry(bucket: Bucket, version: str) -> dict[str, Any]:
    """A history entry for a version found in the bucket but not in its history."""
    try:
        manifest = _manifest(bucket.client, bucket.store, version)
    except StoreError:
        manifest = {}
    return history.described(version, manifest, None)
