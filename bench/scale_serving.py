"""Serving at scale: one curated version's serving cache, workers and query latency, measured.

For one curated folder (the 1M, 3M and 10M SYNTHETIC versions in `make bench`'s scale section):

- the serving cache build, in the child process a worker would start (`python -m
  service.cache`, its environment as service/cache.py sets it): wall seconds and peak RSS
  (os.wait4), and the entry's size on disk, per file;
- gunicorn with 2 workers (bench/workers.py): seconds until both are ready, their RSS, private
  and private dirty memory after a replay of the mix;
- in-process latency through the WSGI app (bench/queries.py), p50 and p99 per group, and for
  the groups the scale structures serve (ranges3, facets, similar, recommendations) the same
  URLs again with those structures turned off (the masks and full scans of every track, also
  exact): the ratio of the two in the same run is what the structures buy on this machine;
- an exactness check: similar tracks for random seeds (with and without a range filter, over
  all nine features and a random subset) through the cells against the full scan: identical.

    python -m bench.scale_serving --curated bench/out/scenarios/synthetic-10m/curated/current \\
        --label synthetic-10m
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import mix, queries, workers

SCALE_GROUPS = ("ranges3", "facets", "compare", "similar", "recommendations")
CONTEXT_GROUPS = ("stats", "track", "tracks")
BASELINE_GROUPS = ("ranges3", "facets", "similar", "recommendations")


def build_cache(curated: Path) -> dict[str, Any]:
    """Build the version's serving cache from nothing, as a worker's child process does: wall
    seconds, peak RSS (MB) and the entry's files' sizes."""
    from contract.manifest import load_manifest
    from service import cache

    folder = curated.resolve()
    version = str(load_manifest(folder).get("version", folder.name))
    final = cache.cache_root(folder) / f"{version}-{cache.LAYOUT}"
    cache.remove_tree(final)  # derived data: built again from nothing
    cache.verified.forget(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    command, env = cache.build_command(folder, version, final)
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    # Written back before the workers are measured: a page of a file the kernel has not yet
    # written counts as the mapping worker's private dirty memory (357 MB at 3 M tracks just
    # after a build, 47-77 MB once written), which is the page cache's, not the worker's.
    os.sync()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the cache build failed: {child.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
    files = {path.name: path.stat().st_size for path in sorted(final.iterdir())}
    return {
        "build_wall_s": round(wall, 1),
        "build_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cache_mb": round(sum(files.values()) / 1e6, 1),
        "cache_files_mb": {name: round(size / 1e6, 1) for name, size in files.items()},
    }


@contextlib.contextmanager
def without_scale_structures() -> Iterator[None]:
    """The service as if the version were small: masks over every track, full scans."""
    from service import projections

    before = projections.SCALE_FROM
    projections.SCALE_FROM = 1 << 62
    try:
        yield
    finally:
        projections.SCALE_FROM = before


def latency(curated: Path, label: str, size: int) -> dict[str, Any]:
    """In-process p50/p99 per group (the second of two rounds on one app; the first round's
    p99, with the first touches of the mapped files, beside it), and the scale groups again
    without the structures."""
    rows = queries.run_dataset(curated, label, size, (*SCALE_GROUPS, *CONTEXT_GROUPS), rounds=2)
    with without_scale_structures():
        base = queries.run_dataset(curated, f"{label} (full scans)", size, BASELINE_GROUPS, 2)
    kept = ("p50_ms", "p99_ms", "first_round_p99_ms", "non_200")
    groups = {row["group"]: {k: row[k] for k in kept} for row in rows}
    for row in base:
        group = groups[row["group"]]
        group["full_scan_p50_ms"], group["full_scan_p99_ms"] = row["p50_ms"], row["p99_ms"]
        group["speedup_p50"] = round(row["p50_ms"] / group["p50_ms"], 2)
    return {"create_app_s": rows[0].get("create_app_s"), "groups": groups}


def exactness(curated: Path, seeds: int = 200, seed: int = 17) -> dict[str, Any]:
    """Similar tracks through the cells against the full scan, for random seed tracks, with and
    without a range filter, over all features and random subsets: how many answers are equal."""
    from service import create_app

    app = create_app({"CURATED_DIR": str(curated), "RELOAD_INTERVAL": 0})
    client = app.test_client()
    catalogue = mix.catalogue_from_curated(curated)
    rng = random.Random(seed)
    urls = []
    for n in range(seeds):
        params = {"limit": "20"}
        if n % 2:
            params |= mix.feature_range(rng, rng.choice(mix.NUMERIC_COLUMNS))
        if n % 4 >= 2:
            params["features"] = mix.some(rng, mix.SIMILARITY_FEATURES, 5)
        urls.append(mix.api_url(f"/tracks/{rng.choice(catalogue.track_ids)}/similar", params))
    fast = [client.get(url).data for url in urls]
    with without_scale_structures():
        full = [client.get(url).data for url in urls]
    equal = sum(a == b for a, b in zip(fast, full, strict=True))
    return {"similar_answers_checked": len(urls), "identical_to_full_scan": equal}


def measure(curated: Path, label: str, size: int = 1000, starts: int = 3) -> dict[str, Any]:
    """Every figure of one curated folder: build, cache size, workers, latency, exactness."""
    result: dict[str, Any] = {"dataset": label, "load_average_at_start": os.getloadavg()[0]}
    result |= build_cache(curated)
    print(f"  scale {label:16} cache built in {result['build_wall_s']} s, peak "
          f"{result['build_peak_rss_mb']} MB, {result['cache_mb']} MB on disk", flush=True)  # fmt: skip
    catalogue = mix.catalogue_from_curated(curated)
    urls = [url for url, _ in mix.query_mix(catalogue, 200)["all"]]
    served = workers.run(curated, label, urls, starts, 2)
    result["workers"] = {k: v for k, v in served.items() if k != "runs"}
    result["latency"] = latency(curated, label, size)
    result["exactness"] = exactness(curated)
    return result


def main(argv: list[str] | None = None) -> None:
    """CLI: measure one curated folder and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", type=Path, required=True)
    parser.add_argument("--label", default="dataset")
    parser.add_argument("--size", type=int, default=1000, help="requests per group")
    parser.add_argument("--starts", type=int, default=3, help="gunicorn starts")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.curated, args.label, args.size, args.starts), indent=2))


if __name__ == "__main__":
    main()
