"""Run gunicorn and nginx as one replica: gunicorn on its Unix socket, nginx in front of it.

Each runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which then
stops both in order: nginx first (no new requests), then gunicorn. SIGTERM or SIGHUP stops them
gracefully (open requests finish, within about 10 s each); SIGINT stops them at once. When
either process ends by itself the other is stopped too. If this supervisor is killed outright,
the kernel sends both a SIGTERM (PR_SET_PDEATHSIG), so neither is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from replica.nginx_conf import nginx_conf
from replica.settings import Settings

SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD}
START_TIMEOUT_S = 60  # gunicorn's master imports the service before it binds: seconds, not more
STOP_TIMEOUT_S = 15  # nginx's worker_shutdown_timeout and gunicorn's graceful_timeout are 10 s
_PR_SET_PDEATHSIG = 1


class StartError(RuntimeError):
    """A process of the replica did not start; the message says which and why."""


def find_nginx() -> str:
    """The nginx binary (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise StartError("nginx is not installed: run `make proxy-deps` (apt, as root)")
    return found


def gunicorn_conf() -> Path:
    """service/gunicorn_conf.py, found without importing the service."""
    spec = importlib.util.find_spec("service")
    if spec is None or spec.origin is None:
        raise StartError("the service package is not importable from here")
    return Path(spec.origin).with_name("gunicorn_conf.py")


def prepare(settings: Settings) -> Path:
    """Create the replica's folder and write nginx.conf into it; its path."""
    settings.replica_dir.mkdir(parents=True, exist_ok=True)
    conf = settings.replica_dir.resolve() / "nginx.conf"
    conf.write_text(nginx_conf(settings))
    return conf


def start_gunicorn(settings: Settings) -> subprocess.Popen[bytes]:
    """gunicorn with the service's config, bound to the replica's socket only."""
    folder = settings.replica_dir.resolve()
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(gunicorn_conf()),
        f"--bind=unix:{folder / settings.socket.name}", f"--pid={folder / 'gunicorn.pid'}",
        "service:create_app()",
    ]  # fmt: skip
    # nginx logs every request with the client's address; gunicorn's access log would repeat it.
    env = {**os.environ, "KAPIKO_WORKERS": str(settings.workers), "KAPIKO_ACCESS_LOG": "off"}
    return _start(command, env)


def start_nginx(conf: Path) -> subprocess.Popen[bytes]:
    """nginx in the foreground with the rendered config; its folder is the config's."""
    return _start([find_nginx(), "-e", "stderr", "-p", str(conf.parent), "-c", str(conf)], None)


def _start(command: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, start_new_session=True, preexec_fn=_die_with(os.getpid())
    )


def _die_with(parent: int) -> Callable[[], None]:
    """In the child before exec: unblock signals, and ask for SIGTERM when `parent` dies."""

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before prctl took effect
            os._exit(1)

    return setup


def wait_accepting(
    address: str | tuple[str, int], process: subprocess.Popen[bytes], name: str
) -> None:
    """Return once `address` accepts a connection; StartError if `process` ends or stalls."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET6
    if not isinstance(address, str) and ":" not in address[0]:
        family = socket.AF_INET
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"{name} exited with status {process.returncode} while starting")
        if _pending_stop():
            raise KeyboardInterrupt
        with socket.socket(family) as probe:
            try:
                probe.connect(address)
                return
            except OSError:
                time.sleep(0.05)
    raise StartError(f"{name} did not accept connections on {address} in {START_TIMEOUT_S} s")


def _pending_stop() -> bool:
    return bool(signal.sigpending() & (SIGNALS - {signal.SIGCHLD}))


def wait_for_stop(processes: dict[str, subprocess.Popen[bytes]]) -> tuple[str | None, bool]:
    """Block until a stop signal or a process's end: (the process that ended or None, fast)."""
    while True:
        info = signal.sigwaitinfo(SIGNALS)
        if info.si_signo != signal.SIGCHLD:
            return None, info.si_signo == signal.SIGINT
        for name, process in processes.items():
            if process.poll() is not None:
                return name, False


def stop(
    nginx: subprocess.Popen[bytes] | None, gunicorn: subprocess.Popen[bytes], fast: bool
) -> None:
    """Stop nginx, then gunicorn (gracefully unless `fast`); kill what is left of either."""
    if nginx is not None:
        _stop_one(nginx, signal.SIGTERM if fast else signal.SIGQUIT)
    _stop_one(gunicorn, signal.SIGINT if fast else signal.SIGTERM)


def _stop_one(process: subprocess.Popen[bytes], signum: int) -> None:
    if process.poll() is None:
        process.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):  # its workers are in its process group:
        os.killpg(process.pid, signal.SIGKILL)  # none may outlive it
    process.wait()
