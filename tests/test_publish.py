"""pipeline/publish.py: writing, verifying, swapping in, rolling back and pruning datasets."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from builders import frame, row

import contract as c
from pipeline import publish
from pipeline.catalogue import Genre
from pipeline.errors import PublishError
from pipeline.transform import curated_tables

GENRES = [Genre("ambient", "Ambient", "Quiet.", "ambient.csv")]


def tables(energy: float = 0.5) -> dict[str, pl.DataFrame]:
    rows = frame(row("ambient", 1, 1, energy=energy), row("ambient", 2, 2))
    return curated_tables(rows, GENRES, {"ambient": datetime(2026, 1, 1, tzinfo=UTC)}).tables


def manifest(version: str) -> dict[str, object]:
    return {"version": version, "created_at": "2026-01-01T00:00:00+00:00"}


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a folder (links followed) with its bytes."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_write_dataset_lists_every_file_with_checksum_and_rows(tmp_path: Path) -> None:
    written = publish.write_dataset(tables(), tmp_path, manifest("v1"))
    assert written["schema_version"] == c.SCHEMA_VERSION
    assert set(written["files"]) == set(c.CURATED_SCHEMAS)
    assert written["files"][c.TRACKS]["rows"] == 2
    assert written["files"][c.TRACKS]["sha256"] == c.file_sha256(tmp_path / c.TRACKS)
    assert c.read_manifest(tmp_path) == json.loads((tmp_path / c.MANIFEST).read_text())


def test_read_manifest_detects_a_changed_file(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    tables(energy=0.9)[c.TRACKS].write_parquet(tmp_path / c.TRACKS)
    with pytest.raises(c.CuratedDatasetError, match="does not match the sha256"):
        c.read_manifest(tmp_path)


def test_read_manifest_detects_a_missing_file_and_schema_version(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    (tmp_path / c.TOP_ARTISTS).unlink()
    with pytest.raises(c.CuratedDatasetError, match=r"top_artists\.parquet is missing"):
        c.read_manifest(tmp_path)
    document = json.loads((tmp_path / c.MANIFEST).read_text())
    (tmp_path / c.MANIFEST).write_text(json.dumps({**document, "schema_version": 99}))
    with pytest.raises(c.CuratedDatasetError, match="schema_version 99"):
        c.read_manifest(tmp_path)


def test_write_dataset_refuses_incomplete_tables(tmp_path: Path) -> None:
    incomplete = {name: t for name, t in tables().items() if name != c.GENRES}
    with pytest.raises(PublishError, match=r"without \['genres.parquet'\]"):
        publish.write_dataset(incomplete, tmp_path, manifest("v1"))


def test_publish_swaps_current_and_keeps_previous(tmp_path: Path) -> None:
    first = publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    second = publish.publish(tables(0.9), tmp_path, manifest("20260102T000000Z-b"))
    assert (tmp_path / "current").resolve() == second
    assert (tmp_path / "previous").resolve() == first
    assert os.readlink(tmp_path / "current") == "versions/20260102T000000Z-b"  # relative: movable
    assert publish.current_manifest(tmp_path)["version"] == "20260102T000000Z-b"  # type: ignore[index]
    assert not any(p.name.startswith(".") for p in (tmp_path / "versions").iterdir())


def test_rollback_swaps_back_and_forth(tmp_path: Path) -> None:
    first = publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    second = publish.publish(tables(0.9), tmp_path, manifest("20260102T000000Z-b"))
    assert publish.rollback(tmp_path) == first
    assert (tmp_path / "current").resolve() == first and (tmp_path / "previous").resolve() == second
    assert publish.rollback(tmp_path) == second


def test_rollback_without_previous_is_refused(tmp_path: Path) -> None:
    publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(tmp_path)


def test_failed_publish_leaves_the_live_dataset_byte_identical(tmp_path: Path) -> None:
    publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    before = snapshot(tmp_path)
    broken = {**tables(0.9), c.TRACKS: pl.DataFrame({"id": ["x"]})}  # not the contract schema
    with pytest.raises(PublishError, match="does not check out"):
        publish.publish(broken, tmp_path, manifest("20260102T000000Z-b"))
    assert snapshot(tmp_path) == before  # the whole folder: no staging folder left behind
    assert publish.current_manifest(tmp_path)["version"] == "20260101T000000Z-a"  # type: ignore[index]


def test_prune_keeps_the_newest_versions_and_never_the_linked_ones(tmp_path: Path) -> None:
    for day in range(1, 6):
        publish.publish(tables(day / 10), tmp_path, manifest(f"2026010{day}T000000Z-x"))
    names = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert names == [f"2026010{day}T000000Z-x" for day in (3, 4, 5)]
    publish.rollback(tmp_path)  # current = 4, previous = 5
    publish.publish(tables(0.7), tmp_path, manifest("20260106T000000Z-x"))
    names = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert names == [f"2026010{day}T000000Z-x" for day in (4, 5, 6)]
