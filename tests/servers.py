"""Real servers for tests: gunicorn running the service as `make serve` does, on 127.0.0.1 only.

Each server is started in its own process group and stopped by it (SIGTERM, then SIGKILL), so
no worker outlives its test. Tests import these helpers (like builders.py); nothing here mocks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30
EVENT_TIMEOUT_S = 15  # what a test waits for happens within a few seconds; generously


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    curated: Path | None,
    log: Path,
    port: int,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
) -> subprocess.Popen[bytes]:
    """gunicorn with service/gunicorn_conf.py on 127.0.0.1:port, its output to `log`.

    It serves `curated`, or (None) the S3 store that KAPIKO_STORE in `env` names.
    """
    environment = {
        **{k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"},
        "HOME": str(log.parent),  # where gunicorn would put its control socket
        "KAPIKO_HOST": "127.0.0.1",
        "KAPIKO_PORT": str(port),
        "KAPIKO_WORKERS": str(workers),
        **({} if curated is None else {"KAPIKO_CURATED_DIR": str(curated)}),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "gunicorn", "--config", "service/gunicorn_conf.py",
        "service:create_app()",
    ]  # fmt: skip
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group, stopped as one
        )


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until_ready(
    base: str, server: subprocess.Popen[bytes], log: Path, status: int = 200
) -> Any:
    """Return (status, headers, body) once /api/v1/health answers `status`; fail the test with
    the log if it never does, or if gunicorn exits."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            answer = request(f"{base}/api/v1/health")
            if answer[0] == status:
                return answer
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn's health not {status} after {START_TIMEOUT_S} s:\n{log.read_text()}")


def wait_for(condition: Callable[[], bool], timeout: float = EVENT_TIMEOUT_S) -> bool:
    """Whether condition() comes true within `timeout` seconds, looking every 0.05 s.

    For events a test sees only from outside (a log line, answers from a load): a wait ends as
    soon as the event happens, however loaded the machine, instead of after a fixed time.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a server's whole process group: SIGTERM, then SIGKILL after 15 s."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@dataclass(frozen=True)
class Served:
    """A running server: its base URL, log file and process."""

    base: str
    log: Path
    process: subprocess.Popen[bytes]


@contextmanager
def gunicorn(
    curated: Path | None, folder: Path, env: Mapping[str, str] | None = None, workers: int = 2
) -> Iterator[Served]:
    """A ready gunicorn serving `curated`, stopped on exit; its log is folder/gunicorn.log."""
    folder.mkdir(parents=True, exist_ok=True)
    log, port = folder / "gunicorn.log", free_port()
    server = start_gunicorn(curated, log, port, env, workers)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server, log)
        yield Served(base, log, server)
    finally:
        stop(server)
