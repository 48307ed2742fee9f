"""A real replica for tests: `python -m replica` (what `make replica` runs) on 127.0.0.1.

nginx runs in the foreground (daemon off, master_process on) with its config, pid, socket and
temp files in the test's folder, on a free port. The supervisor runs in its own process group and
is stopped by it; it stops nginx and gunicorn, and the test checks that both pids are gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import PROJECT_ROOT, free_port

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
READY = re.compile(r"nginx \(pid (\d+)\) in front of gunicorn \(pid (\d+)")


@dataclass(frozen=True)
class Replica:
    """A running replica: nginx's port, the supervisor, and the two pids it started."""

    port: int
    folder: Path
    log: Path
    process: subprocess.Popen[bytes]
    nginx_pid: int
    gunicorn_pid: int

    @property
    def base(self) -> str:
        """The replica's URL."""
        return f"http://127.0.0.1:{self.port}"


def replica_env(
    curated: Path, folder: Path, port: int, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a replica serving `curated` on 127.0.0.1:port from `folder`."""
    return {
        **{k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"},
        "HOME": str(folder),
        "KAPIKO_CURATED_DIR": str(curated),
        "KAPIKO_HOST": "127.0.0.1",
        "KAPIKO_PORT": str(port),
        "KAPIKO_REPLICA_DIR": str(folder / "run"),
        **(settings or {}),
    }


def wait_for_ready_line(process: subprocess.Popen[bytes], log: Path) -> tuple[int, int]:
    """The (nginx, gunicorn) pids from the supervisor's ready line, once it is printed."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if found := READY.search(log.read_text(errors="replace")):
            return int(found.group(1)), int(found.group(2))
        if process.poll() is not None:
            pytest.fail(f"the replica exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    pytest.fail(f"the replica did not say it was ready in {START_TIMEOUT_S} s:\n{log.read_text()}")


def alive(pid: int) -> bool:
    """Whether a process exists (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def stop_group(process: subprocess.Popen[bytes], signum: int = signal.SIGINT) -> None:
    """Send `signum` to the supervisor's process group and wait for it; SIGKILL if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signum)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_gone(pids: list[int], seconds: float = STOP_TIMEOUT_S) -> list[int]:
    """Wait until none of `pids` (and none of their process groups) lives; those still alive."""
    deadline = time.monotonic() + seconds
    while True:
        left = [pid for pid in pids if alive(pid) or group_members(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@contextmanager
def replica(
    curated: Path, folder: Path, settings: Mapping[str, str] | None = None
) -> Iterator[Replica]:
    """A ready replica serving `curated`, stopped (Ctrl-C to its group) on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), folder / "replica.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "replica"],
            cwd=PROJECT_ROOT,
            env=replica_env(curated, folder, port, settings),
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group, stopped as one
        )
    pids: list[int] = []
    try:
        pids.extend(wait_for_ready_line(process, log))
        yield Replica(port, folder, log, process, pids[0], pids[1])
    finally:
        stop_group(process)
        for pid in wait_gone(pids):  # never leave one behind, even when a test fails
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
