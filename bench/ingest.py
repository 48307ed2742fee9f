"""Ingest benchmark: the real pipeline CLI, run in a subprocess against scratch data dirs.

Scenarios: the default catalogue (10 genres), all 114 upstream genres, and a SYNTHETIC upstream
of N resampled rows (bench/synth.py). Each starts from an empty scratch dir under bench/out/
(never data/curated), runs `python -m pipeline raw --data-dir DIR` then `... ingest ...`, and reports
wall time and peak RSS (os.wait4 of each child) per stage and for the whole pipeline.
The curated folder each scenario leaves behind is what the query, worker and HTTP benches read.

    python -m bench.ingest --scenarios default,all,synthetic --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.paths import ROOT, scenario_dir, upstream_csv
from bench.synth import DEFAULT_MODE, DEFAULT_ROWS, ensure_synthetic, rows_label

CATALOGUE = ROOT / "data" / "raw" / "genres.toml"


@dataclass(frozen=True)
class Scenario:
    """One ingest run: which upstream file and which genres."""

    name: str
    upstream: Path
    genres: str  # "catalogue" (the default 10) or "all" (every upstream genre)
    synthetic: bool = False

    @property
    def data_dir(self) -> Path:
        return scenario_dir(self.name)

    @property
    def curated(self) -> Path:
        return self.data_dir / "curated" / "current"


SCENARIO_NAMES = {"default": "default-catalogue", "all": "all-genres"}


def scenario_name(kind: str, rows: int = DEFAULT_ROWS) -> str:
    """Scratch-dir name of 'default', 'all', 'synthetic' (perturbed, e.g. 'synthetic-1m') or
    'resampled' (the landed benchmarks' synthetic file, e.g. 'resampled-1m')."""
    if kind in ("synthetic", "resampled"):
        return f"{kind}-{rows_label(rows)}"
    if kind not in SCENARIO_NAMES:
        raise ValueError(f"unknown scenario {kind!r}: use default, all, synthetic or resampled")
    return SCENARIO_NAMES[kind]


def scenario(kind: str, rows: int = DEFAULT_ROWS) -> Scenario:
    """The Scenario for a kind (a synthetic one writes its file first if needed)."""
    name = scenario_name(kind, rows)
    if kind in ("synthetic", "resampled"):
        mode = DEFAULT_MODE if kind == "synthetic" else "resample"
        return Scenario(name, ensure_synthetic(rows, mode=mode), "all", synthetic=True)
    return Scenario(name, upstream_csv(), "all" if kind == "all" else "catalogue")


def curated_dir(kind: str, rows: int = DEFAULT_ROWS) -> Path | None:
    """The curated folder a scenario left behind (this run or an earlier one), if any."""
    curated = scenario_dir(scenario_name(kind, rows)) / "curated" / "current"
    return curated if (curated / "manifest.json").is_file() else None


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict[str, float | int]:
    """Run a command; its wall seconds, peak RSS (MB, incl. its children) and exit code."""
    started = time.perf_counter()
    with log.open("wb") as sink:
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(time.perf_counter() - started, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports kB
        "exit_code": child.returncode,
    }


def pipeline_command(command: str, data_dir: Path, *args: str) -> list[str]:
    """`python -m pipeline COMMAND --data-dir DIR ...` with this interpreter."""
    return [sys.executable, "-m", "pipeline", command, "--data-dir", str(data_dir), *args]


def fresh_data_dir(case: Scenario) -> None:
    """Empty the scenario's scratch dir and give it the project's default catalogue."""
    shutil.rmtree(case.data_dir, ignore_errors=True)
    (case.data_dir / "raw").mkdir(parents=True)
    shutil.copy(CATALOGUE, case.data_dir / "raw" / "genres.toml")


def run_scenario(case: Scenario) -> dict:
    """Run raw then ingest from scratch; figures per stage and for the whole pipeline."""
    fresh_data_dir(case)
    env = {**os.environ, "KAPIKO_UPSTREAM": str(case.upstream)}
    raw_command = pipeline_command("raw", case.data_dir, "--genres", case.genres)
    stages = {"raw": run_measured(raw_command, env, case.data_dir / "raw.log")}
    if stages["raw"]["exit_code"] == 0:
        ingest_command = pipeline_command("ingest", case.data_dir)
        stages["ingest"] = run_measured(ingest_command, env, case.data_dir / "ingest.log")
    ok = all(stage["exit_code"] == 0 for stage in stages.values()) and len(stages) == 2
    return {
        "scenario": case.name,
        "synthetic": case.synthetic,
        "upstream": str(case.upstream),
        "ok": ok,
        "wall_s": round(sum(stage["wall_s"] for stage in stages.values()), 3),
        "peak_rss_mb": max(stage["peak_rss_mb"] for stage in stages.values()),
        "stages": stages,
        "curated": str(case.curated) if ok else None,
        "log_dir": str(case.data_dir),
    }


def run(kinds: list[str], rows: int = DEFAULT_ROWS) -> list[dict]:
    """Run each scenario in turn (never concurrently) and print a line per scenario."""
    results = []
    for kind in kinds:
        case = scenario(kind, rows)
        result = run_scenario(case)
        mark = "" if result["ok"] else "  FAILED (see log_dir)"
        print(
            f"  ingest {case.name:20} {result['wall_s']:7.2f} s  "
            f"{result['peak_rss_mb']:8.1f} MB{mark}",
            flush=True,
        )
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> None:
    """CLI: run ingest scenarios and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="default,all,synthetic")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="synthetic upstream rows")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.scenarios.split(","), args.rows), indent=2))


if __name__ == "__main__":
    main()
