"""What a run says about its data: the digests of its inputs and code, each genre's counts and
updated_at, and the manifest of the version it publishes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from contract.digest import version_name
from pipeline.catalogue import Genre
from pipeline.curate import CuratedFiles
from pipeline.expectations import PARSE_CHECK
from pipeline.settings import Settings
from pipeline.validate import ExpectationResult, GenreCounts

UPSTREAM_RECORD = "upstream.json"  # written by `pipeline raw` into the raw folder
_CODE_FILES = [
    *sorted(Path(c.__file__).parent.glob("*.py")),
    *sorted(Path(__file__).parent.glob("*.py")),
]


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


def updated_at(
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


def manifest(
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
