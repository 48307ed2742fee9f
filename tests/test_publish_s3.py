"""The S3 store against a real S3 server: what only a bucket can do wrong (a dropped upload, an
object changed in transit, a refused delete, a pointer moved by another writer), and the CLI.
The rules every store follows are tests/test_publish.py's, run there against a bucket too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from s3 import S3Server
from test_publish import manifest, tables
from test_reload_e2e import write_raw

import contract as c
from contract.bucket import BucketStore
from contract.store import PointerMoved, StoreError
from pipeline import publish
from pipeline.__main__ import main
from pipeline.errors import PublishError

V1, V2 = "20260101T000000Z-a", "20260102T000000Z-b"


def live(store: BucketStore) -> str | None:
    pointer = store.pointer()
    return None if pointer is None else pointer.version


def keys(store: BucketStore, *parts: str) -> set[str]:
    """Every object key under a path of the store, relative to it."""
    prefix = store.key(*parts) + "/"
    return {key[len(prefix) :] for key in store._objects(prefix)}


def logged(store: BucketStore) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(store.read_text("history.json") or "{}")
    return document


def test_a_publish_uploads_every_file_then_points_at_the_version(
    s3_store: BucketStore, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    report.write_text("<p>report</p>")
    url = publish.publish(tables(), s3_store, manifest(V1), (report,))
    assert url == f"s3://kapiko/{s3_store.prefix}/versions/{V1}"
    uploaded = s3_store.manifest(V1)
    assert keys(s3_store, "versions", V1) == {*uploaded["files"], c.MANIFEST, "report.html"}
    assert logged(s3_store)["live"] == [V1] and live(s3_store) == V1


def test_an_upload_that_fails_partway_moves_nothing_and_is_deleted(
    s3_store: BucketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish.publish(tables(), s3_store, manifest(V1))
    before = logged(s3_store)
    real_upload, calls = BucketStore._upload, []

    def dropped_connection(self: BucketStore, version: str, name: str, path: Path) -> None:
        calls.append(name)
        if len(calls) == 3:  # the connection drops on the third file
            raise StoreError(f"cannot upload {name}: Connection was closed")
        real_upload(self, version, name, path)

    monkeypatch.setattr(BucketStore, "_upload", dropped_connection)
    with pytest.raises(PublishError, match=r"Connection was closed.*Nothing was made current"):
        publish.publish(tables(0.9), s3_store, manifest(V2))
    assert live(s3_store) == V1
    assert keys(s3_store, "versions", V2) == set()  # the partial upload is gone
    assert logged(s3_store) == before


def test_an_object_changed_in_transit_is_caught_before_the_pointer_moves(
    s3_store: BucketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish.publish(tables(), s3_store, manifest(V1))
    real_upload = BucketStore._upload

    def truncating(self: BucketStore, version: str, name: str, path: Path) -> None:
        if name == c.TRACKS:
            self.put(path.read_bytes()[:-9], "versions", version, name)
        else:
            real_upload(self, version, name, path)

    monkeypatch.setattr(BucketStore, "_upload", truncating)
    with pytest.raises(
        PublishError, match=r"versions/.*/tracks\.parquet does not match its sha256"
    ):
        publish.publish(tables(0.9), s3_store, manifest(V2))
    assert live(s3_store) == V1
    assert keys(s3_store, "versions", V2) == set()


def test_a_cleanup_that_fails_after_the_pointer_moved_is_a_warning_not_a_refusal(
    s3_store: BucketStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    publish.publish(tables(), s3_store, manifest(V1))

    def denied(store: Any, log: Any) -> None:
        raise PublishError("cannot delete s3://kapiko/...: AccessDenied")

    monkeypatch.setattr(publish, "prune", denied)
    url = publish.publish(tables(0.9), s3_store, manifest(V2))
    assert url.endswith(V2) and live(s3_store) == V2
    warning = capsys.readouterr().err
    assert f"warning: {V2} is published and current, but pruning old versions failed" in warning
    assert "AccessDenied" in warning
    assert logged(s3_store)["live"] == [V1, V2]  # the history was still written


def test_objects_the_store_refuses_to_delete_are_reported_not_ignored(
    s3_store: BucketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish.publish(tables(), s3_store, manifest(V1))
    real = s3_store.client.delete_objects

    def partly(**arguments: Any) -> dict[str, Any]:
        answer: dict[str, Any] = real(**arguments)
        locked = arguments["Delete"]["Objects"][0]["Key"]  # as if this one were locked
        return {**answer, "Errors": [{"Key": locked, "Code": "AccessDenied", "Message": "no"}]}

    monkeypatch.setattr(s3_store.client, "delete_objects", partly)
    with pytest.raises(StoreError, match=rf"cannot delete .*/{V1}: 1 objects were not deleted"):
        s3_store.delete_version(V1)


def test_a_pointer_changed_by_another_publish_is_not_overwritten(s3_store: BucketStore) -> None:
    publish.publish(tables(), s3_store, manifest(V1))
    seen = s3_store.pointer()  # this command read the pointer at V1 ...
    publish.publish(tables(0.9), s3_store, manifest(V2))  # ... then another published
    with pytest.raises(PointerMoved, match="changed while this command ran"):
        s3_store.move_pointer(V1, seen)
    assert live(s3_store) == V2


def test_the_cli_ingests_to_the_bucket_lists_and_rolls_back(
    s3_store: BucketStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAPIKO_STORE", s3_store.url())
    data = ["--data-dir", str(tmp_path / "data"), "--no-data-docs"]
    write_raw(tmp_path / "data", tracks=20, energy=0.3)
    assert main(["ingest", *data]) == 0
    first = live(s3_store)
    assert f"→ {s3_store.url('versions', str(first))}" in capsys.readouterr().out
    assert main(["ingest", *data]) == 0  # the same inputs: up to date, judged by the bucket
    assert "up to date" in capsys.readouterr().out and live(s3_store) == first
    write_raw(tmp_path / "data", tracks=25, energy=0.6)
    assert main(["ingest", *data]) == 0
    second = live(s3_store)
    assert main(["versions", *data]) == 0
    listing = capsys.readouterr().out
    assert f"{first}" in listing and f"{second}" in listing
    assert f"`make rollback` would make {first} current." in listing
    assert main(["rollback", *data]) == 0
    assert live(s3_store) == first
    assert f"(was {second})" in capsys.readouterr().out
    assert not (tmp_path / "data" / "curated" / "versions").exists()  # nothing local


def test_a_malformed_store_is_a_usage_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAPIKO_STORE", "kapiko-data/prod")
    with pytest.raises(SystemExit) as exit_status:
        main(["versions"])
    assert exit_status.value.code == 2
    assert "KAPIKO_STORE='kapiko-data/prod' is not a store location: expected s3://<bucket>" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AWS_SECRET_ACCESS_KEY", "wrong", "SignatureDoesNotMatch: check AWS_ACCESS_KEY_ID and"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9", "is the S3 server at AWS_ENDPOINT_URL="),
    ],
)
def test_a_store_that_cannot_be_read_is_a_refusal_saying_what_to_check(
    s3_store: BucketStore,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv("KAPIKO_STORE", s3_store.url())
    monkeypatch.setenv(variable, value)
    assert main(["versions"]) == 1
    error = capsys.readouterr().err
    assert "kapiko versions: REFUSED" in error and message in error
    assert f"cannot read {s3_store.url('current.json')}" in error
