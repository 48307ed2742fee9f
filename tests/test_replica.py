"""make replica / python -m replica: nginx in front of gunicorn, against slow clients, floods and
for the headers a public API sends; real processes on loopback, over the six-track dataset."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY_VERSION
from proxy import (
    Replica,
    alive,
    replica,
    replica_env,
    stop_group,
    wait_for_ready_line,
    wait_gone,
)
from servers import PROJECT_ROOT, free_port

from bench.clients import SlowClients, get, latencies_ms, percentile, statuses
from replica.nginx_conf import EXPOSED_HEADERS, RETRY_AFTER_S
from service.explorer import CONTENT_SECURITY_POLICY
from service.headers import EXPOSED_HEADERS as APP_EXPOSED_HEADERS
from service.headers import etag_for

CLIENT_TIMEOUT_S = 2  # short, so the slow clients are closed within the test
RATE = {"KAPIKO_RATE_LIMIT": "5", "KAPIKO_RATE_BURST": "10", "KAPIKO_TRUSTED_PROXIES": "127.0.0.4"}


@pytest.fixture(scope="module")
def open_replica(
    tiny_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replica]:
    """The replica with its default limits and a short client timeout."""
    settings = {"KAPIKO_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT_S)}
    with replica(tiny_curated_dir, tmp_path_factory.mktemp("replica"), settings) as served:
        yield served


def assert_json_error(status: int, headers, body: bytes, expected: int) -> dict:  # type: ignore[no-untyped-def]
    """nginx's own errors have the API's one error body and its CORS headers."""
    assert status == expected
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "*"
    exposed = [name.strip() for name in headers["Access-Control-Expose-Headers"].split(",")]
    assert exposed == list(EXPOSED_HEADERS)
    payload = json.loads(body)
    assert set(payload) == {"error", "status"} and payload["status"] == expected
    assert len(payload["error"]) > 20
    return dict(payload)


# ---------------------------------------------------------------- headers through the proxy
def test_the_proxy_exposes_the_apps_headers_and_retry_after() -> None:
    assert (*APP_EXPOSED_HEADERS, "Retry-After") == EXPOSED_HEADERS


def test_api_headers_pass_through_unchanged(open_replica: Replica) -> None:
    status, headers, body = get(open_replica.port, "/api/v1/stats")
    assert status == 200 and json.loads(body)["data"]["totals"]["tracks"] == 6
    assert headers["ETag"] == etag_for(TINY_VERSION, "/api/v1/stats?")
    assert headers["Cache-Control"] == "public, max-age=300"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Expose-Headers"] == ", ".join(APP_EXPOSED_HEADERS)
    assert get(open_replica.port, "/api/v1/health")[1]["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/api/v1/genres", "application/json"),
        ("/api/v1/tracks?format=csv", "text/csv; charset=utf-8"),
        ("/api/v1/tracks/export?format=ndjson", "application/x-ndjson"),
    ],
)
def test_json_csv_and_ndjson_are_gzipped_when_asked_and_revalidate(
    open_replica: Replica, path: str, media_type: str
) -> None:
    port = open_replica.port
    plain_status, plain_headers, plain = get(port, path)
    assert plain_status == 200 and "Content-Encoding" not in plain_headers
    status, headers, packed = get(port, path, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Type"] == media_type
    assert headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(packed) == plain and len(packed) < len(plain)
    strong = plain_headers["ETag"]
    assert headers["ETag"] == f"W/{strong}"  # nginx marks a compressed body's ETag weak
    for etag, encoding in ((strong, "identity"), (f"W/{strong}", "gzip")):
        status, headers, body = get(
            port, path, headers={"If-None-Match": etag, "Accept-Encoding": encoding}
        )
        assert (status, body) == (304, b"")
        assert headers["ETag"] == strong and headers["Access-Control-Allow-Origin"] == "*"


def test_the_explorer_keeps_its_content_security_policy(open_replica: Replica) -> None:
    status, headers, body = get(open_replica.port, "/", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert b"<html" in gzip.decompress(body) if headers["Content-Encoding"] else b"<html" in body


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/stats", {}),
        ("/api/v1/nope", {}),
        ("/" + "x" * 9000, {}),  # nginx's own 414
        ("/api/v1/stats", {"X-Big": "y" * 9000}),  # nginx's own 400 (header too large)
    ],
)
def test_no_answer_names_the_server_software_or_its_version(
    open_replica: Replica, path: str, headers: dict[str, str]
) -> None:
    status, answer_headers, body = get(open_replica.port, path, headers=headers)
    assert answer_headers["Server"] == "nginx"  # stock nginx cannot drop it; no version
    everything = (str(answer_headers) + body.decode(errors="replace")).lower()
    assert "gunicorn" not in everything and "nginx/" not in everything
    assert "werkzeug" not in everything and "x-powered-by" not in everything
    if status >= 400:
        assert json.loads(body)["status"] == status


def test_a_request_body_is_refused_before_it_is_read(open_replica: Replica) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", open_replica.port, timeout=10)
    connection.request("POST", "/api/v1/stats", body=b"x" * 100)
    response = connection.getresponse()
    assert_json_error(response.status, response.headers, response.read(), 413)
    connection.close()


# ---------------------------------------------------------------- slow clients
def test_slow_clients_do_not_slow_others_and_are_closed_after_the_timeout(
    open_replica: Replica,
) -> None:
    slow = SlowClients(open_replica.port, count=256, source="127.0.0.5")
    try:
        slow.open()
        took = latencies_ms(open_replica.port, "/api/v1/stats", "127.0.0.6", count=100, seconds=20)
        slow.trickle_until_closed(seconds=CLIENT_TIMEOUT_S + 15)
    finally:
        slow.close()
    assert len(took) == 100 and percentile(took, 0.99) <= 1000
    assert len(slow.closed_after_s) == 256  # every trickler was closed by the server
    # Headers: at the timeout, however they trickle. Bodies: refused at once, then read for at
    # most lingering_time (the same timeout) before the connection is closed.
    assert max(slow.closed_after_s) <= CLIENT_TIMEOUT_S + 10


# ---------------------------------------------------------------- floods
@pytest.fixture(scope="module")
def strict_replica(
    tiny_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replica]:
    """A replica with a low rate limit (5/s, bursts of 10) and 127.0.0.4 as a trusted proxy."""
    with replica(tiny_curated_dir, tmp_path_factory.mktemp("strict"), RATE) as served:
        yield served


def test_a_flooding_client_gets_429_with_the_json_body_and_others_do_not(
    strict_replica: Replica,
) -> None:
    port = strict_replica.port
    flood = statuses(port, "/api/v1/stats", "127.0.0.2", count=40)
    assert flood[:10] == [200] * 10 and flood.count(429) >= 10 and set(flood) == {200, 429}
    status, headers, body = get(port, "/api/v1/stats", "127.0.0.2")
    if status == 429:  # the bucket may have a token again by now: check one we know is refused
        assert_json_error(status, headers, body, 429)
    refused = [get(port, "/api/v1/stats", "127.0.0.2") for _ in range(20)]
    status, headers, body = next(answer for answer in refused if answer[0] == 429)
    assert_json_error(status, headers, body, 429)
    assert headers["Retry-After"] == str(RETRY_AFTER_S)
    assert statuses(port, "/api/v1/stats", "127.0.0.3", count=8) == [200] * 8


def test_forwarded_addresses_count_only_from_a_trusted_proxy(strict_replica: Replica) -> None:
    port = strict_replica.port
    spoofed = {"X-Forwarded-For": "198.51.100.7"}  # from an untrusted peer: ignored
    assert 429 in statuses(port, "/api/v1/stats", "127.0.0.7", count=30, headers=spoofed)
    assert 429 in statuses(
        port, "/api/v1/stats", "127.0.0.7", count=5, headers={"X-Forwarded-For": "198.51.100.8"}
    )
    behind = {"X-Forwarded-For": "198.51.100.1"}  # through the trusted proxy: that client
    assert 429 in statuses(port, "/api/v1/stats", "127.0.0.4", count=30, headers=behind)
    other = {"X-Forwarded-For": "198.51.100.2"}
    assert statuses(port, "/api/v1/stats", "127.0.0.4", count=8, headers=other) == [200] * 8


# ---------------------------------------------------------------- stopping together
def start_supervisor(curated: Path, folder: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    """python -m replica in its own process group, once it has said it is ready."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "replica.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "replica"],
            cwd=PROJECT_ROOT,
            env=replica_env(curated, folder, free_port()),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return (process, *wait_for_ready_line(process, log))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_supervisor_stops_nginx_and_gunicorn(
    tiny_curated_dir: Path, tmp_path: Path, signum: int
) -> None:
    process, nginx_pid, gunicorn_pid = start_supervisor(tiny_curated_dir, tmp_path)
    try:
        os.kill(process.pid, signum)  # the supervisor alone: not its children's groups
        process.wait(timeout=30)
        assert wait_gone([nginx_pid, gunicorn_pid]) == []  # masters and their workers
    finally:
        stop_group(process)
        for pid in (nginx_pid, gunicorn_pid):
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
    assert process.returncode == (-signal.SIGKILL if signum == signal.SIGKILL else 0)


def test_when_gunicorn_ends_nginx_is_stopped_too(tiny_curated_dir: Path, tmp_path: Path) -> None:
    process, nginx_pid, gunicorn_pid = start_supervisor(tiny_curated_dir, tmp_path)
    try:
        os.killpg(gunicorn_pid, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert wait_gone([nginx_pid, gunicorn_pid]) == []
    finally:
        stop_group(process)
    assert "gunicorn ended by itself" in (tmp_path / "replica.log").read_text()


def test_make_replica_serves_and_ctrl_c_stops_both(tiny_curated_dir: Path, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "make.log"
    command = ["make", "--no-print-directory", "replica", f"PORT={port}", "CLIENT_TIMEOUT=3",
               f"REPLICA_DIR={tmp_path / 'run'}"]  # fmt: skip
    env = {**replica_env(tiny_curated_dir, tmp_path, port), "MAKEFLAGS": ""}
    with open(log, "ab") as out:
        make = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        nginx_pid, gunicorn_pid = wait_for_ready_line(make, log)
        assert "client_header_timeout 3s;" in (tmp_path / "run" / "nginx.conf").read_text()
        assert get(port, "/api/v1/health")[0] == 200
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
        make.wait(timeout=30)
        assert wait_gone([nginx_pid, gunicorn_pid]) == []
    finally:
        stop_group(make, signal.SIGTERM)
    assert "stopped nginx and gunicorn" in log.read_text()
