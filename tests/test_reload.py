"""service/reload.py: a worker swaps in a newly published or rolled back version whole."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
from test_publish import manifest, tables

import contract as c
from contract.store import FolderStore, StoreError
from pipeline import publish
from service import create_app
from service.reload import LiveDataset, Source, request_dataset

V1, V2 = "20260101T000000Z-a", "20260102T000000Z-b"


def app_over(curated: Path, **config: Any) -> Any:
    """An app serving curated/current, reloading only when the test says so (check())."""
    settings = {"CURATED_DIR": str(curated / "current"), "RELOAD_INTERVAL": 0, "TESTING": True}
    return create_app({**settings, **config})


def live(app: Any) -> LiveDataset:
    found: LiveDataset = app.extensions["kapiko"]
    return found


def served(app: Any) -> tuple[str, str, float]:
    """(version in /health, ETag of /tracks, energy of the first track) as a client sees them."""
    client = app.test_client()
    version = client.get("/api/v1/health").get_json()["data"]["dataset"]["version"]
    listing = client.get("/api/v1/tracks?limit=1")
    return version, listing.headers["ETag"], listing.get_json()["data"][0]["energy"]


@pytest.fixture()
def curated(tmp_path: Path) -> Path:
    """A curated folder with one published version, V1 (first track's energy 0.1)."""
    publish.publish(tables(0.1), FolderStore(tmp_path), manifest(V1))
    return tmp_path


def test_a_publish_is_served_after_the_next_check_with_a_new_etag(curated: Path) -> None:
    app = app_over(curated)
    version, etag, energy = served(app)
    assert (version, energy) == (V1, 0.1) and etag.startswith(f'"{V1}-')
    assert live(app).check() is False  # nothing new
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    assert live(app).check() is True
    version, etag, energy = served(app)
    assert (version, energy) == (V2, 0.9) and etag.startswith(f'"{V2}-')


def test_an_old_etag_gets_the_new_body_not_a_304(curated: Path) -> None:
    app = app_over(curated)
    old = app.test_client().get("/api/v1/genres").headers["ETag"]
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    live(app).check()
    response = app.test_client().get("/api/v1/genres", headers={"If-None-Match": old})
    assert response.status_code == 200 and response.headers["ETag"] != old


def test_a_rollback_is_served_after_the_next_check(curated: Path) -> None:
    app = app_over(curated)
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    live(app).check()
    publish.rollback(FolderStore(curated))
    assert live(app).check() is True
    assert served(app)[0] == V1


def test_a_request_keeps_the_dataset_it_started_with(curated: Path) -> None:
    app = app_over(curated)
    with app.test_request_context("/api/v1/tracks"):
        first = request_dataset()
        publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
        live(app).check()
        assert request_dataset() is first and first.version == V1
    with app.test_request_context("/api/v1/tracks"):
        assert request_dataset().version == V2


def test_a_broken_version_is_logged_and_the_old_one_kept(
    curated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_over(curated)
    second = Path(publish.publish(tables(0.9), FolderStore(curated), manifest(V2)))
    with open(second / c.TRACKS, "ab") as handle:
        handle.write(b"\0")  # the new version no longer matches its manifest
    with caplog.at_level("ERROR", logger="service"):
        assert live(app).check() is False
    assert f"cannot load {second}" in caplog.text
    assert "tracks.parquet does not match the sha256 in the manifest" in caplog.text
    assert f"still serving {V1}" in caplog.text
    caplog.clear()
    assert live(app).check() is False  # not tried again at every look
    assert caplog.text == ""
    assert served(app)[0] == V1


def test_health_is_ok_again_when_the_pointer_is_moved_back_to_what_is_served(
    curated: Path,
) -> None:
    """An operator points `current` at a version that fails, sees "degraded", and moves it back:
    the pointer names what is served again, so health says ok (it said degraded for ever), and
    the failed version, pointed at again, is tried again and is degraded again."""
    app = app_over(curated)
    first = os.path.realpath(curated / "current")
    second = Path(publish.publish(tables(0.9), FolderStore(curated), manifest(V2)))
    with open(second / c.TRACKS, "ab") as handle:
        handle.write(b"\0")
    client = app.test_client()

    def health() -> tuple[str, str]:
        data = client.get("/api/v1/health").get_json()["data"]
        return data["status"], data["dataset"]["version"]

    live(app).check()
    assert health() == ("degraded", V1)
    (curated / "current").unlink()
    (curated / "current").symlink_to(first)  # moved back by hand
    live(app).check()
    assert health() == ("ok", V1)
    (curated / "current").unlink()
    (curated / "current").symlink_to(second)
    live(app).check()
    assert health() == ("degraded", V1)


def test_a_pointer_that_cannot_be_read_is_warned_about_once(
    curated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[str | Exception] = [str(curated / "current")]

    def pointer() -> str:
        answer = answers[-1]
        if isinstance(answer, Exception):
            raise answer
        return os.path.realpath(answer)

    watched = LiveDataset(Source("the test's pointer", pointer, Path))
    answers.append(StoreError("cannot read s3://b/current.json: Connection refused"))
    with caplog.at_level("WARNING", logger="service"):
        assert watched.check() is False
        assert watched.check() is False
    assert caplog.text.count("cannot read the pointer at the test's pointer: cannot read") == 1
    assert f"still serving {V1}" in caplog.text
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    answers.append(str(curated / "current"))  # the store answers again
    assert watched.check() is True and watched.current.version == V2


def test_a_replaced_dataset_is_freed_without_a_collection(curated: Path) -> None:
    app = app_over(curated)
    old = weakref.ref(live(app).current)
    old_index = weakref.ref(live(app).current.index)
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    live(app).check()
    assert old() is None and old_index() is None  # reference counting alone frees it


def test_the_worker_looks_at_the_pointer_by_itself(curated: Path) -> None:
    app = app_over(curated, RELOAD_INTERVAL=0.05)
    publish.publish(tables(0.9), FolderStore(curated), manifest(V2))
    deadline = time.monotonic() + 15
    while served(app)[0] != V2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served(app)[0] == V2


def test_a_dropped_app_is_collected_with_its_dataset_and_its_reload_thread_ends(
    curated: Path,
) -> None:
    before = {thread.ident for thread in threading.enumerate()}
    app = app_over(curated, RELOAD_INTERVAL=0.05)
    watchers = [t for t in threading.enumerate() if t.ident not in before]
    assert [t.name for t in watchers] == ["kapiko-reload"]
    dataset, live_dataset = weakref.ref(live(app).current), weakref.ref(live(app))
    del app
    gc.collect()  # the app is a web of cycles; its frozen dataset must not be kept by them
    assert dataset() is None and live_dataset() is None
    watchers[0].join(timeout=15)
    assert not watchers[0].is_alive()


@pytest.mark.parametrize("value", ["soon", "-1", "nan", ""])
def test_a_bad_reload_interval_is_refused_naming_the_variable(
    curated: Path, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="service"), pytest.raises(ValueError):
        app_over(curated, RELOAD_INTERVAL=value)
    assert f"cannot serve: KAPIKO_RELOAD_INTERVAL={value!r} is not a number of seconds" in (
        caplog.text
    )
