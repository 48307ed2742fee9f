"""Live-reload benchmark: how long a publish takes to reach every worker, from a folder or S3.

    python -m bench.propagation --data-dir DIR [--store s3://bucket/prefix] [--publishes 5]

DIR holds raw/ for `python -m pipeline ingest` (a copy of data/raw after `make raw`, say). Each
round publishes anew (`ingest --force --no-data-docs`, a subprocess, as a pipeline job would)
and times, from the moment the pointer moves (polled every 20 ms), until every instance has
answered /api/v1/health with the new version 10 times in a row. Without --store one gunicorn (2 workers,
service/gunicorn_conf.py) serves DIR/curated/current; with --store the ingest publishes to the
bucket and two gunicorns (2 workers each, each with its own cache folder, as on two hosts)
serve it. The standard AWS_* variables reach the bucket: any S3 server works, e.g. SeaweedFS as
tests/s3.py starts it. Prints the figures as JSON (start-up, publishing stage, propagation per
round, cache size, each worker's memory before and after the reloads, its peak included);
timings never fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import servers
from bench.paths import OUT, ROOT
from bench.servers import Target

HEALTH = "/api/v1/health"
IN_A_ROW = 10  # answers with the new version that count an instance as switched
TIMEOUT_S = 60.0


def instance_target(env: dict[str, str]) -> Target:
    """The service as `make serve` runs it (its gunicorn config), with these settings."""
    config = ("--config=service/gunicorn_conf.py",)
    return Target("kapiko", "service:create_app()", HEALTH, gunicorn_args=config, env=env)


def version_served(port: int) -> str:
    """The version one /health answer names ("" if none)."""
    status, body = servers.get(port, HEALTH)
    return json.loads(body)["data"]["dataset"]["version"] if status == 200 else ""


def switched(port: int, version: str) -> bool:
    """True once IN_A_ROW answers in a row name `version` (so both workers serve it)."""
    return all(version_served(port) == version for _ in range(IN_A_ROW))


def ingest(data_dir: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run one forced ingest: (seconds for the whole run, seconds of its publishing stage)."""
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "ingest", "--force", "--no-data-docs",
         "--data-dir", str(data_dir)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"publishing: done in ([0-9.]+) s", run.stderr)
    return time.perf_counter() - started, float(found[1]) if found else float("nan")


def live_version(data_dir: Path, store: str) -> str:
    """The version just published: the folder's `current`, or the bucket's pointer."""
    if not store:
        return os.path.basename(os.path.realpath(data_dir / "curated" / "current"))
    from contract.bucket import parse_bucket

    location = parse_bucket(store)
    assert location is not None
    pointer = location.pointer()
    return pointer.version if pointer else ""


def round_trip(data_dir: Path, store: str, ports: list[int], env: dict[str, str]) -> dict[str, Any]:
    """Publish once and time, from the moment the pointer moved, until every instance serves it."""
    before = live_version(data_dir, store)
    moved: list[float] = []
    watcher = threading.Thread(target=watch_pointer, args=(data_dir, store, before, moved))
    watcher.start()
    total, publishing = ingest(data_dir, env)
    watcher.join()
    version = live_version(data_dir, store)
    reached: dict[int, float] = {}
    while len(reached) < len(ports) and time.perf_counter() - moved[0] < TIMEOUT_S:
        for port in ports:
            if port not in reached and switched(port, version):
                reached[port] = time.perf_counter() - moved[0]
        time.sleep(0.02)
    return {
        "ingest_s": round(total, 2),
        "publishing_s": round(publishing, 3),
        "to_every_instance_s": round(max(reached.values(), default=float("nan")), 2),
        "instances_reached": len(reached),
    }


def watch_pointer(data_dir: Path, store: str, before: str, moved: list[float]) -> None:
    """Note when the pointer stops naming `before` (looking every 20 ms)."""
    deadline = time.perf_counter() + TIMEOUT_S
    while live_version(data_dir, store) == before and time.perf_counter() < deadline:
        time.sleep(0.02)
    moved.append(time.perf_counter())


def main(argv: list[str] | None = None) -> int:
    """Start the instances, publish a few times, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.propagation", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--store", default="", help="s3://bucket/prefix (default: the folder)")
    parser.add_argument("--publishes", type=int, default=5)
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    env = {**os.environ, "KAPIKO_STORE": args.store}
    if not live_version(data_dir, args.store):
        ingest(data_dir, env)  # something to serve first
    shutil.rmtree(OUT / "propagation", ignore_errors=True)  # each run starts with cold caches
    hosts = [OUT / "propagation" / f"host{n}" for n in range(2 if args.store else 1)]
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        starts = [start_instance(host, data_dir, args.store, started) for host in hosts]
        ports = [port for _, port in started]
        before = [workers_memory(process) for process, _ in started]
        rounds = [round_trip(data_dir, args.store, ports, env) for _ in range(args.publishes)]
        after = [workers_memory(process) for process, _ in started]
    finally:
        for process, _ in started:
            servers.stop(process)
    reach = [one["to_every_instance_s"] for one in rounds]
    cache = [sum(f.stat().st_size for f in (h / "cache").rglob("*") if f.is_file()) for h in hosts]
    summary = {
        "store": args.store or "folder",
        "start_s": starts,
        "median_s": statistics.median(reach),
        "max_s": max(reach),
        "cache_mb": [round(size / 1e6, 1) for size in cache],
        "memory_before_reloads": before,
        "memory_after_reloads": after,
        "rounds": rounds,
    }
    print(json.dumps(summary, indent=2))
    return 0


def workers_memory(master: subprocess.Popen[bytes]) -> list[dict[str, int]]:
    """Each worker's memory in MB: resident, its peak so far (VmHWM) and private."""
    found = []
    for pid in servers.worker_pids(master.pid):
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        private = servers.memory_kb(pid)["private_kb"]
        peak = int(status["VmHWM"].split()[0])
        found.append({"rss": int(status["VmRSS"].split()[0]) // 1024, "peak": peak // 1024,
                      "private": private // 1024})  # fmt: skip
    return found


def start_instance(
    host: Path, data_dir: Path, store: str, started: list[tuple[subprocess.Popen[bytes], int]]
) -> float:
    """Start one instance (noted in `started`, to be stopped); seconds until it answers."""
    settings = {
        "KAPIKO_CACHE_DIR": str(host / "cache"),
        "KAPIKO_STORE": store,
        "KAPIKO_CURATED_DIR": str(data_dir / "curated" / "current"),
    }
    port = servers.free_port()
    process = servers.start(instance_target(settings), port, 2, host / "gunicorn.log")
    started.append((process, port))
    return round(servers.wait_ready(process, port, HEALTH), 2)


if __name__ == "__main__":
    sys.exit(main())
