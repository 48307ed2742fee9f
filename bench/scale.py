"""The scale benchmark: the whole pipeline and the service at 1, 3 and 10 million SYNTHETIC tracks.

For each size: the perturbed synthetic upstream (bench/synth.py: real rows with seeded noise,
unique ids), `pipeline raw` and `pipeline ingest` from scratch with their wall time and peak RSS
(bench/ingest.py), the published version's size on disk, and the serving figures of
bench/scale_serving.py (cache build, worker start-up and memory, each endpoint's in-process
latency). Sizes run one after another, never concurrently. The 10M size takes about 25 minutes
on the 2-core machine (16 with --size 400 --starts 2); all three sizes about 40.

    python -m bench.scale --sizes 1000000,3000000,10000000
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import ingest, scale_serving
from bench.synth import rows_label

SIZES = (1_000_000, 3_000_000, 10_000_000)


def version_megabytes(curated: Path) -> float:
    """The published version's files (tables, manifest, report, docs) on disk, in MB."""
    folder = curated.resolve()
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)


def run_size(rows: int, serve: bool = True, size: int = 1000, starts: int = 3) -> dict[str, Any]:
    """Ingest `rows` synthetic rows from scratch and measure what that gives (`size` requests
    per endpoint group, gunicorn started `starts` times)."""
    case = ingest.scenario("synthetic", rows)
    result = ingest.run_scenario(case)
    figures: dict[str, Any] = {
        "rows": rows,
        "label": rows_label(rows),
        "ok": result["ok"],
        "ingest_wall_s": result["wall_s"],
        "ingest_peak_rss_mb": result["peak_rss_mb"],
        "raw_wall_s": result["stages"]["raw"]["wall_s"],
        "raw_peak_rss_mb": result["stages"]["raw"]["peak_rss_mb"],
    }
    if "ingest" in result["stages"]:
        figures["pipeline_ingest_wall_s"] = result["stages"]["ingest"]["wall_s"]
        figures["pipeline_ingest_peak_rss_mb"] = result["stages"]["ingest"]["peak_rss_mb"]
    if result["ok"]:
        figures["version_mb"] = version_megabytes(case.curated)
        if serve:
            figures["serving"] = dict(scale_serving.measure(case.curated, case.name, size, starts))
    print(
        f"  scale {rows_label(rows):>4}: ingest {figures['ingest_wall_s']:7.1f} s, "
        f"peak {figures['ingest_peak_rss_mb']:7.1f} MB, version {figures.get('version_mb')} MB",
        flush=True,
    )
    return figures


def run(
    sizes: tuple[int, ...] = SIZES, serve: bool = True, size: int = 1000, starts: int = 3
) -> list[dict[str, Any]]:
    """Every size in turn."""
    return [run_size(rows, serve, size, starts) for rows in sizes]


def table_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per size: the pipeline's figures, the version, the workers, each p50."""
    rows = []
    for found in results.get("scale") or []:
        if not isinstance(found, dict):
            continue
        serving = found.get("serving") or {}
        workers = serving.get("workers") or {}
        groups = (serving.get("latency") or {}).get("groups") or {}
        exact = serving.get("exactness") or {}
        rows.append(
            {
                "rows": found.get("label"),
                "raw+ingest_s": found.get("ingest_wall_s"),
                "peak_mb": found.get("ingest_peak_rss_mb"),
                "version_mb": found.get("version_mb"),
                "cache_build_s": serving.get("build_wall_s"),
                "cache_mb": serving.get("cache_mb"),
                "ready_s": workers.get("all_workers_ready_s_median"),
                "private_mb": workers.get("worker_private_dirty_mb_max"),
                **{f"{group}_p50": (groups.get(group) or {}).get("p50_ms") for group in P50},
                "exact": f"{exact.get('identical_to_full_scan')}/"
                f"{exact.get('similar_answers_checked')}"
                if exact
                else None,
            }
        )
    return rows


# The targets at ten million tracks (issue 17): p50 ms per endpoint group.
P50 = {"ranges3": 10, "facets": 20, "compare": 10, "similar": 10, "recommendations": 15}
COLUMNS = ["rows", "raw+ingest_s", "peak_mb", "version_mb", "cache_build_s", "cache_mb",
           "ready_s", "private_mb", *(f"{group}_p50" for group in P50), "exact"]  # fmt: skip


def _at_10m(*keys: str) -> Callable[[dict[str, Any]], float | None]:
    def figure(results: dict[str, Any]) -> float | None:
        found = next(
            (
                r
                for r in results.get("scale") or []
                if isinstance(r, dict) and r.get("rows") == TEN_M
            ),
            None,
        )
        value: Any = found
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, int | float) else None

    return figure


TEN_M = 10_000_000
TARGETS: list[tuple[str, Callable[[dict[str, Any]], float | None], str, float]] = [
    ("raw + ingest wall s @10M (issue 17)", _at_10m("ingest_wall_s"), "<=", 600),
    ("raw + ingest peak MB @10M (issue 17)", _at_10m("ingest_peak_rss_mb"), "<=", 4096),
    *[
        (
            f"p50 ms {group} @10M (issue 17)",
            _at_10m("serving", "latency", "groups", group, "p50_ms"),
            "<=",
            limit,
        )
        for group, limit in P50.items()
    ],
    (
        "workers all ready s @10M (issue 17)",
        _at_10m("serving", "workers", "all_workers_ready_s_median"),
        "<=",
        3,
    ),
    (
        "worker private MB @10M (issue 17)",
        _at_10m("serving", "workers", "worker_private_dirty_mb_max"),
        "<=",
        150,
    ),
]


def main(argv: list[str] | None = None) -> None:
    """CLI: the scale section for the given sizes, as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--no-serving", action="store_true", help="the pipeline's figures only")
    parser.add_argument("--size", type=int, default=1000, help="requests per endpoint group")
    parser.add_argument("--starts", type=int, default=3, help="gunicorn starts per size")
    args = parser.parse_args(argv)
    sizes = tuple(int(size) for size in args.sizes.split(","))
    found = run(sizes, not args.no_serving, args.size, args.starts)
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
