"""Where the benchmarks read and write: the repo, bench/out and the real upstream file."""

from __future__ import annotations

from pathlib import Path

from pipeline.extract import find_upstream

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"  # gitignored: synthetic files, scratch datasets, results
SCENARIOS = OUT / "scenarios"  # one scratch data dir per ingest scenario, never data/curated
RESULTS = OUT / "results.json"
DATASETTE_VENV = ROOT / "bench" / ".venv-datasette"


def upstream_csv() -> Path:
    """The real upstream Spotify tracks CSV, found exactly as `make raw` finds it."""
    return find_upstream(OUT / "upstream")


def scenario_dir(name: str) -> Path:
    """Scratch data dir (raw/, curated/, runs/) of one ingest scenario."""
    return SCENARIOS / name
