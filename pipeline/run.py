"""One ingest run: catalogue → raw CSVs → validation → curated tables → publish, if the data changed.

A version is its data (contract/digest.py): a run whose tables equal the live version's
publishes nothing and says the dataset is up to date, whatever code changed. So that `make
serve` does not rerun the pipeline every time, the store remembers the inputs (catalogue, raw
files, settings) and code last found to give the live version (checked.json): with both
unchanged, a run stops before reading anything.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import contract as c
from contract.digest import data_digest
from contract.readonly import remove_tree
from contract.store import StoreError, VersionStore
from pipeline import publish
from pipeline.catalogue import Genre, load_catalogue
from pipeline.curate import curate
from pipeline.errors import (
    CatalogueError,
    EnvironmentFailure,
    PipelineError,
    environmental,
    writing,
)
from pipeline.extract import RawFile, read_raw_file
from pipeline.progress import Progress
from pipeline.quality_report import write_quality_report
from pipeline.settings import Settings
from pipeline.summary import code_digest, genre_summary, inputs_digest, updated_at
from pipeline.summary import manifest as new_manifest
from pipeline.validate import validate_files

CHECKED = "checked.json"  # beside the versions: the inputs and code last found up to date
WORK_DIR = "work"  # in a run's folder while it runs


@dataclass
class RunResult:
    """What a run did: published a version, found the dataset up to date, or was refused."""

    status: str  # "published" | "up-to-date" | "refused"
    version: str | None
    run_dir: Path | None
    genres: dict[str, dict[str, Any]] = field(default_factory=dict)
    message: str = ""


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ingest(settings: Settings, log: Log = _stderr) -> RunResult:
    """Run the pipeline once; raise PipelineError (after writing a report) if the run is refused."""
    genres = load_catalogue(settings.catalogue_path)
    paths = raw_paths(genres, settings.raw_dir)
    inputs = inputs_digest(genres, paths, settings.max_bad_share)
    store = settings.open_store()
    with publish.exclusive(settings.curated_dir):
        live = publish.current_manifest(store)
        checked = {"version": (live or {}).get("version"), "inputs_sha256": inputs,
                   "code_sha256": code_digest()}  # fmt: skip
        if live and not settings.force and _already_checked(store, live, checked):
            log(f"dataset is up to date: version {live['version']} was built from these inputs")
            return RunResult("up-to-date", live["version"], None, live.get("genres", {}))
        result = _run(settings, store, genres, paths, inputs, live, log)
        _remember(store, {**checked, "version": result.version})
        return result


def _already_checked(store: VersionStore, live: dict[str, Any], checked: dict[str, Any]) -> bool:
    """Whether these inputs and this code were already found to give the live version."""
    built = {"version": live.get("version"), "inputs_sha256": live.get("inputs_sha256"),
             "code_sha256": live.get("code_sha256")}  # fmt: skip
    if built == checked:
        return True
    try:
        return bool(json.loads(store.read_text(CHECKED) or "{}") == checked)
    except (ValueError, StoreError):
        return False


def _remember(store: VersionStore, checked: dict[str, Any]) -> None:
    """Note that these inputs and this code give this version (best effort: only a shortcut)."""
    with contextlib.suppress(OSError, StoreError):
        store.write_text(CHECKED, json.dumps(checked, indent=2) + "\n")


def _run(
    settings: Settings,
    store: VersionStore,
    genres: list[Genre],
    paths: dict[str, Path],
    inputs: str,
    live: dict[str, Any] | None,
    log: Log,
) -> RunResult:
    started = datetime.now(UTC).replace(microsecond=0)
    run_dir = _new_run_dir(settings.runs_dir, started)
    work = run_dir / WORK_DIR  # checked rows and curated parts: the run's scratch, removed after
    try:
        publish.prune_runs(settings.runs_dir, settings.keep_runs, current=run_dir)
        try:
            return _work(settings, store, genres, paths, inputs, live, log, started, run_dir, work)
        finally:
            remove_tree(work)
    except BaseException as error:
        if environmental(error):  # not the data's fault: take back what this run wrote
            remove_tree(run_dir)
            if not isinstance(error, EnvironmentFailure):
                raise EnvironmentFailure(str(error)) from None
        raise


def _work(
    settings: Settings,
    store: VersionStore,
    genres: list[Genre],
    paths: dict[str, Path],
    inputs: str,
    live: dict[str, Any] | None,
    log: Log,
    started: datetime,
    run_dir: Path,
    work: Path,
) -> RunResult:
    clock, progress = _Clock(log), Progress(log)
    live_version = (live or {}).get("version")
    try:
        files = clock.step(f"reading {len(genres)} raw files", lambda: read_all(genres, paths))
        rows = sum(file.height for file in files)
        outcome = clock.step(
            f"validating {rows:,} rows",
            lambda: validate_files(
                files,
                max_bad_share=settings.max_bad_share,
                docs_dir=run_dir / "data_docs" if settings.data_docs else None,
                work_dir=work / "checked" if rows > settings.rows_in_memory else None,
                progress=progress,
            ),
        )
    except PipelineError as error:
        _write_text(run_dir / "report.txt", f"REFUSED: nothing was published.\n\n{error}\n")
        files = {genre.id: genre.file for genre in genres}
        page = write_quality_report(
            run_dir, started, "refused", live_version, refusal=error, files=files
        )
        raise type(error)(f"{error}\n\nReport: {page} (text: {run_dir / 'report.txt'})") from None
    if outcome.quarantined_rows:
        with writing(run_dir / "quarantine.csv"):
            outcome.quarantined.sink_csv(run_dir / "quarantine.csv", engine="streaming")
    hashes = {genre.id: c.file_sha256(paths[genre.id]) for genre in genres}
    updated = updated_at(genres, hashes, live, started)
    curated = clock.step(
        "building curated tables",
        lambda: curate(
            outcome.valid, genres, updated, work / "curated", settings.rows_in_memory, progress
        ),
    )
    if curated.duplicates.height:
        with writing(run_dir / "duplicates.csv"):
            curated.duplicates.write_csv(run_dir / "duplicates.csv")
    summary = genre_summary(genres, outcome.counts, curated, hashes, updated)
    data = data_digest(curated.files)
    if live is not None and live.get("data_sha256") == data:
        write_quality_report(
            run_dir, started, "up to date", live_version, outcome=outcome, genres=summary
        )
        log(f"dataset is up to date: version {live_version} holds exactly this data")
        return RunResult("up-to-date", live_version, run_dir, live.get("genres", {}))
    manifest = new_manifest(settings, started, inputs, data, summary, outcome.expectations)
    # The page goes into the version before it goes live; it says "refused" if publishing fails.
    page = write_quality_report(
        run_dir, started, "published", manifest["version"], outcome=outcome, genres=summary
    )
    extras = (run_dir / "data_docs", page)
    try:
        final = clock.step(
            "publishing", lambda: publish.publish(curated.files, store, manifest, extras)
        )
    except PipelineError as error:
        write_quality_report(
            run_dir, started, "refused", live_version, outcome=outcome, genres=summary,
            refusal=error,
        )  # fmt: skip
        raise
    _write_text(run_dir / "report.json", json.dumps(manifest, indent=2, default=str) + "\n")
    return RunResult("published", manifest["version"], run_dir, summary, final)


def raw_paths(genres: list[Genre], raw_dir: Path) -> dict[str, Path]:
    """Each genre's raw CSV path; refuse if any catalogue entry has no file."""
    paths = {genre.id: raw_dir / genre.file for genre in genres}
    missing = [
        f"{genre.id}: {paths[genre.id]}" for genre in genres if not paths[genre.id].is_file()
    ]
    if missing:
        raise CatalogueError(
            "catalogue entries without a raw file:\n  - "
            + "\n  - ".join(missing)
            + "\nPut the CSV there, or run `make raw` to write it from the upstream dataset."
        )
    return paths


def read_all(genres: list[Genre], paths: dict[str, Path]) -> list[RawFile]:
    """Read every raw file; what is wrong with each is kept for validation to report at once."""
    return [read_raw_file(paths[genre.id], genre.id) for genre in genres]


def _new_run_dir(runs_dir: Path, started: datetime) -> Path:
    run_dir = runs_dir / f"{started:%Y%m%dT%H%M%SZ}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = runs_dir / f"{started:%Y%m%dT%H%M%SZ}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class _Clock:
    """Logs each stage with its duration, so long runs show progress."""

    def __init__(self, log: Log) -> None:
        self.log = log

    def step(self, label: str, work: Callable[[], Any]) -> Any:
        self.log(f"  {label} …")
        started = time.perf_counter()
        result = work()
        self.log(f"  {label}: done in {time.perf_counter() - started:.2f} s")
        return result
