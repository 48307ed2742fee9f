"""Run kapiko's benchmarks and write bench/out/results.json: `python -m bench [--quick]`.

Full (`make bench`): SYNTHETIC 1M-row upstream; ingest of the default catalogue, all 114 genres
and the synthetic file; in-process query latency on each curated result; worker start-up and
memory at 114 genres; HTTP throughput with wrk at 114 genres, side by side with the baselines;
the replica (nginx in front of gunicorn) against gunicorn alone, and under slow clients and an
export storm; the scale section (bench/scale.py): 1M, 3M and 10M perturbed synthetic tracks
through the whole pipeline and the service, about 40 minutes of the full run's hour and a half.
Quick (`make bench-quick`): one ingest of a tiny synthetic upstream, short mixes, 1 s loads;
a smoke run that keeps the benchmarks working, not a measurement.
Sections run one after another, never concurrently. Timings never fail the run; a section that
crashes is recorded and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import http, ingest, mix, proxy, queries, report, scale, similarity_quality, workers
from bench.paths import RESULTS
from bench.synth import DEFAULT_ROWS

SECTIONS = ("ingest", "queries", "similarity", "workers", "http", "proxy", "scale")


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    mode: str
    scenarios: tuple[str, ...]  # ingest kinds: default, all, synthetic
    rows: int  # synthetic upstream rows
    main_scenario: str  # the curated dataset workers and HTTP use
    query_size: int
    starts: int
    http: http.HttpConfig
    proxy: proxy.ProxyConfig
    scale: tuple[int, ...]  # synthetic rows of the scale section's sizes, smallest first


FULL = Plan(
    mode="full",
    scenarios=("default", "all", "synthetic"),
    rows=DEFAULT_ROWS,
    main_scenario="all",
    query_size=1000,
    starts=3,
    http=http.HttpConfig(duration=10, warmup=2),
    proxy=proxy.ProxyConfig(duration=10, warmup=2),
    scale=scale.SIZES,
)
QUICK = Plan(
    mode="quick",
    scenarios=("synthetic",),
    rows=20_000,
    main_scenario="synthetic",
    query_size=50,
    starts=1,
    http=http.HttpConfig(duration=1, warmup=1, mix_size=200, groups=("tracks", "all")),
    proxy=proxy.ProxyConfig(
        duration=1,
        warmup=1,
        rounds=1,
        mix_size=200,
        slow_clients=32,
        client_timeout=2,
        samples=50,
        storm_seconds=3,
    ),
    scale=(30_000,),
)


def curated_of(plan: Plan, kind: str) -> Path | None:
    """The curated folder an ingest scenario left (from this run or an earlier one)."""
    return ingest.curated_dir(kind, plan.rows)


def run_queries(plan: Plan) -> list[dict]:
    """In-process latency on each scenario's curated dataset."""
    rows: list[dict] = []
    for kind in plan.scenarios:
        curated = curated_of(plan, kind)
        if curated is not None:
            rows += queries.run_dataset(curated, curated.parent.parent.name, plan.query_size)
    return rows


def run_similarity(plan: Plan) -> list[dict]:
    """Genre agreement @10 of the similarity spaces on the real datasets (not the synthetic:
    its genres are resampled at random, so agreement there means nothing)."""
    kinds = [kind for kind in plan.scenarios if kind in ("all", "default")]
    folders = [curated_of(plan, kind) for kind in kinds]
    return [similarity_quality.evaluate(folder) for folder in folders if folder is not None]


def run_workers(plan: Plan) -> list[dict[str, Any]]:
    """Worker start-up and memory: 2 workers on the main scenario's dataset, 8 workers on it
    (the page cache's one copy shared by all), and 2 workers on the 1M synthetic dataset."""
    runs = []
    for kind, count, starts in ((plan.main_scenario, 2, plan.starts), (plan.main_scenario, 8, 1),
                                ("synthetic", 2, plan.starts)):  # fmt: skip
        curated = curated_of(plan, kind)
        if curated is None or kind not in plan.scenarios:
            continue
        catalogue = mix.catalogue_from_curated(curated)
        urls = [url for url, _ in mix.query_mix(catalogue, 200)["all"]]
        runs.append(workers.run(curated, curated.parent.parent.name, urls, starts, count))
    return runs


def run_http(plan: Plan) -> dict[str, Any]:
    """wrk side by side on the main scenario's dataset."""
    curated = curated_of(plan, plan.main_scenario)
    if curated is None:
        return {"skipped": f"no curated dataset for {plan.main_scenario}: its ingest failed"}
    config = plan.http
    config.curated = curated
    return http.run(config)


def run_proxy(plan: Plan) -> dict[str, Any]:
    """The replica against gunicorn alone, and under slow clients and exports, on the main
    scenario's dataset."""
    curated = curated_of(plan, plan.main_scenario)
    if curated is None:
        return {"skipped": f"no curated dataset for {plan.main_scenario}: its ingest failed"}
    plan.proxy.curated = curated
    return proxy.run(plan.proxy)


def run_sections(plan: Plan, only: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """Run the chosen sections in order; results by section and the names of crashed ones."""
    steps: dict[str, Callable[[], Any]] = {
        "ingest": lambda: ingest.run(list(plan.scenarios), plan.rows),
        "queries": lambda: run_queries(plan),
        "similarity": lambda: run_similarity(plan),
        "workers": lambda: run_workers(plan),
        "http": lambda: run_http(plan),
        "proxy": lambda: run_proxy(plan),
        "scale": lambda: scale.run(plan.scale, True, plan.query_size, plan.starts),
    }
    results: dict[str, Any] = {}
    crashed: list[str] = []
    for name in only:
        print(f"\n-- {name}", flush=True)
        try:
            results[name] = steps[name]()
        except Exception:  # a broken section must not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": traceback.format_exc(limit=3)}
            crashed.append(name)
    return results, crashed


def main(argv: list[str] | None = None) -> int:
    """CLI: run the plan, print the tables, write the results; 1 only if a section crashed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    results: dict[str, Any] = {"meta": report.run_meta(plan.mode)}
    figures, crashed = run_sections(plan, tuple(args.only.split(",")))
    results |= figures
    results["targets"] = report.target_rows(results)
    # A smoke run must not overwrite the figures of the last full run.
    path = RESULTS.with_name("results-quick.json") if args.quick else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    report.print_tables(results)
    print(f"\nwrote {path}" + (f"; sections that crashed: {crashed}" if crashed else ""))
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
