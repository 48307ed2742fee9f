"""End to end: the real gunicorn with service/gunicorn_conf.py, over real HTTP (urllib).

Also: a worker without a dataset it can serve still starts, says why in one log line, answers
503 with the reason, and serves what is published next.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    free_port,
    gunicorn,
    request,
    start_gunicorn,
    stop,
    wait_for,
    wait_until_ready,
)
from test_publish import manifest, tables

from contract.store import FolderStore
from pipeline import publish


@pytest.fixture(scope="module")
def served(
    tiny_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    with gunicorn(tiny_curated_dir, tmp_path_factory.mktemp("gunicorn")) as server:
        yield server.base, server.log


def test_serves_json_with_cors_over_http(served: tuple[str, Path]) -> None:
    base, _ = served
    status, headers, body = request(f"{base}/api/v1/stats")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body)["data"]["totals"] == {"tracks": 6, "genres": 3}
    status, _, body = request(f"{base}/api/v1/tracks?genre=sleep&sort=energy&limit=2")
    assert [t["name"] for t in json.loads(body)["data"]] == ["delta", "alpha"]
    status, _, body = request(f"{base}/api/v1/tracks/{4:0>22}")
    assert json.loads(body)["data"]["genres"] == ["sleep", "piano"]


def test_errors_over_http(served: tuple[str, Path]) -> None:
    base, _ = served
    status, headers, body = request(f"{base}/api/v1/tracks?limit=0")
    assert status == 400
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body)["status"] == 400
    status, headers, body = request(f"{base}/api/v1/stats", method="POST")
    assert (status, json.loads(body)["status"]) == (405, 405)
    assert "GET" in headers["Allow"]
    status, _, body = request(f"{base}/nowhere")
    assert json.loads(body) == {
        "error": "Not found: no endpoint at /nowhere; see /api/v1/openapi.json",
        "status": 404,
    }


def test_etag_revalidation_over_http(served: tuple[str, Path]) -> None:
    base, _ = served
    _, headers, _ = request(f"{base}/api/v1/genres")
    status, again, body = request(
        f"{base}/api/v1/genres", headers={"If-None-Match": headers["ETag"]}
    )
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]


def test_no_control_socket(served: tuple[str, Path]) -> None:
    _, log = served
    assert not (log.parent / ".gunicorn").exists()


def test_logs_go_to_stdout(served: tuple[str, Path]) -> None:
    base, log = served
    request(f"{base}/api/v1/health")
    access = '"GET /api/v1/health HTTP/1.1" 200'
    # The worker writes the access line after the response is sent: wait for the line itself.
    assert wait_for(lambda: access in log.read_text()), log.read_text()
    assert "serving curated dataset 20260322T000000Z-tiny0001" in log.read_text()


def test_gunicorn_without_a_dataset_answers_503_then_serves_what_is_published(
    tmp_path: Path,
) -> None:
    curated = tmp_path / "curated"
    log = tmp_path / "out.log"
    env = {"KAPIKO_RELOAD_INTERVAL": "0.2"}
    port = free_port()
    server = start_gunicorn(curated / "current", log, port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        _, headers, body = wait_until_ready(base, server, log, status=503)
        error = json.loads(body)
        assert (
            error["status"] == 503
            and f"no curated dataset at {curated / 'current'}" in error["error"]
        )
        assert headers["Retry-After"] and headers["Access-Control-Allow-Origin"] == "*"
        publish.publish(tables(), FolderStore(curated), manifest("20260101T000000Z-a"))
        _, _, body = wait_until_ready(base, server, log, status=200)
        assert json.loads(body)["data"]["dataset"]["version"] == "20260101T000000Z-a"
    finally:
        stop(server)
    text = log.read_text()
    # Once per worker that started before the publish (a slow one may start after it), never
    # at every look at the pointer (five a second here).
    assert 1 <= text.count("cannot serve: ") <= 2
    assert "run `make ingest`" in text


def test_gunicorn_answers_503_over_a_dataset_that_does_not_match_its_manifest(
    tiny_curated_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_curated_dir, broken)
    shutil.copy(broken / "genres.parquet", broken / "tracks.parquet")
    log = tmp_path / "out.log"
    port = free_port()
    server = start_gunicorn(broken, log, port)
    try:
        _, _, body = wait_until_ready(f"http://127.0.0.1:{port}", server, log, 503)
    finally:
        stop(server)
    assert "tracks.parquet does not match the sha256 in the manifest" in json.loads(body)["error"]
    assert "tracks.parquet does not match the sha256 in the manifest" in log.read_text()
