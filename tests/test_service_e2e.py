"""End to end: the real gunicorn with service/gunicorn_conf.py, over real HTTP (urllib).

Also: a worker refuses to start, with a clear log line, on a missing or mismatched dataset.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    START_TIMEOUT_S,
    free_port,
    gunicorn,
    request,
    start_gunicorn,
    stop,
    wait_for,
)


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


def test_gunicorn_refuses_to_start_without_a_dataset(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    server = start_gunicorn(tmp_path / "nothing-here", log, free_port())
    try:
        assert server.wait(timeout=START_TIMEOUT_S) != 0
    finally:
        stop(server)
    text = log.read_text()
    assert f"no curated dataset at {tmp_path / 'nothing-here'}" in text
    assert "run `make ingest`" in text


def test_gunicorn_refuses_a_dataset_that_does_not_match_its_manifest(
    tiny_curated_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_curated_dir, broken)
    shutil.copy(broken / "genres.parquet", broken / "tracks.parquet")
    log = tmp_path / "out.log"
    server = start_gunicorn(broken, log, free_port())
    try:
        assert server.wait(timeout=START_TIMEOUT_S) != 0
    finally:
        stop(server)
    assert "tracks.parquet does not match the sha256 in the manifest" in log.read_text()
