"""`python -m replica`: serve through nginx in front of gunicorn until stopped (make replica).

Exit status: 0 when stopped by a signal, 1 when a process failed to start or ended by itself,
2 for a bad KAPIKO_* setting.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from replica import supervise
from replica.settings import SettingError, Settings, settings_from_env


def main() -> int:
    """Start the replica, wait, and stop both processes together."""
    try:
        settings = settings_from_env()
    except SettingError as error:
        print(f"kapiko replica: {error}", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, supervise.SIGNALS)  # taken by sigwaitinfo only
    return serve(settings)


def serve(settings: Settings) -> int:
    """Run both processes until a signal or until one ends; the exit status."""
    conf = supervise.prepare(settings)
    gunicorn = supervise.start_gunicorn(settings)
    nginx: subprocess.Popen[bytes] | None = None
    try:
        supervise.wait_accepting(str(settings.socket.resolve()), gunicorn, "gunicorn")
        nginx = supervise.start_nginx(conf)
        probe = "127.0.0.1" if settings.host == "0.0.0.0" else settings.host
        probe = "::1" if probe == "::" else probe
        supervise.wait_accepting((probe, settings.port), nginx, "nginx")
        print(ready_line(settings, nginx.pid, gunicorn.pid), file=sys.stderr, flush=True)
        ended, fast = supervise.wait_for_stop({"nginx": nginx, "gunicorn": gunicorn})
    except supervise.StartError as error:
        print(f"kapiko replica: {error}; stopping", file=sys.stderr)
        supervise.stop(nginx, gunicorn, fast=True)
        return 1
    except KeyboardInterrupt:  # a stop signal came while starting
        supervise.stop(nginx, gunicorn, fast=True)
        return 0
    supervise.stop(nginx, gunicorn, fast)
    if ended is not None:
        print(f"kapiko replica: {ended} ended by itself; both are stopped", file=sys.stderr)
        return 1
    print("kapiko replica: stopped nginx and gunicorn", file=sys.stderr)
    return 0


def ready_line(settings: Settings, nginx_pid: int, gunicorn_pid: int) -> str:
    """What the replica prints once it answers (tests wait for it and read the pids from it)."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return (
        f"kapiko replica: serving http://{host}:{settings.port}/ with nginx (pid {nginx_pid}) "
        f"in front of gunicorn (pid {gunicorn_pid}, {settings.workers} workers) on "
        f"unix:{settings.socket}; Ctrl-C stops both"
    )


if __name__ == "__main__":
    raise SystemExit(main())
