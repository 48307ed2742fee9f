"""Where the benchmarks read and write: the repo, bench/out and the real upstream file."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"  # gitignored: synthetic files, scratch datasets, results
SCENARIOS = OUT / "scenarios"  # one scratch data dir per ingest scenario, never data/curated
RESULTS = OUT / "results.json"
DATASETTE_VENV = ROOT / "bench" / ".venv-datasette"

# The shared/ folder sits beside the repo (CI clones main with shared/ next to it).
DEFAULT_UPSTREAM = ROOT.parent / "shared" / "data" / "spotify_tracks" / "dataset.csv"


def upstream_csv() -> Path:
    """The real upstream Spotify tracks CSV: $KAPIKO_UPSTREAM (as for the pipeline) or shared/'s."""
    return Path(os.environ.get("KAPIKO_UPSTREAM", DEFAULT_UPSTREAM))


def scenario_dir(name: str) -> Path:
    """Scratch data dir (raw/, curated/, runs/) of one ingest scenario."""
    return SCENARIOS / name
