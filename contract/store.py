"""The S3 store: where the curated dataset lives when KAPIKO_STORE names a bucket.

`KAPIKO_STORE=s3://<bucket>[/<prefix>]` selects it, and the standard AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL variables configure the client; unset,
the local folder data/curated is used as before. Under the prefix the layout mirrors the folder:

  versions/<version>/...  every file of a version, its manifest.json uploaded last
  current.json            the pointer, {"version": ..., "published_at": ...}, written last
  history.json            the rollback log (pipeline/history.py)

The pipeline writes it (pipeline/publish_s3.py) and the service reads it (service/store.py).
boto3 is imported on first use, so a room serving or publishing the local folder never loads it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from contract import CuratedDatasetError

STORE_ENV = "KAPIKO_STORE"
POINTER = "current.json"
HISTORY = "history.json"
# A version name is one path segment: the pointer must not lead a reader out of versions/.
VERSION_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
_LOCATION = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
_CREDENTIAL_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
)
T = TypeVar("T")


class StoreError(CuratedDatasetError):
    """KAPIKO_STORE is malformed, or the bucket cannot be read or written."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # the S3 error code, e.g. "PreconditionFailed", when there is one


@dataclass(frozen=True)
class S3Store:
    """A bucket and a key prefix (no slash at either end; may be empty)."""

    bucket: str
    prefix: str

    def key(self, *parts: str) -> str:
        """The object key of a path under the prefix."""
        return "/".join(part for part in (self.prefix, *parts) if part)

    def url(self, *parts: str) -> str:
        """s3://bucket/prefix/parts, for messages."""
        return f"s3://{self.bucket}/{self.key(*parts)}"


@dataclass(frozen=True)
class Pointer:
    """What current.json names, and its ETag (for a conditional replace)."""

    version: str
    etag: str


def parse_store(text: str) -> S3Store | None:
    """The store KAPIKO_STORE names: None when empty (the local folder), else an S3Store."""
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
    return S3Store(match[1], prefix)


def store_from_env() -> S3Store | None:
    """The store named by $KAPIKO_STORE, or None for the local folder."""
    return parse_store(os.environ.get(STORE_ENV, ""))


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


def read_object(client: Any, store: S3Store, *parts: str) -> tuple[bytes, str] | None:
    """The bytes and ETag of the object at parts under the prefix; None if there is none."""
    from botocore.exceptions import ClientError

    def get() -> tuple[bytes, str] | None:
        try:
            response = client.get_object(Bucket=store.bucket, Key=store.key(*parts))
        except ClientError as error:
            if error_code(error) == "NoSuchKey":
                return None
            raise
        return response["Body"].read(), str(response["ETag"])

    return store_call(f"cannot read {store.url(*parts)}", get)


def read_pointer(client: Any, store: S3Store) -> Pointer | None:
    """The version current.json names, or None if nothing is published; StoreError otherwise."""
    got = read_object(client, store, POINTER)
    if got is None:
        return None
    try:
        version = json.loads(got[0]).get("version")
    except (ValueError, AttributeError):
        version = None
    if not isinstance(version, str) or not VERSION_NAME.match(version):
        raise StoreError(f"{store.url(POINTER)} does not name a version: {got[0][:200]!r}")
    return Pointer(version, got[1])
