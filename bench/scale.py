"""The scale benchmark: the whole pipeline and the service at 1, 3 and 10 million SYNTHETIC tracks.

For each size: the perturbed synthetic upstream (bench/synth.py: real rows with seeded noise,
unique ids), `pipeline raw` and `pipeline ingest` from scratch with their wall time and peak RSS
(bench/ingest.py), the published version's size on disk, and the serving figures of
bench/scale_serving.py (cache build, worker start-up and memory, each endpoint's in-process
latency). Sizes run one after another, never concurrently. At 10M the section takes about
25 minutes on the 2-core machine, most of it writing the synthetic file and ingesting it.

    python -m bench.scale --sizes 1000000,3000000,10000000
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from bench import ingest
from bench.synth import rows_label

SIZES = (1_000_000, 3_000_000, 10_000_000)


def version_megabytes(curated: Path) -> float:
    """The published version's files (tables, manifest, report, docs) on disk, in MB."""
    folder = curated.resolve()
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)


def serving_figures(curated: Path, label: str) -> dict[str, Any]:
    """The serving side's figures (bench/scale_serving.py), or why there are none."""
    try:
        scale_serving = importlib.import_module("bench.scale_serving")
    except ImportError:
        return {"skipped": "bench/scale_serving.py is not there"}
    return dict(scale_serving.measure(curated, label))


def run_size(rows: int, serve: bool = True) -> dict[str, Any]:
    """Ingest `rows` synthetic rows from scratch and measure what that gives."""
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
            figures["serving"] = serving_figures(case.curated, case.name)
    print(
        f"  scale {rows_label(rows):>4}: ingest {figures['ingest_wall_s']:7.1f} s, "
        f"peak {figures['ingest_peak_rss_mb']:7.1f} MB, version {figures.get('version_mb')} MB",
        flush=True,
    )
    return figures


def run(sizes: tuple[int, ...] = SIZES, serve: bool = True) -> list[dict[str, Any]]:
    """Every size in turn."""
    return [run_size(rows, serve) for rows in sizes]


def main(argv: list[str] | None = None) -> None:
    """CLI: the scale section for the given sizes, as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES))
    parser.add_argument("--no-serving", action="store_true", help="the pipeline's figures only")
    args = parser.parse_args(argv)
    sizes = tuple(int(size) for size in args.sizes.split(","))
    print(json.dumps(run(sizes, serve=not args.no_serving), indent=2))


if __name__ == "__main__":
    main()
