"""The S3 store as the pipeline's commands see it: pointer, versions, history; reading, deleting.

pipeline/publish_s3.py publishes to it and rolls it back with these; `make versions` lists it.
A StoreError (unreachable store, wrong credentials, ...) becomes the pipeline's refusal here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import contract as c
from contract.store import (
    HISTORY,
    Pointer,
    S3Store,
    StoreError,
    read_object,
    read_pointer,
    s3_client,
    store_call,
)
from pipeline import history
from pipeline.errors import PublishError


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
        return None if pointer is None else version_manifest(client, store, pointer.version)


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


def version_manifest(client: Any, store: S3Store, version: str) -> dict[str, Any]:
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
        manifest = version_manifest(bucket.client, bucket.store, version)
    except StoreError:
        manifest = {}
    return history.described(version, manifest, None)
