"""Worker benchmark: gunicorn start-up time to the first answered request, and memory per worker.

Starts the service under gunicorn (2 sync workers, 127.0.0.1, --no-control-socket) on a curated
dataset (114 genres in the full run) and measures, per start: seconds to each worker's app being
loaded (gunicorn's post_worker_init, see bench/gunicorn_ready.py), seconds to the first 200 of
/api/v1/stats, and after a short replay of the mix, each worker's RSS and private memory.

    python -m bench.workers --curated bench/out/scenarios/all-genres/curated/current
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import servers
from bench.paths import OUT
from bench.servers import Target

READY_PATH = "/api/v1/stats"


def service_target(curated: Path, ready_file: Path) -> Target:
    """The service, run with the ready-noting config instead of service/gunicorn_conf.py."""
    return Target(
        "kapiko",
        "service:create_app()",
        READY_PATH,
        gunicorn_args=("--config=python:bench.gunicorn_ready",),
        env={"KAPIKO_CURATED_DIR": str(curated), "BENCH_READY_FILE": str(ready_file)},
    )


def replay(port: int, urls: list[str], clients: int = 4) -> int:
    """GET each URL once from a few concurrent clients (so every worker serves some)."""
    with ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(lambda url: servers.get(port, url)[0], urls))
    return sum(status != 200 for status in statuses)


def one_start(curated: Path, workers: int, urls: list[str], work_dir: Path) -> dict:
    """Start the service once; ready times, then memory per worker after replaying `urls`."""
    ready_file = work_dir / "ready.txt"
    ready_file.unlink(missing_ok=True)
    port = servers.free_port()
    started = time.monotonic()
    server = servers.start(service_target(curated, ready_file), port, workers, work_dir / "log")
    try:
        first_answer = servers.wait_ready(server, port, READY_PATH)
        while len(_ready_times(ready_file)) < workers and time.monotonic() - started < 60:
            time.sleep(0.01)
        failed = replay(port, urls)
        memory = [servers.memory_kb(pid) for pid in servers.worker_pids(server.pid)]
        master = servers.memory_kb(server.pid)
    finally:
        servers.stop(server)
    return {
        "first_answer_s": round(first_answer, 3),
        "worker_ready_s": sorted(round(at - started, 3) for at in _ready_times(ready_file)),
        "worker_memory_kb": memory,
        "master_memory_kb": master,
        "replayed": len(urls),
        "replay_non_200": failed,
    }


def _ready_times(ready_file: Path) -> list[float]:
    if not ready_file.exists():
        return []
    return [float(line.split()[1]) for line in ready_file.read_text().splitlines() if line]


def run(curated: Path, label: str, urls: list[str], starts: int = 3, workers: int = 2) -> dict:
    """Start the service `starts` times; per-start figures and the medians of the main ones."""
    work_dir = OUT / "workers"
    work_dir.mkdir(parents=True, exist_ok=True)
    runs = [one_start(curated, workers, urls, work_dir) for _ in range(starts)]
    rss = [m["rss_kb"] / 1024 for one in runs for m in one["worker_memory_kb"]]
    private = [m["private_kb"] / 1024 for one in runs for m in one["worker_memory_kb"]]
    dirty = [m["private_dirty_kb"] / 1024 for one in runs for m in one["worker_memory_kb"]]
    heap = [m["anonymous_kb"] / 1024 for one in runs for m in one["worker_memory_kb"]]
    pss = [sum(m["pss_kb"] for m in one["worker_memory_kb"]) / 1024 for one in runs]
    slowest = [max(one["worker_ready_s"], default=float("nan")) for one in runs]
    result = {
        "dataset": label,
        "workers": workers,
        "starts": starts,
        "first_answer_s_median": round(statistics.median(r["first_answer_s"] for r in runs), 3),
        "all_workers_ready_s_median": round(statistics.median(slowest), 3),
        "worker_rss_mb_max": round(max(rss), 1) if rss else None,
        "worker_private_mb_max": round(max(private), 1) if private else None,
        "worker_private_dirty_mb_max": round(max(dirty), 1) if dirty else None,
        "worker_anonymous_mb_max": round(max(heap), 1) if heap else None,
        "workers_pss_mb_total_median": round(statistics.median(pss), 1) if pss else None,
        "runs": runs,
    }
    print(
        f"  workers {label:20} x{workers} first answer {result['first_answer_s_median']:.3f} s  "
        f"all ready {result['all_workers_ready_s_median']:.3f} s  "
        f"RSS/worker {result['worker_rss_mb_max']} MB  private dirty/worker "
        f"{result['worker_private_dirty_mb_max']} MB  PSS total {result['workers_pss_mb_total_median']} MB",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> None:
    """CLI: measure worker start-up and memory on one curated folder; print JSON."""
    from bench import mix

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", type=Path, required=True)
    parser.add_argument("--label", default="dataset")
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    catalogue = mix.catalogue_from_curated(args.curated)
    urls = [url for url, _ in mix.query_mix(catalogue, 200)["all"]]
    result = run(args.curated, args.label, urls, args.starts, args.workers)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
