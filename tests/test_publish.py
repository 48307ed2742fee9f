"""pipeline/publish.py: writing, verifying, swapping in, rolling back and pruning datasets."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from builders import frame, row

import contract as c
from contract import manifest as manifest_module
from contract import serving
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
    arrays = {serving.array_file(name) for name in serving.ARRAYS}
    assert set(written["files"]) == set(c.CURATED_SCHEMAS) | arrays
    assert written["files"][c.TRACKS]["rows"] == 2
    assert written["files"][c.TRACKS]["sha256"] == c.file_sha256(tmp_path / c.TRACKS)
    texts = tmp_path / serving.array_file("texts")
    assert written["files"][serving.array_file("texts")]["sha256"] == c.file_sha256(texts)
    assert c.read_manifest(tmp_path) == json.loads((tmp_path / c.MANIFEST).read_text())


def test_read_manifest_detects_a_changed_or_reshaped_serving_array(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    ranks = serving.array_path(tmp_path, "ranks")
    orders = np.load(ranks)
    np.save(ranks, orders[::-1])  # same shape and dtype, other bytes
    with pytest.raises(c.CuratedDatasetError, match=r"ranks\.npy does not match the sha256"):
        c.read_manifest(tmp_path)
    np.save(ranks, orders[:, :1])  # a shape the contract does not allow
    files = json.loads((tmp_path / c.MANIFEST).read_text())
    files["files"][serving.array_file("ranks")] |= {
        "sha256": c.file_sha256(ranks),
        "bytes": ranks.stat().st_size,
    }
    (tmp_path / c.MANIFEST).write_text(json.dumps(files))
    with pytest.raises(c.CuratedDatasetError, match=r"ranks\.npy has shape \(24, 1\)"):
        c.read_manifest(tmp_path)


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


def test_read_manifest_refuses_a_folder_built_with_another_serving_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = publish.write_dataset(tables(), tmp_path, manifest("v1"))
    assert written["layout_sha256"] == serving.LAYOUT_SHA256
    # Code whose sorts differ (same array shapes, other meaning) must not read this folder.
    monkeypatch.setattr(serving, "LAYOUT_SHA256", "0" * 64)
    with pytest.raises(c.CuratedDatasetError, match=r"another serving layout.*make ingest"):
        c.read_manifest(tmp_path)
    document = json.loads((tmp_path / c.MANIFEST).read_text())
    del document["layout_sha256"]  # written before layouts were recorded
    (tmp_path / c.MANIFEST).write_text(json.dumps(document))
    with pytest.raises(c.CuratedDatasetError, match="another serving layout"):
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


def publish_days(curated: Path, *days: int) -> list[Path]:
    """Publish one small version per day (named by that day, so name order is age order)."""
    return [
        publish.publish(tables(day / 10), curated, manifest(f"202601{day:02}T000000Z-x"))
        for day in days
    ]


def live(curated: Path) -> str:
    return (curated / "current").resolve().name


def test_repeated_rollbacks_step_further_back_until_the_first_version(tmp_path: Path) -> None:
    first, second, third = publish_days(tmp_path, 1, 2, 3)
    assert publish.rollback(tmp_path) == second
    assert (tmp_path / "previous").resolve() == first  # what the next rollback brings back
    assert publish.rollback(tmp_path) == first
    assert live(tmp_path) == first.name and not (tmp_path / "previous").exists()
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(tmp_path)
    assert live(tmp_path) == first.name and third.is_dir()


def test_a_rolled_away_version_is_not_brought_back_by_later_rollbacks(tmp_path: Path) -> None:
    first, second, third = publish_days(tmp_path, 1, 2, 3)
    publish.rollback(tmp_path)  # third is rejected
    fourth = publish.publish(tables(0.4), tmp_path, manifest("20260104T000000Z-x"))
    assert (tmp_path / "previous").resolve() == second
    assert publish.rollback(tmp_path) == second
    assert publish.rollback(tmp_path) == first
    assert not third.exists() and fourth.is_dir()  # rolled away, so pruned at the next publish


def test_rollback_to_a_named_version_then_back_to_a_rolled_away_one(tmp_path: Path) -> None:
    first, second, third = publish_days(tmp_path, 1, 2, 3)
    assert publish.rollback(tmp_path, "20260101T000000Z-x") == first
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(tmp_path)
    assert publish.rollback(tmp_path, third.name) == third  # asked for by name
    assert publish.rollback(tmp_path) == first  # second was rolled away from: skipped
    assert second.is_dir()


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("20990101T000000Z-x", "there is no version '20990101T000000Z-x': `make versions`"),
        ("20260101T000000Z-x", "was pruned on 20"),
        ("20260104T000000Z-x", "is already current"),
    ],
)
def test_rollback_to_a_pruned_missing_or_current_version_is_refused(
    tmp_path: Path, version: str, message: str
) -> None:
    publish_days(tmp_path, 1, 2, 3, 4)  # keeps 2, 3 and 4
    before = snapshot(tmp_path)
    with pytest.raises(PublishError, match=message):
        publish.rollback(tmp_path, version)
    assert snapshot(tmp_path) == before


def test_rollback_past_the_pruned_versions_is_refused_with_the_reason(tmp_path: Path) -> None:
    publish_days(tmp_path, 1, 2, 3, 4)
    publish.rollback(tmp_path)
    publish.rollback(tmp_path)
    assert live(tmp_path) == "20260102T000000Z-x"
    with pytest.raises(PublishError, match="20260101T000000Z-x was pruned on"):
        publish.rollback(tmp_path)


def test_rollback_without_previous_is_refused(tmp_path: Path) -> None:
    publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(tmp_path)


def test_rollback_with_nothing_published_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="nothing is published yet"):
        publish.rollback(tmp_path)


def test_failed_publish_leaves_the_live_dataset_byte_identical(tmp_path: Path) -> None:
    publish.publish(tables(), tmp_path, manifest("20260101T000000Z-a"))
    before = snapshot(tmp_path)
    broken = {**tables(0.9), c.TRACKS: pl.DataFrame({"id": ["x"]})}  # not the contract schema
    with pytest.raises(PublishError, match="does not check out"):
        publish.publish(broken, tmp_path, manifest("20260102T000000Z-b"))
    assert snapshot(tmp_path) == before  # the whole folder: no staging folder left behind
    assert publish.current_manifest(tmp_path)["version"] == "20260101T000000Z-a"  # type: ignore[index]


def test_prune_keeps_current_and_what_rollback_reaches_and_logs_the_rest(tmp_path: Path) -> None:
    publish_days(tmp_path, 1, 2, 3, 4, 5)
    names = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert names == [f"202601{day:02}T000000Z-x" for day in (3, 4, 5)]
    publish.rollback(tmp_path)  # current = 4; 5 is rolled away from
    publish_days(tmp_path, 6)  # rollback path: 1, 2, 3, 4, 6
    names = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert names == [f"202601{day:02}T000000Z-x" for day in (3, 4, 6)]
    log = json.loads((tmp_path / "history.json").read_text())
    pruned = [item["version"][6:8] for item in log["versions"] if item["pruned_at"]]
    assert pruned == ["01", "02", "05"]
    assert log["live"][-3:] == [f"202601{day:02}T000000Z-x" for day in (3, 4, 6)]


def test_history_lists_each_version_with_its_creation_time_and_tracks(tmp_path: Path) -> None:
    publish_days(tmp_path, 1, 2)
    log = json.loads((tmp_path / "history.json").read_text())
    assert [(i["version"], i["created_at"], i["tracks"]) for i in log["versions"]] == [
        ("20260101T000000Z-x", "2026-01-01T00:00:00+00:00", 2),
        ("20260102T000000Z-x", "2026-01-01T00:00:00+00:00", 2),
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


def test_prune_runs_keeps_the_newest_and_always_the_current_run(tmp_path: Path) -> None:
    for name in [
        "20260101T000000Z",
        "20260101T000000Z-2",
        "20260101T000000Z-10",  # the tenth run of that second: newer than -2
        "20260102T000000Z",
        "20260103T000000Z",
        "notes",  # not a run folder: left alone
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.txt").write_text("a report")
    current = tmp_path / "20251231T235959Z"  # the clock went back: oldest by name, yet current
    current.mkdir()
    deleted = publish.prune_runs(tmp_path, keep=4, current=current)
    assert sorted(p.name for p in deleted) == ["20260101T000000Z", "20260101T000000Z-2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20251231T235959Z",
        "20260101T000000Z-10",
        "20260102T000000Z",
        "20260103T000000Z",
        "notes",
    ]


def age(directory: Path, seconds: float) -> None:
    """Make every file of a folder look `seconds` old."""
    for path in directory.rglob("*"):
        if path.is_file():
            then = path.stat().st_mtime - seconds
            os.utime(path, (then, then))


def test_a_settled_folder_is_hashed_once_then_trusted_until_a_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    assert not (tmp_path / ".verified.json").exists()  # the files are too fresh to stamp
    age(tmp_path, 60)
    hashed: list[str] = []
    real = c.file_sha256
    monkeypatch.setattr(
        manifest_module, "file_sha256", lambda path: hashed.append(path.name) or real(path)
    )
    c.read_manifest(tmp_path)
    assert len(hashed) == len(c.CURATED_SCHEMAS) + len(serving.ARRAYS)
    assert (tmp_path / ".verified.json").exists()
    hashed.clear()
    c.read_manifest(tmp_path)  # another worker: the stamp matches, nothing is hashed
    assert hashed == []
    texts = serving.array_path(tmp_path, "texts")
    texts.write_bytes(texts.read_bytes().replace(b'"name"', b'"nome"'))  # same size, new time
    with pytest.raises(c.CuratedDatasetError, match=r"texts\.npy does not match the sha256"):
        c.read_manifest(tmp_path)
