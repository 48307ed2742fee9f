"""service/store.py against a real S3 server: the cache, and real gunicorns serving one bucket.

Two instances on different ports (each its own cache folder, as on two hosts) serve the same
bucket; a publish and a rollback reach both without a restart; a version that failed to upload
or does not match its manifest is never served.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from s3 import S3Server
from servers import (
    Served,
    free_port,
    request,
    start_gunicorn,
    stop,
    wait_for,
    wait_until_ready,
)
from test_publish import manifest, tables

import contract as c
from contract.bucket import BucketStore
from contract.store import StoreError
from pipeline import publish as publishing
from pipeline.errors import PublishError
from service import create_app
from service.store import KEEP_CACHED, s3_source

V1, V2, V3 = "20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c"
SWITCH_TIMEOUT_S = 15  # "within a few seconds", generously


def publish(store: BucketStore, version: str, energy: float = 0.5) -> None:
    publishing.publish(tables(energy), store, manifest(version))


def served_versions(base: str, requests: int = 8) -> set[str]:
    """The versions /health names over a few requests (so both workers are likely asked)."""
    return {
        json.loads(request(f"{base}/api/v1/health")[2])["data"]["dataset"]["version"]
        for _ in range(requests)
    }


@contextmanager
def instances(
    store: BucketStore, server: S3Server, folder: Path, count: int
) -> Iterator[list[Served]]:
    """`count` gunicorns serving the store, each with its own cache folder (as on its own host).

    They start side by side, then each is waited for; all are stopped on exit.
    """
    started: list[Served] = []
    try:
        for n in range(count):
            host, port = folder / f"host{n}", free_port()
            host.mkdir(parents=True)
            log = host / "gunicorn.log"
            process = start_gunicorn(None, log, port, env=service_env(store, server, host))
            started.append(Served(f"http://127.0.0.1:{port}", log, process))
        for one in started:
            wait_until_ready(one.base, one.process, one.log)
        yield started
    finally:
        for one in started:
            stop(one.process)


def service_env(store: BucketStore, server: S3Server, host: Path) -> dict[str, str]:
    """What a replica is configured with: the store, its cache, the standard AWS_* variables."""
    return {"KAPIKO_STORE": store.url(), "KAPIKO_CACHE_DIR": str(host / "cache"), **server.env}


def test_two_instances_serve_one_bucket_and_follow_a_publish_and_a_rollback(
    s3_store: BucketStore, s3_server: S3Server, tmp_path: Path
) -> None:
    publish(s3_store, V1, 0.1)
    with instances(s3_store, s3_server, tmp_path, count=2) as both:
        assert [served_versions(one.base) for one in both] == [{V1}, {V1}]
        for n in range(2):  # each host keeps the version in its cache and loads it from there
            assert (tmp_path / f"host{n}" / "cache" / V1 / c.TRACKS).is_file()
            log = both[n].log.read_text()
            assert f"serving curated dataset {V1} from {tmp_path}/host{n}/cache/{V1}" in log
            assert log.count(f"fetched {s3_store.url('versions', V1)} into") == 1  # 2 workers
        publish(s3_store, V2, 0.9)
        assert wait_for(
            lambda: all(served_versions(one.base) == {V2} for one in both), SWITCH_TIMEOUT_S
        )
        _, headers, body = request(f"{both[1].base}/api/v1/tracks?limit=1")
        assert (
            headers["ETag"].startswith(f'"{V2}-') and json.loads(body)["data"][0]["energy"] == 0.9
        )
        publishing.rollback(s3_store)
        assert wait_for(
            lambda: all(served_versions(one.base) == {V1} for one in both), SWITCH_TIMEOUT_S
        )


def test_a_version_that_failed_to_upload_or_does_not_match_is_never_served(
    s3_store: BucketStore, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(s3_store, V1)
    with instances(s3_store, s3_server, tmp_path, count=1) as (one,):
        real_upload = BucketStore._upload

        def interrupted(self: BucketStore, version: str, name: str, path: Path) -> None:
            if name == c.TRACKS:
                raise StoreError("cannot upload tracks.parquet: Connection was closed")
            real_upload(self, version, name, path)

        with monkeypatch.context() as patched, pytest.raises(PublishError, match="Nothing was"):
            patched.setattr(BucketStore, "_upload", interrupted)
            publish(s3_store, V2)
        # A version whose tracks changed after it was uploaded and checked, made current by
        # hand: damaged before the pointer names it, so no worker can fetch it whole first.
        expected = s3_store.pointer()
        with tempfile.TemporaryDirectory() as scratch:
            s3_store.add_version(publishing.stage(tables(), Path(scratch) / V3, manifest(V3)))
        s3_store.put(b"PAR1 not the same PAR1", "versions", V3, c.TRACKS)
        s3_store.move_pointer(V3, expected)
        refusal = f"versions/{V3}/tracks.parquet does not match the sha256 in its manifest"
        assert wait_for(
            lambda: refusal in one.log.read_text(), SWITCH_TIMEOUT_S
        )  # the worker looked, refused
        assert served_versions(one.base, requests=12) == {V1}
        log = one.log.read_text()
    assert f"still serving {V1}" in log and V2 not in log


def test_a_version_is_downloaded_once_into_the_cache_and_verified(
    s3_store: BucketStore, tmp_path: Path
) -> None:
    publish(s3_store, V1)
    source = s3_source(s3_store, tmp_path / "cache")
    folder = source.fetch(source.pointer())
    assert folder == tmp_path / "cache" / V1 and c.read_manifest(folder)["version"] == V1
    s3_store.client.delete_object(
        Bucket=s3_store.bucket, Key=s3_store.key("versions", V1, c.TRACKS)
    )
    assert source.fetch(V1) == folder  # from the cache: the bucket is not read again
    with open(folder / c.GENRES, "ab") as handle:
        handle.write(b"\0")  # a damaged cached copy is fetched again (and now found missing)
    with pytest.raises(c.CuratedDatasetError, match=r"cannot download .*tracks\.parquet: NoSuch"):
        source.fetch(V1)
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()] == []  # nothing half-kept


def test_the_cache_keeps_the_most_recently_used_versions(
    s3_store: BucketStore, tmp_path: Path
) -> None:
    source = s3_source(s3_store, tmp_path / "cache")
    names = [f"202601{day:02}T000000Z-x" for day in range(1, KEEP_CACHED + 3)]
    for name in names:
        publish(s3_store, name)
        source.fetch(name)
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir() if p.is_dir())
    assert kept == names[-KEEP_CACHED:]


def test_an_app_over_the_bucket_swaps_in_a_publish(s3_store: BucketStore, tmp_path: Path) -> None:
    publish(s3_store, V1)
    config = {"STORE": s3_store.url(), "CACHE_DIR": str(tmp_path), "RELOAD_INTERVAL": 0}
    app = create_app(config)
    assert app.test_client().get("/api/v1/health").get_json()["data"]["dataset"]["version"] == V1
    publish(s3_store, V2)
    assert app.extensions["kapiko"].check() is True
    assert app.test_client().get("/api/v1/health").get_json()["data"]["dataset"]["version"] == V2


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (None, "nothing is published at {url} (no current.json): run `make ingest` with "
               "KAPIKO_STORE={url}"),
        ("http://127.0.0.1:9", "cannot read {url}/current.json: Could not connect to the "
                               "endpoint URL"),
    ],
)  # fmt: skip
def test_without_a_published_or_reachable_store_the_service_answers_503_saying_why(
    s3_store: BucketStore,
    s3_server: S3Server,
    tmp_path: Path,
    endpoint: str | None,
    message: str,
) -> None:
    env = service_env(s3_store, s3_server, tmp_path)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    log, port = tmp_path / "out.log", free_port()
    server = start_gunicorn(None, log, port, env=env)
    try:
        _, _, body = wait_until_ready(f"http://127.0.0.1:{port}", server, log, status=503)
    finally:
        stop(server)
    expected = message.format(url=s3_store.url())
    assert expected.split(": run")[0] in json.loads(body)["error"]
    assert "cannot serve: " + expected in log.read_text()


def test_a_malformed_store_is_refused_naming_the_variable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="service"), pytest.raises(c.CuratedDatasetError):
        create_app({"STORE": "kapiko-data/prod", "CACHE_DIR": str(tmp_path)})
    assert "cannot serve: KAPIKO_STORE='kapiko-data/prod' is not a store location: expected " in (
        caplog.text
    )
