"""The arithmetic behind docs/scale.md: what the measured 1M/3M/10M curve says about 100M.

Reads the scale section of a run (`make bench` writes it into bench/out/results.json; `python -m
bench.scale` prints the same list) and prints, per figure, its value at each measured size, the
power law through the measurements (value = a x rows^b, least squares on the logs: b = 1 is
linear, b = 0 flat) and that law at 100M and at the sizes docs/scale.md discusses. Also where
one machine ends: the largest catalogue whose serving cache, plus the workers and the room an
ingest needs, fits in the machine's memory, so that every query reads from the page cache.

    python -m bench.scale_model bench/out/results.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from service.projections import SCALE_FROM  # tracks from which the structures answer

FIGURES = {  # name -> path into one size's figures
    "raw + ingest s": ("ingest_wall_s",),
    "ingest peak MB": ("ingest_peak_rss_mb",),
    "version MB": ("version_mb",),
    "cache MB": ("serving", "cache_mb"),
    "cache build s": ("serving", "build_wall_s"),
    "cache build peak MB": ("serving", "build_peak_rss_mb"),
    **{
        f"p50 ms {group}": ("serving", "latency", "groups", group, "p50_ms")
        for group in ("ranges3", "facets", "compare", "similar", "recommendations")
    },
}
TARGET_ROWS = (30_000_000, 100_000_000)


def power_law(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(a, b) of value = a x rows^b, fitted by least squares on log(rows), log(value)."""
    xs = [math.log(rows) for rows, _ in points]
    ys = [math.log(value) for _, value in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return math.exp(mean_y - b * mean_x), b


def figure(size: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = size
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def model(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure: the measured values by size, the law, and the law's predictions."""
    rows = []
    for name, path in FIGURES.items():
        # Latencies only where the structures answer (a million tracks or more; 1M synthetic
        # rows make a few tracks fewer): below that the scans do, another curve.
        regime = [s for s in sizes if "latency" not in path or s["rows"] > SCALE_FROM]
        points = [(s["rows"], v) for s in regime if (v := figure(s, path)) is not None]
        if len(points) < 2:
            continue
        a, b = power_law(points)
        row: dict[str, Any] = {"figure": name, "exponent": round(b, 2)}
        row |= {f"at {rows // 1_000_000}M": value for rows, value in points}
        row |= {f"law at {rows // 1_000_000}M": round(a * rows**b, 1) for rows in TARGET_ROWS}
        rows.append(row)
    return rows


def one_machine_limit(
    cache_mb_per_million: float, memory_mb: float, workers_mb: float, ingest_mb: float
) -> float:
    """Millions of tracks whose serving cache fits in memory beside the workers' own memory and
    an ingest's peak (the page cache must hold the whole cache for in-memory latencies)."""
    return (memory_mb - workers_mb - ingest_mb) / cache_mb_per_million


def main(argv: list[str] | None = None) -> None:
    """CLI: the model of a run's scale section, and where one machine ends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.json, or the scale section's list")
    parser.add_argument("--memory-mb", type=float, default=24 * 1024)
    args = parser.parse_args(argv)
    found = json.loads(args.results.read_text())
    sizes = found.get("scale", []) if isinstance(found, dict) else found
    for row in model(sizes):
        print(json.dumps(row))
    largest = max(sizes, key=lambda s: s["rows"])
    cache = figure(largest, ("serving", "cache_mb"))
    ingest = figure(largest, ("ingest_peak_rss_mb",)) or 0.0
    workers = figure(largest, ("serving", "workers", "worker_anonymous_mb_max")) or 0.0
    if cache:
        per_million = cache / (largest["rows"] / 1_000_000)
        limit = one_machine_limit(per_million, args.memory_mb, 2 * workers, ingest)
        print(
            f"cache {per_million:.0f} MB per million tracks; with {args.memory_mb:.0f} MB, "
            f"2 workers of {workers:.0f} MB and an ingest of {ingest:.0f} MB, one machine "
            f"holds the cache of about {limit:.1f} million tracks in memory"
        )


if __name__ == "__main__":
    main()
