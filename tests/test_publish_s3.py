"""pipeline/publish_s3.py against a real S3 server: upload, verify, point, roll back, prune."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from s3 import S3Server
from test_publish import manifest, tables
from test_reload_e2e import write_raw

import contract as c
from contract.store import S3Store, StoreError, read_pointer, s3_client
from pipeline import history, publish_s3
from pipeline.__main__ import main
from pipeline.bucket import current_manifest, delete_version, open_bucket
from pipeline.errors import PublishError

V1, V2 = "20260101T000000Z-a", "20260102T000000Z-b"


def publish_days(store: S3Store, *days: int) -> list[str]:
    """Publish one small version per day to the bucket (named by that day)."""
    return [
        publish_s3.publish_version(tables(day / 10), store, manifest(f"202601{day:02}T000000Z-x"))
        for day in days
    ]


def live(store: S3Store) -> str | None:
    pointer = read_pointer(s3_client(), store)
    return None if pointer is None else pointer.version


def keys(store: S3Store, *parts: str) -> set[str]:
    """Every object key under a path of the store, relative to it."""
    prefix = store.key(*parts) + "/"
    pages = (
        s3_client().get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=prefix)
    )
    return {item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", [])}


def logged(store: S3Store) -> dict[str, Any]:
    body = s3_client().get_object(Bucket=store.bucket, Key=store.key("history.json"))["Body"]
    document: dict[str, Any] = json.loads(body.read())
    return document


def test_a_publish_uploads_every_file_then_points_at_the_version(
    s3_store: S3Store, tmp_path: Path
) -> None:
    assert live(s3_store) is None
    report = tmp_path / "report.html"
    report.write_text("<p>report</p>")
    url = publish_s3.publish_version(tables(), s3_store, manifest(V1), (report,))
    assert url == f"s3://kapiko/{s3_store.prefix}/versions/{V1}"
    assert live(s3_store) == V1
    uploaded = json.loads(
        s3_client()
        .get_object(Bucket="kapiko", Key=s3_store.key("versions", V1, c.MANIFEST))["Body"]
        .read()
    )
    assert uploaded["version"] == V1 and set(c.CURATED_SCHEMAS) < set(uploaded["files"])
    assert keys(s3_store, "versions", V1) == {*uploaded["files"], c.MANIFEST, "report.html"}
    assert logged(s3_store)["live"] == [V1]
    assert current_manifest(s3_store) == uploaded


def test_rollback_and_pruning_in_the_bucket_follow_the_folder_rules(s3_store: S3Store) -> None:
    _, second, third, fourth = publish_days(s3_store, 1, 2, 3, 4)
    assert keys(s3_store, "versions", "20260101T000000Z-x") == set()  # pruned: 3 are kept
    assert live(s3_store) == "20260104T000000Z-x"
    assert publish_s3.rollback(s3_store) == (third, "20260104T000000Z-x")
    assert publish_s3.rollback(s3_store)[0] == second
    with pytest.raises(PublishError, match="20260101T000000Z-x was pruned on"):
        publish_s3.rollback(s3_store)
    assert publish_s3.rollback(s3_store, "20260104T000000Z-x")[0] == fourth  # by name
    assert live(s3_store) == "20260104T000000Z-x"
    bucket = open_bucket(s3_store)
    states = {
        item["version"][6:8]: state for item, state in history.states(bucket.log, bucket.present)
    }
    assert states == {"01": "pruned", "02": "earlier", "03": "rolled back", "04": "current"}


def test_an_upload_that_fails_partway_moves_nothing_and_is_deleted(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_s3.publish_version(tables(), s3_store, manifest(V1))
    before = logged(s3_store)
    real_put, calls = publish_s3.put_file, []

    def dropped_connection(bucket: Any, folder: Path, path: Path) -> None:
        calls.append(path)
        if len(calls) == 3:  # the connection drops on the third file
            raise StoreError(f"cannot upload {path.name}: Connection was closed")
        real_put(bucket, folder, path)

    monkeypatch.setattr(publish_s3, "put_file", dropped_connection)
    with pytest.raises(PublishError, match=r"Connection was closed\. Nothing was made current"):
        publish_s3.publish_version(tables(0.9), s3_store, manifest(V2))
    assert live(s3_store) == V1
    assert keys(s3_store, "versions", V2) == set()  # the partial upload is gone
    assert logged(s3_store) == before


def test_an_object_changed_in_transit_is_caught_before_the_pointer_moves(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_s3.publish_version(tables(), s3_store, manifest(V1))
    real_put = publish_s3.put_file

    def truncating(bucket: Any, folder: Path, path: Path) -> None:
        if path.name == c.TRACKS:
            key = bucket.store.key("versions", folder.name, path.name)
            bucket.client.put_object(
                Bucket=bucket.store.bucket, Key=key, Body=path.read_bytes()[:-9]
            )
        else:
            real_put(bucket, folder, path)

    monkeypatch.setattr(publish_s3, "put_file", truncating)
    with pytest.raises(
        PublishError, match=r"versions/.*/tracks\.parquet does not match its sha256"
    ):
        publish_s3.publish_version(tables(0.9), s3_store, manifest(V2))
    assert live(s3_store) == V1
    assert keys(s3_store, "versions", V2) == set()


def test_a_cleanup_that_fails_after_the_pointer_moved_is_a_warning_not_a_refusal(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_s3.publish_version(tables(), s3_store, manifest(V1))

    def denied(bucket: Any) -> None:
        raise PublishError("cannot delete s3://kapiko/...: AccessDenied")

    monkeypatch.setattr(publish_s3, "prune", denied)
    url = publish_s3.publish_version(tables(0.9), s3_store, manifest(V2))
    assert url.endswith(V2) and live(s3_store) == V2
    warning = capsys.readouterr().err
    assert f"warning: {V2} is published and current, but pruning old versions failed" in warning
    assert "AccessDenied" in warning
    assert logged(s3_store)["live"] == [V1, V2]  # the history was still written


def test_objects_the_store_refuses_to_delete_are_reported_not_ignored(
    s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_s3.publish_version(tables(), s3_store, manifest(V1))
    bucket = open_bucket(s3_store)
    real = bucket.client.delete_objects

    def partly(**arguments: Any) -> dict[str, Any]:
        answer: dict[str, Any] = real(**arguments)
        kept = arguments["Delete"]["Objects"][0]["Key"]  # as if this one were locked
        return {**answer, "Errors": [{"Key": kept, "Code": "AccessDenied", "Message": "no"}]}

    monkeypatch.setattr(bucket.client, "delete_objects", partly)
    with pytest.raises(StoreError, match=rf"cannot delete .*/{V1}: 1 objects were not deleted"):
        delete_version(bucket, V1)


def test_a_pointer_changed_by_another_publish_is_not_overwritten(s3_store: S3Store) -> None:
    publish_s3.publish_version(tables(), s3_store, manifest(V1))
    seen = open_bucket(s3_store)  # this command read the pointer at V1 ...
    publish_s3.publish_version(tables(0.9), s3_store, manifest(V2))  # ... then another published
    with pytest.raises(PublishError, match="another publish or rollback changed"):
        publish_s3.point(seen, V1)
    assert live(s3_store) == V2


def test_a_version_broken_in_the_bucket_is_not_rolled_back_to(s3_store: S3Store) -> None:
    publish_days(s3_store, 1, 2)
    key = s3_store.key("versions", "20260101T000000Z-x", c.GENRES)
    s3_client().put_object(Bucket="kapiko", Key=key, Body=b"not parquet")
    with pytest.raises(PublishError, match=r"unusable, not rolling back: .*genres\.parquet does"):
        publish_s3.rollback(s3_store)
    assert live(s3_store) == "20260102T000000Z-x"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 1}, "schema_version 1, this code reads 2"),
        ({"layout_sha256": "0" * 64}, "built with another serving layout"),
    ],
)
def test_a_version_built_for_another_contract_is_not_rolled_back_to(
    s3_store: S3Store, change: dict[str, Any], message: str
) -> None:
    publish_days(s3_store, 1, 2)
    key = s3_store.key("versions", "20260101T000000Z-x", c.MANIFEST)
    client = s3_client()
    document = json.loads(client.get_object(Bucket="kapiko", Key=key)["Body"].read())
    client.put_object(Bucket="kapiko", Key=key, Body=json.dumps({**document, **change}))
    with pytest.raises(PublishError, match=f"unusable, not rolling back: .*{message}"):
        publish_s3.rollback(s3_store)
    assert live(s3_store) == "20260102T000000Z-x"


def test_an_array_with_a_wrong_header_is_caught_even_when_its_checksum_matches(
    s3_store: S3Store,
) -> None:
    publish_days(s3_store, 1, 2)
    version, client = "20260101T000000Z-x", s3_client()
    name = "index/ranks.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 2), dtype=np.int32))  # not (sorts, tracks)
    body = buffer.getvalue()
    client.put_object(Bucket="kapiko", Key=s3_store.key("versions", version, name), Body=body)
    key = s3_store.key("versions", version, c.MANIFEST)
    document = json.loads(client.get_object(Bucket="kapiko", Key=key)["Body"].read())
    document["files"][name] |= {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    client.put_object(Bucket="kapiko", Key=key, Body=json.dumps(document))
    with pytest.raises(PublishError, match=rf"not rolling back: s3://kapiko/.*/{version}: ranks"):
        publish_s3.rollback(s3_store)
    assert live(s3_store) == "20260102T000000Z-x"


def test_the_cli_ingests_to_the_bucket_lists_and_rolls_back(
    s3_store: S3Store,
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
    s3_store: S3Store,
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
