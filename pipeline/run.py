"""One ingest run: catalogue → raw CSVs → validation → curated tables → publish, if the data changed.

A version is its data (contract/digest.py): a run whose tables equal the live version's
publishes nothing and says the dataset is up to date, whatever code changed. So that `make
serve` does not rerun the pipeline every time, the store remembers the inputs (catalogue, raw
files, settings) and code last found to give the live version (checked.json): with both
unchanged, a run stops before reading anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from contract.digest import data_digest, version_name
from contract.readonly import remove_tree
from contract.store import StoreError, VersionStore
from pipeline import publish
from pipeline.catalogue import Genre, load_catalogue
from pipeline.curate import CuratedFiles, curate
from pipeline.errors import (
    CatalogueError,
    EnvironmentFailure,
    PipelineError,
    environmental,
    writing,
)
from pipeline.expectations import PARSE_CHECK
from pipeline.extract import RawFile, read_raw_file
from pipeline.progress import Progress
from pipeline.quality_report import write_quality_report
from pipeline.settings import Settings
from pipeline.validate import ExpectationResult, GenreCounts, validate_files

UPSTREAM_RECORD = "upstream.json"  # written by `pipeline raw` into the raw folder
CHECKED = "checked.json"  # beside the versions: the inputs and code last found up to date
WORK_DIR = "work"  # in a run's folder while it runs
_CODE_FILES = [
    *sorted(Path(c.__file__).parent.glob("*.py")),
    *sorted(Path(__file__).parent.glob("*.py")),
]


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
    try:
        return _steps(settings, store, genres, paths, inputs, live, log, started, run_dir)
    except BaseException as error:
        if environmental(error):  # not the data's fault: take back what this run wrote
            remove_tree(run_dir)
            if not isinstance(error, EnvironmentFailure):
                raise EnvironmentFailure(str(error)) from None
        raise


def _steps(
    settings: Settings,
    store: VersionStore,
    genres: list[Genre],
    paths: dict[str, Path],
    inputs: str,
    live: dict[str, Any] | None,
    log: Log,
    started: datetime,
    run_dir: Path,
) -> RunResult:
    publish.prune_runs(settings.runs_dir, settings.keep_runs, current=run_dir)
    work = run_dir / WORK_DIR  # checked rows and curated parts: the run's scratch, removed after
    try:
        return _work(settings, store, genres, paths, inputs, live, log, started, run_dir, work)
    finally:
        remove_tree(work)


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
    updated = _updated_at(genres, hashes, live, started)
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
    manifest = _manifest(settings, started, inputs, data, summary, outcome.expectations)
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


def inputs_digest(genres: list[Genre], paths: dict[str, Path], max_bad_share: float) -> str:
    """A digest of the inputs a run reads: the catalogue, the raw files and the settings."""
    digest = hashlib.sha256()
    digest.update(json.dumps([asdict(g) for g in genres], sort_keys=True).encode())
    digest.update(f"{max_bad_share}".encode())
    for path in paths.values():
        digest.update(c.file_sha256(path).encode())
    return digest.hexdigest()


def code_digest() -> str:
    """A digest of the code a run executes: the contract and the pipeline."""
    digest = hashlib.sha256()
    for path in _CODE_FILES:
        digest.update(c.file_sha256(path).encode())
    return digest.hexdigest()


def genre_summary(
    genres: list[Genre],
    counts: dict[str, GenreCounts],
    curated: CuratedFiles,
    hashes: dict[str, str],
    updated: dict[str, datetime],
) -> dict[str, dict[str, Any]]:
    """Per-genre counts for the manifest and the console."""
    duplicates = _count_by_genre(curated.duplicates)
    cut, members = curated.cut_by_top_n, curated.members
    return {
        genre.id: {
            "file": genre.file,
            "sha256": hashes[genre.id],
            "top_n": genre.top_n,
            "rows_read": counts[genre.id].rows_read,
            "valid": counts[genre.id].valid,
            "quarantined": counts[genre.id].quarantined,
            "duplicates": duplicates.get(genre.id, 0),
            "cut_by_top_n": cut.get(genre.id, 0),
            "tracks": members.get(genre.id, 0),
            "updated_at": c.rfc3339(updated[genre.id]),
        }
        for genre in genres
    }


def _count_by_genre(frame: pl.DataFrame) -> dict[str, int]:
    if frame.height == 0:
        return {}
    return dict(frame.group_by("genre_id").len().iter_rows())


def _updated_at(
    genres: list[Genre], hashes: dict[str, str], live: dict[str, Any] | None, now: datetime
) -> dict[str, datetime]:
    """A genre keeps its previous updated_at when its raw file and its top_n are unchanged."""
    before = (live or {}).get("genres", {})

    def unchanged(genre: Genre) -> bool:
        previous = before.get(genre.id, {})
        return previous.get("sha256") == hashes[genre.id] and previous.get("top_n") == genre.top_n

    return {
        genre.id: datetime.fromisoformat(before[genre.id]["updated_at"])
        if unchanged(genre)
        else now
        for genre in genres
    }


def _manifest(
    settings: Settings,
    started: datetime,
    inputs: str,
    data: str,
    summary: dict[str, dict[str, Any]],
    expectations: list[ExpectationResult],
) -> dict[str, Any]:
    failed = [asdict(e) for e in expectations if not e.success]
    return {
        "version": version_name(data),
        "created_at": c.rfc3339(started),
        "data_sha256": data,
        "inputs_sha256": inputs,
        "code_sha256": code_digest(),
        "upstream": _upstream_record(settings.raw_dir),
        "genres": summary,
        "validation": {
            "engine": "polars",
            "report": "great_expectations",
            # Type checks parse the text; the rest are the suite's expectations.
            "expectations": sum(e.expectation != PARSE_CHECK for e in expectations),
            "type_checks": sum(e.expectation == PARSE_CHECK for e in expectations),
            "failed_expectations": failed,
            "quarantined_rows": sum(g["quarantined"] for g in summary.values()),
            "max_bad_share": settings.max_bad_share,
        },
    }


def _upstream_record(raw_dir: Path) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads((raw_dir / UPSTREAM_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record


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
