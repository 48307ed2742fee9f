"""Never down, never garbage: damaged files, a lost folder, a pointer out of the store, errors
outside the envelope; against a real gunicorn (2 workers), as a client and an operator see it."""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import Served, free_port, request, start_gunicorn, stop, wait_until_ready
from test_publish import manifest, tables

import contract as c
from contract.store import FolderStore
from pipeline import publish
from service import cache

V1, V2 = "20260101T000000Z-a", "20260102T000000Z-b"
WAIT_S = 30  # generous: the machine may be busy; every wait ends at its event


def eventually(check: Any) -> Any:
    """check()'s first truthy answer within WAIT_S (polled), or a failed test."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"not within {WAIT_S} s: {check.__doc__ or check}")


@pytest.fixture()
def store(tmp_path: Path) -> FolderStore:
    """A folder store with two published versions, V2 current (first track's energy 0.9)."""
    folder = FolderStore(tmp_path / "curated")
    publish.publish(tables(0.1), folder, manifest(V1, 1))
    publish.publish(tables(0.9), folder, manifest(V2, 2))
    return folder


@pytest.fixture()
def served(store: FolderStore, tmp_path: Path) -> Iterator[Served]:
    """gunicorn over the store's `current`, looking at it every 0.2 s."""
    log, port = tmp_path / "gunicorn.log", free_port()
    server = start_gunicorn(
        store.root / "current", log, port, {"KAPIKO_RELOAD_INTERVAL": "0.2"}, workers=2
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, log)
        eventually(lambda: log.read_text().count("service: serving curated dataset") == 2)  # both
        yield Served(base, log, server)
    finally:
        stop(server)


def health(base: str) -> tuple[int, dict[str, Any]]:
    status, _, body = request(f"{base}/api/v1/health")
    return status, json.loads(body)


def damage(path: Path) -> None:
    """Flip one byte in the middle of a file, keeping its size (as root: it is read-only)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_version_that_does_not_verify_is_not_served_and_the_last_good_one_is(
    store: FolderStore, tmp_path: Path
) -> None:
    damage(store.root / "versions" / V2 / c.TRACKS)  # the current version, before any start
    log, port = tmp_path / "gunicorn.log", free_port()
    server = start_gunicorn(store.root / "current", log, port, workers=2)
    try:
        _, _, body = wait_until_ready(f"http://127.0.0.1:{port}", server, log)
        data = json.loads(body)["data"]
    finally:
        stop(server)
    assert data["status"] == "degraded" and data["dataset"]["version"] == V1
    assert f"cannot load {store.root / 'versions' / V2}" in data["reason"]
    assert "tracks.parquet does not match the sha256 in the manifest" in data["reason"]
    assert log.read_text().count(f"serving {V1}, not what the pointer names") == 2  # a worker each


def test_a_damaged_mapped_file_is_never_sent_and_the_cache_is_rebuilt(served: Served) -> None:
    url = f"{served.base}/api/v1/tracks?limit=2"
    status, _, good = request(url)
    assert status == 200
    (entry,) = [p for p in (served.log.parent / "curated" / "versions" / ".serving").iterdir()
                if p.name.startswith(V2)]  # fmt: skip
    damage(entry / "texts.arrow")
    answers = []
    for _ in range(40):  # every answer is the true body or a 503 that says so: never garbage
        status, headers, body = request(url)
        answers.append(status)
        if status == 503:
            assert json.loads(body)["status"] == 503 and "ETag" not in headers
            assert "Cache-Control" not in headers and headers["Retry-After"]
        else:
            assert (status, body) == (200, good)
    eventually(lambda: request(url)[2] == good and health(served.base)[1]["data"]["status"] == "ok")
    assert cache.usable(entry, V2, rehash=True)  # rebuilt, and whole


def test_a_truncated_mapped_file_does_not_take_the_service_down(served: Served) -> None:
    (entry,) = [p for p in (served.log.parent / "curated" / "versions" / ".serving").iterdir()
                if p.name.startswith(V2)]  # fmt: skip
    rows = entry / "rows.arrow"
    os.truncate(rows, 4096)  # a worker touching the lost pages dies of SIGBUS
    dropped = 0
    for _ in range(10):
        try:
            request(f"{served.base}/api/v1/tracks?sort=energy_asc&limit=5")
        except (OSError, http.client.HTTPException):  # the request a dying worker held
            dropped += 1
    assert served.process.poll() is None  # the master goes on and starts workers again
    eventually(lambda: health(served.base)[0] == 200)
    status, _, body = request(f"{served.base}/api/v1/tracks?limit=1")
    assert status == 200 and json.loads(body)["data"][0]["energy"] == 0.9
    assert dropped <= 2  # at most the one request each worker was answering


def test_a_deleted_live_folder_is_said_in_health_and_in_the_log_once(served: Served) -> None:
    folder = served.log.parent / "curated" / "versions"
    shutil.rmtree(folder / V1)  # the one a fall-back could serve
    os.chmod(folder / V2, 0o755)
    shutil.rmtree(folder / V2)  # rm -rf of the live version

    def degraded() -> dict[str, Any] | None:
        """/health says degraded with the reason, on a few answers in a row (both workers)."""
        answers = [health(served.base) for _ in range(6)]
        fine = all(
            status == 200 and body["data"]["status"] == "degraded" for status, body in answers
        )
        return answers[-1][1]["data"] if fine else None

    data = eventually(degraded)
    assert (
        data["dataset"]["version"] == V2
        and f"no curated dataset at {folder / V2}" in data["reason"]
    )
    status, _, body = request(f"{served.base}/api/v1/tracks?limit=1")  # still its true data
    assert status == 200 and json.loads(body)["data"][0]["energy"] == 0.9
    publish_and_wait(served, "20260103T000000Z-c")  # many looks later, and then fine again
    assert served.log.read_text().count(f"service: version {V2} no longer verifies") == 2


def publish_and_wait(served: Served, version: str) -> None:
    """Publish a good version and wait until both workers serve it, fine (many looks later)."""
    store = FolderStore(served.log.parent / "curated")
    publish.publish(tables(0.3), store, manifest(version, 3))

    def everywhere() -> bool:
        """/health names the new version, ok, on a few answers in a row."""
        return all(
            health(served.base)[1]["data"].get("dataset", {}).get("version") == version
            and health(served.base)[1]["data"]["status"] == "ok"
            for _ in range(6)
        )

    eventually(everywhere)


def test_current_naming_a_folder_outside_the_store_is_not_served(
    store: FolderStore, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / V2
    shutil.copytree(store.root / "versions" / V2, outside)
    link = store.root / "current"
    link.unlink()
    link.symlink_to(outside)
    log, port = tmp_path / "gunicorn.log", free_port()
    server = start_gunicorn(link, log, port, workers=1)
    try:
        _, _, body = wait_until_ready(f"http://127.0.0.1:{port}", server, log)
    finally:
        stop(server)
    data = json.loads(body)["data"]
    assert data["status"] == "degraded" and "not a version of this store" in data["reason"]
    assert data["dataset"]["version"] == V2  # the store's own copy, the newest that verifies
    assert not (outside.parent / ".stamps").exists()  # nothing written outside the store


def test_a_parquet_file_polars_cannot_read_is_one_clear_line(
    store: FolderStore, served: Served
) -> None:
    """Bytes that match the manifest but are no Parquet: refused once, without a traceback."""
    folder = store.root / "versions" / "20260103T000000Z-c"
    shutil.copytree(store.root / "versions" / V2, folder)
    os.chmod(folder, 0o755)
    os.chmod(folder / c.GENRES, 0o644)
    (folder / c.GENRES).write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    document = json.loads((folder / c.MANIFEST).read_text())
    document["version"] = folder.name
    document["files"][c.GENRES] |= {"sha256": c.file_sha256(folder / c.GENRES), "bytes": 72}
    os.chmod(folder / c.MANIFEST, 0o644)
    (folder / c.MANIFEST).write_text(json.dumps(document))
    store.move_pointer(folder.name, store.pointer())

    def refused() -> bool:
        """/health says why the new version is not served, on a few answers (both workers)."""
        reasons = [health(served.base)[1]["data"].get("reason", "") for _ in range(6)]
        return all("genres.parquet is unreadable" in reason for reason in reasons)

    eventually(refused)
    publish_and_wait(served, "20260104T000000Z-d")  # many looks later
    text = served.log.read_text()
    assert text.count("genres.parquet is unreadable") == 2 and "Traceback" not in text


def test_every_error_is_the_json_envelope_with_nosniff(served: Served) -> None:
    long_query = "x" * 5000  # over gunicorn's 4,094-byte request line
    status, headers, body = request(f"{served.base}/api/v1/tracks?artist={long_query}")
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == 414 and headers["X-Content-Type-Options"] == "nosniff"
    connection = http.client.HTTPConnection("127.0.0.1", int(served.base.rsplit(":", 1)[1]))
    connection.putrequest("GET", "/api/v1/stats")
    for n in range(120):  # over gunicorn's 100 headers
        connection.putheader(f"X-Many-{n}", "x")
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 431 and json.loads(answer.read())["status"] == 431
    connection.close()
    status, headers, body = request(
        f"{served.base}/api/v1//stats", headers={"Host": "evil.example"}
    )
    assert status == 404 and "Location" not in headers and json.loads(body)["status"] == 404
    for url in ("/api/v1/stats", "/api/v1/nope", "/"):
        assert request(served.base + url)[1]["X-Content-Type-Options"] == "nosniff"


def test_the_log_shows_control_characters_escaped() -> None:
    """gunicorn refuses them in headers (400, without echoing the value); what the service logs
    from a request (a decoded path in an error line) goes through the escaping formatter."""
    from service import gunicorn_conf
    from service.logs import EscapingFormatter

    formatter = gunicorn_conf.logconfig_dict["formatters"]["generic"]
    assert formatter["()"] == "service.logs.EscapingFormatter"
    record = logging.LogRecord(
        "service", logging.ERROR, "x", 1, "answering GET %s", ("/a\x1b[2J\u202eb",), None
    )
    line = EscapingFormatter(fmt=formatter["fmt"]).format(record)
    assert "\x1b" not in line and "\u202e" not in line
    assert "answering GET /a\\x1b[2J\\u202eb" in line
