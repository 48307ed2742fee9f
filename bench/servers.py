"""Start, probe and stop gunicorn servers on 127.0.0.1 for the benchmarks.

Every server the benchmarks start runs in its own session and is stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.paths import ROOT

HOST = "127.0.0.1"
MAIN_BIN = ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class Target:
    """One app under test: how gunicorn runs it and which URL says it is up."""

    name: str
    app: str
    ready_path: str
    bin_dir: Path = MAIN_BIN
    gunicorn_args: tuple[str, ...] = ()
    worker_class: str = "sync"
    env: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    """A TCP port on the loopback address that is free right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def gunicorn_command(target: Target, port: int, workers: int) -> list[str]:
    """The gunicorn command line: the same settings for every target but the worker class."""
    return [
        str(target.bin_dir / "gunicorn"),
        *target.gunicorn_args,  # before the flags below, which then win over a config file
        f"--workers={workers}",
        f"--worker-class={target.worker_class}",
        f"--bind={HOST}:{port}",
        "--no-control-socket",
        "--log-level=warning",
        f"--chdir={ROOT}",
        target.app,
    ]


def start(target: Target, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """Start gunicorn for `target` in its own session; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **target.env}
    with log.open("ab") as sink:
        return subprocess.Popen(
            gunicorn_command(target, port, workers),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET a path on the loopback server: (status, body); status 0 if nothing answered."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def wait_ready(server: subprocess.Popen[bytes], port: int, path: str, limit: float = 60.0) -> float:
    """Seconds until `path` first answers 200; raises RuntimeError if the server dies or stalls."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode} before answering {path}")
        status, _ = get(port, path, timeout=limit)
        if status == 200:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise RuntimeError(f"{path} did not answer 200 within {limit:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop a server we started: TERM to its master (which stops its workers), then KILL."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def worker_pids(master: int) -> list[int]:
    """Pids of the master's child processes (gunicorn workers)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def memory_kb(pid: int) -> dict[str, int]:
    """Memory of a process in kB from /proc/<pid>/smaps_rollup: rss; pss (shared pages divided
    among the processes mapping them); private (clean + dirty) and private dirty (the memory the
    process itself wrote: its heap, not pages of files it maps, which the page cache shares);
    anonymous (the heap alone: a file page the kernel has not yet written back counts as dirty
    too, so a cache built a moment ago shows in private dirty, never in anonymous)."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {
        "rss_kb": fields.get("Rss", 0),
        "private_kb": private,
        "private_dirty_kb": fields.get("Private_Dirty", 0),
        "anonymous_kb": fields.get("Anonymous", 0),
        "pss_kb": fields.get("Pss", 0),
    }
