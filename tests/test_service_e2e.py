"""End to end: the real gunicorn with service/gunicorn_conf.py, over real HTTP (urllib).

Also: a worker refuses to start, with a clear log line, on a missing or mismatched dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(curated: Path, log: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"},
        "HOME": str(log.parent),  # where gunicorn would put its control socket
        "KAPIKO_HOST": "127.0.0.1",
        "KAPIKO_PORT": str(port),
        "KAPIKO_WORKERS": "2",
        "KAPIKO_CURATED_DIR": str(curated),
    }
    command = [
        sys.executable, "-m", "gunicorn", "--config", "service/gunicorn_conf.py",
        "service:create_app()",
    ]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            if request(f"{base}/api/v1/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn not ready after {START_TIMEOUT_S} s:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def served(
    tiny_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("gunicorn") / "out.log"
    port = free_port()
    server = start_gunicorn(tiny_curated_dir, log, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, log)
        yield base, log
    finally:
        stop(server)


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
    time.sleep(0.2)
    text = log.read_text()
    assert "serving curated dataset 20260322T000000Z-tiny0001" in text
    assert '"GET /api/v1/health HTTP/1.1" 200' in text  # the access log


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
