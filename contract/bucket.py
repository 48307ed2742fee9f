"""The S3 store: versions in a bucket, under a prefix (contract/store.py's interface).

`KAPIKO_STORE=s3://<bucket>[/<prefix>]` selects it, and the standard AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL variables configure the client. A version
is uploaded with its manifest.json last and every object read back against its sha256 before
the pointer, current.json, is replaced by a conditional PUT (If-Match the ETag read before).
boto3 is imported on first use, so a room serving or publishing a folder never loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import contract as c
from contract.manifest import CuratedDatasetError, read_manifest
from contract.store import (
    HISTORY,
    POINTER,
    STORE_ENV,
    VERSION_NAME,
    Pointer,
    PointerMoved,
    StoreError,
)

_LOCATION = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
_CREDENTIAL_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)
THREADS = 8  # objects uploaded, read back or downloaded at once
T = TypeVar("T")


def parse_bucket(text: str) -> BucketStore | None:
    """The bucket a KAPIKO_STORE value names: None when empty (the local folder)."""
    text = text.strip()
    if not text:
        return None
    match = _LOCATION.match(text)
    prefix = (match[2] or "").strip("/") if match else ""
    parts = prefix.split("/") if prefix else []
    if match is None or any(part in ("", ".", "..") for part in parts):
        raise StoreError(
            f"{STORE_ENV}={text!r} is not a store location: expected s3://<bucket>[/<prefix>] "
            "with a lowercase bucket name, e.g. s3://kapiko-data/prod (or unset it to use the "
            "local folder data/curated)"
        )
    return BucketStore(match[1], prefix)


class BucketStore:
    """A bucket and a key prefix (no slash at either end; may be empty)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.location = self.url()
        self._client: Any = None

    @property
    def client(self) -> Any:
        """A boto3 S3 client, made on first use."""
        if self._client is None:
            self._client = s3_client()
        return self._client

    def key(self, *parts: str) -> str:
        """The object key of a path under the prefix."""
        return "/".join(part for part in (self.prefix, *parts) if part)

    def url(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"

    # ------------------------------------------------------------ objects
    def get(self, *parts: str) -> tuple[bytes, str] | None:
        """The bytes and ETag of an object; None if there is none."""
        from botocore.exceptions import ClientError

        def get() -> tuple[bytes, str] | None:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self.key(*parts))
            except ClientError as error:
                if error_code(error) == "NoSuchKey":
                    return None
                raise
            return answer["Body"].read(), str(answer["ETag"])

        return store_call(f"cannot read {self.url(*parts)}", get)

    def put(self, body: bytes, *parts: str, condition: dict[str, str] | None = None) -> None:
        """Write an object whole (with an If-Match / If-None-Match condition, if given)."""
        key = self.key(*parts)
        store_call(
            f"cannot write {self.url(*parts)}",
            lambda: self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, **(condition or {})
            ),
        )

    # ------------------------------------------------------------ the interface
    def pointer(self) -> Pointer | None:
        got = self.get(POINTER)
        if got is None:
            return None
        try:
            version = json.loads(got[0]).get("version")
        except (ValueError, AttributeError):
            version = None
        if not isinstance(version, str) or not VERSION_NAME.match(version):
            raise StoreError(f"{self.url(POINTER)} does not name a version: {got[0][:200]!r}")
        return Pointer(version, got[1])

    def move_pointer(self, version: str, expected: Pointer | None) -> None:
        published = c.rfc3339(datetime.now(UTC))
        document = json.dumps({"version": version, "published_at": published}).encode()
        condition = {"IfMatch": expected.tag} if expected else {"IfNoneMatch": "*"}
        try:
            self.put(document, POINTER, condition=condition)
        except StoreError as error:
            if error.code == "PreconditionFailed":
                raise PointerMoved(f"{self.url(POINTER)} changed while this command ran") from None
            raise

    def versions(self) -> dict[str, bool]:
        prefix = self.key(c.VERSIONS_DIR) + "/"

        def listing() -> dict[str, bool]:
            found: dict[str, bool] = {}
            for item in self._objects(prefix):
                version, _, rest = item[len(prefix) :].partition("/")
                found[version] = found.get(version, False) or rest == c.MANIFEST
            return found

        return store_call(f"cannot list {self.url(c.VERSIONS_DIR)}", listing)

    def manifest(self, version: str) -> dict[str, Any]:
        got = self.get(c.VERSIONS_DIR, version, c.MANIFEST)
        url = self.url(c.VERSIONS_DIR, version, c.MANIFEST)
        if got is None:
            raise StoreError(f"{url} is missing")
        try:
            manifest: dict[str, Any] = json.loads(got[0])
        except ValueError as error:
            raise StoreError(f"{url} is not JSON: {error}") from None
        return manifest

    def staging_parent(self) -> Path | None:
        return None

    def add_version(self, folder: Path) -> None:
        """Upload every file of the folder (the manifest last) and read each back; a failed
        upload is deleted again."""
        files = sorted(
            path
            for path in folder.rglob("*")
            if path.is_file() and not path.relative_to(folder).as_posix().startswith(".")
        )
        manifest = folder / c.MANIFEST
        others = [path for path in files if path != manifest]
        relative = {path: path.relative_to(folder).as_posix() for path in files}
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(lambda p: self._upload(folder.name, relative[p], p), others))
                self._upload(folder.name, c.MANIFEST, manifest)
                checks = [(relative[p], c.file_sha256(p)) for p in files]
                list(pool.map(lambda item: self._check(folder.name, *item), checks))
        except CuratedDatasetError as error:
            try:
                self.delete_version(folder.name)
                undone = "the partial upload was deleted"
            except StoreError as failure:
                undone = f"the partial upload is left for the next publish to delete ({failure})"
            raise StoreError(f"could not upload version {folder.name}: {error}; {undone}") from None

    def delete_version(self, version: str) -> None:
        prefix = self.key(c.VERSIONS_DIR, version) + "/"
        where = self.url(c.VERSIONS_DIR, version)

        def deletion() -> list[dict[str, str]]:
            keys = [{"Key": key} for key in self._objects(prefix)]
            failed: list[dict[str, str]] = []
            for start in range(0, len(keys), 1000):  # the most one request deletes
                answer = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": keys[start : start + 1000], "Quiet": True},
                )
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

    def check_version(self, version: str) -> None:
        """Download the version to a temporary folder and check it there."""
        with tempfile.TemporaryDirectory(prefix="kapiko-verify-") as scratch:
            copy = Path(scratch) / version
            self.download(version, copy)
            try:
                read_manifest(copy)
            except CuratedDatasetError as error:
                message = str(error).replace(str(copy), self.url(c.VERSIONS_DIR, version))
                raise CuratedDatasetError(message) from None

    def read_text(self, name: str) -> str | None:
        got = self.get(name)
        return None if got is None else got[0].decode()

    def write_text(self, name: str, text: str) -> None:
        self.put(text.encode(), name)  # one PUT: a reader sees the old object or the new one

    def mark_previous(self, version: str | None) -> None:
        """A bucket has no `previous`: history.json says which version a rollback brings back."""

    # ------------------------------------------------------------ downloads
    def download(self, version: str, folder: Path) -> None:
        """Download a version's manifest and every file it lists into `folder`, each checked
        against its sha256 as it streams."""
        manifest = self.manifest(version)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / c.MANIFEST).write_text(json.dumps(manifest))
        try:
            listed = [(_relative(n), str(e["sha256"])) for n, e in manifest["files"].items()]
        except (KeyError, TypeError, AttributeError) as error:
            raise CuratedDatasetError(
                f"{self.url(c.VERSIONS_DIR, version, c.MANIFEST)} does not list its files: "
                f"{error!r}"
            ) from None
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda item: self._download(version, folder, *item), listed))

    def _download(self, version: str, folder: Path, name: str, sha256: str) -> None:
        url, key = self.url(c.VERSIONS_DIR, version, name), self.key(c.VERSIONS_DIR, version, name)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)

        def copy() -> str:
            digest = hashlib.sha256()
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with open(path, "wb") as out:
                for chunk in body.iter_chunks(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            return digest.hexdigest()

        if store_call(f"cannot download {url}", copy) != sha256:
            raise CuratedDatasetError(f"{url} does not match the sha256 in its manifest")

    def _upload(self, version: str, name: str, path: Path) -> None:
        key = self.key(c.VERSIONS_DIR, version, name)
        with open(path, "rb") as body:
            store_call(
                f"cannot upload {self.url(c.VERSIONS_DIR, version, name)}",
                lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body),
            )

    def _check(self, version: str, name: str, sha256: str) -> None:
        url = self.url(c.VERSIONS_DIR, version, name)
        got = self.get(c.VERSIONS_DIR, version, name)
        if got is None:
            raise CuratedDatasetError(f"{url} is missing")
        if hashlib.sha256(got[0]).hexdigest() != sha256:
            raise CuratedDatasetError(
                f"{url} does not match its sha256 ({len(got[0])} bytes read back)"
            )

    def _objects(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _relative(name: str) -> str:
    """A file name from a manifest, refused unless it stays inside the version folder."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
        raise CuratedDatasetError(f"the manifest lists a file outside its version: {name!r}")
    return name


def s3_client() -> Any:
    """A boto3 S3 client set up by the standard AWS_* variables only; short timeouts, 3 tries."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}
    )
    # A session of its own: boto3's default session keeps the credentials it first resolved.
    # botocore reads AWS_DEFAULT_REGION, not AWS_REGION; every other variable it reads itself.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    return session.client("s3", config=config)


def store_call(what: str, call: Callable[[], T]) -> T:
    """call(), with any boto3 or network error turned into a StoreError saying what to check."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as error:
        code = error_code(error)
        raise StoreError(f"{what}: {code}: {_hint(code, error)}", code) from None
    except BotoCoreError as error:
        raise StoreError(f"{what}: {error}: {_hint('', error)}") from None


def error_code(error: Exception) -> str:
    """The S3 error code of a botocore ClientError ("NoSuchKey", "PreconditionFailed", ...)."""
    response: dict[str, Any] = getattr(error, "response", {})
    return str(response.get("Error", {}).get("Code", ""))


def _hint(code: str, error: Exception) -> str:
    name = type(error).__name__
    if code in _CREDENTIAL_CODES or "Credentials" in name:
        return "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if code == "NoSuchBucket":
        return f"create the bucket, or fix {STORE_ENV}"
    if "Connect" in name or "Endpoint" in name:
        return (
            f"is the S3 server at AWS_ENDPOINT_URL={os.environ.get('AWS_ENDPOINT_URL', '')!r} up?"
        )
    message = getattr(error, "response", {}).get("Error", {}).get("Message")
    return str(message or error)


__all__ = ["HISTORY", "BucketStore", "parse_bucket", "s3_client", "store_call"]
