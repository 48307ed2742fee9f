"""The replica's benchmark: what nginx in front of gunicorn costs, and what it holds off.

In one run, one after another on the same dataset and the same number of workers:
  gunicorn   the service as `make serve` runs it (service/gunicorn_conf.py), wrk straight to it
  replica    the service as `make replica` runs it (python -m replica: nginx, then gunicorn on a
             Unix socket), wrk through nginx; the rate limit is raised for wrk's one address
             (its lookup still runs), everything else as deployed
with the blended mix of bench/mix.py; then, against the replica alone, /stats latency from
another address while 256 clients trickle headers and bodies, and while 8 clients stream full
exports, each beside the same latency measured idle in the same run.

    python -m bench.proxy --curated data/curated/current --duration 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import clients, servers
from bench.http import HttpConfig, figures, prepare, run_wrk, wrk_available
from bench.paths import OUT, ROOT
from bench.servers import Target

READY = re.compile(r"kapiko replica: serving")
NO_RATE_LIMIT = {"KAPIKO_RATE_LIMIT": "1000000", "KAPIKO_RATE_BURST": "1000000"}


@dataclass
class ProxyConfig:
    """What one proxy benchmark run does."""

    duration: float = 10.0
    warmup: float = 2.0
    rounds: int = 3  # gunicorn, replica, gunicorn, replica, …: the machine's noise hits both
    workers: int = 2
    mix_size: int = 1000
    slow_clients: int = 256
    client_timeout: int = 5  # the slow clients' timeout (the default is 10 s; shorter, same idea)
    samples: int = 400  # /stats requests per latency measurement
    storm_clients: int = 8
    storm_seconds: float = 8.0
    curated: Path = Path("data/curated/current")
    work_dir: Path = field(default_factory=lambda: OUT / "proxy")


def start_replica(config: ProxyConfig, port: int, settings: dict[str, str]) -> subprocess.Popen:
    """python -m replica on 127.0.0.1:port, returned once it says it serves."""
    folder = config.work_dir / f"replica-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "KAPIKO_CURATED_DIR": str(config.curated.resolve()),
        "KAPIKO_HOST": servers.HOST,
        "KAPIKO_PORT": str(port),
        "KAPIKO_WORKERS": str(config.workers),
        "KAPIKO_REPLICA_DIR": str(folder / "run"),
        **settings,
    }
    log = folder / "replica.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "replica"], cwd=ROOT, env=env, stdout=sink, stderr=sink,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not READY.search(log.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_replica(process)
            raise RuntimeError(f"the replica did not start; see {log}")
        time.sleep(0.05)
    return process


def stop_replica(process: subprocess.Popen) -> None:
    """Ctrl-C to the supervisor's group: it stops nginx and gunicorn."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)


def load(port: int, urls: Path, config: ProxyConfig, name: str) -> dict:
    """wrk's blended mix against one port, after a warm-up."""
    http = HttpConfig(duration=config.duration, warmup=config.warmup)
    run_wrk(port, urls, config.warmup, http)
    row = {"target": name, **figures(run_wrk(port, urls, config.duration, http))}
    print(f"  {name:10} {row['requests_per_s']:9.1f} req/s  p99 {row['p99_ms']} ms", flush=True)
    return row


def stats_latency(port: int, config: ProxyConfig, seconds: float) -> dict:
    """p50/p99 of /stats from 127.0.0.2, one new connection per request."""
    took = clients.latencies_ms(port, "/api/v1/stats", "127.0.0.2", config.samples, seconds)
    return {
        "n": len(took),
        "p50_ms": round(clients.percentile(took, 0.5), 2),
        "p99_ms": round(clients.percentile(took, 0.99), 2),
    }


def under_slow_clients(port: int, config: ProxyConfig) -> dict:
    """/stats latency while slow clients trickle, and when the server closed them."""
    slow = clients.SlowClients(port, config.slow_clients, "127.0.0.5")
    try:
        slow.open()
        during = stats_latency(port, config, seconds=config.client_timeout)
        slow.trickle_until_closed(seconds=config.client_timeout + 20)
    finally:
        slow.close()
    closed = sorted(slow.closed_after_s)
    return {
        "slow_clients": config.slow_clients,
        "client_timeout_s": config.client_timeout,
        "stats_during": during,
        "closed_by_server": len(closed),
        "last_closed_after_s": round(closed[-1], 2) if closed else None,
    }


def under_export_storm(port: int, config: ProxyConfig) -> dict:
    """/stats latency while `storm_clients` clients stream full exports."""
    storm = clients.ExportStorm(port, config.storm_clients, config.storm_seconds)
    storm.start()
    try:
        during = stats_latency(port, config, seconds=config.storm_seconds - 1)
    finally:
        counts = storm.join()
    return {"clients": config.storm_clients, "stats_during": during, "exports": counts}


def gunicorn_alone(urls: Path, config: ProxyConfig) -> dict:
    """The blended mix straight to gunicorn as `make serve` runs it."""
    alone = Target("gunicorn", "service:create_app()", "/api/v1/stats",
                   gunicorn_args=("--config=service/gunicorn_conf.py",),
                   env={"KAPIKO_CURATED_DIR": str(config.curated)})  # fmt: skip
    port = servers.free_port()
    server = servers.start(alone, port, config.workers, config.work_dir / "gunicorn.log")
    try:
        servers.wait_ready(server, port, alone.ready_path)
        return load(port, urls, config, "gunicorn")
    finally:
        servers.stop(server)


def behind_nginx(urls: Path, config: ProxyConfig) -> dict:
    """The blended mix through the replica, its rate limit raised for wrk's one address."""
    port = servers.free_port()
    replica = start_replica(config, port, NO_RATE_LIMIT)
    try:
        return load(port, urls, config, "replica")
    finally:
        stop_replica(replica)


def run(config: ProxyConfig) -> dict:
    """The whole proxy benchmark: throughput side by side, then the two storms."""
    if not wrk_available():
        return {"skipped": "wrk is not installed (make bench installs it)"}
    http = HttpConfig(targets=(), mix_size=config.mix_size, curated=config.curated)
    http.work_dir = config.work_dir
    files, _, _, info = prepare(http)
    rows: list[dict] = []
    for round_ in range(1, config.rounds + 1):
        rows.append({"round": round_, **gunicorn_alone(files["all"], config)})
        rows.append({"round": round_, **behind_nginx(files["all"], config)})
    port = servers.free_port()
    replica = start_replica(config, port, {"KAPIKO_CLIENT_TIMEOUT": str(config.client_timeout)})
    try:
        stats_latency(port, config, seconds=1)  # warm-up: the workers' first answers are slower
        idle = stats_latency(port, config, seconds=config.duration)
        slow = under_slow_clients(port, config)
        storm = under_export_storm(port, config)
    finally:
        stop_replica(replica)
    ratios = [
        replica["requests_per_s"] / alone["requests_per_s"]
        for alone, replica in zip(rows[0::2], rows[1::2], strict=True)
        if alone["requests_per_s"]
    ]
    settings = {"workers": config.workers, "duration": config.duration, "rounds": config.rounds}
    return {
        "setup": {**info, **settings},
        "rows": rows,
        "replica_vs_gunicorn": round(statistics.median(ratios), 3) if ratios else None,
        "replica_vs_gunicorn_each_round": [round(ratio, 3) for ratio in ratios],
        "stats_idle": idle,
        "slow_clients": slow,
        "export_storm": storm,
    }


def main(argv: list[str] | None = None) -> None:
    """CLI: run the proxy benchmark and print its results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", type=Path, required=True, help="a curated dataset folder")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(json.dumps(run(ProxyConfig(duration=args.duration, curated=args.curated)), indent=2))


if __name__ == "__main__":
    main()
