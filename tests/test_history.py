"""pipeline/history.py: the log of published versions, including one rebuilt from the folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_publish import manifest, tables

from contract.store import FolderStore
from pipeline import history, publish
from pipeline.errors import PublishError

NAMES = ["20260101T000000Z-a", "20260102T000000Z-b", "20260103T000000Z-c"]


def old_layout(curated: Path, current: str) -> None:
    """Version folders and a `current` link as published before history.json existed."""
    for name in NAMES:
        publish.write_dataset(tables(), curated / "versions" / name, manifest(name))
    os.symlink(f"versions/{current}", curated / "current")


def test_without_a_history_file_the_versions_up_to_current_are_the_rollback_path(
    tmp_path: Path,
) -> None:
    old_layout(tmp_path, current=NAMES[1])
    log = history.load(FolderStore(tmp_path))
    assert log["live"] == NAMES[:2]
    assert [
        (item["version"], state)
        for item, state in history.states(log, history.present(FolderStore(tmp_path)))
    ] == [
        (NAMES[0], "earlier"),
        (NAMES[1], "current"),
        (NAMES[2], "rolled back"),
    ]
    assert publish.rollback(FolderStore(tmp_path))[0] == NAMES[0]


def test_a_publish_after_the_current_link_was_lost_starts_a_new_rollback_path(
    tmp_path: Path,
) -> None:
    old_layout(tmp_path, current=NAMES[2])
    history.save(FolderStore(tmp_path), history.load(FolderStore(tmp_path)))
    (tmp_path / "current").unlink()
    publish.publish(tables(), FolderStore(tmp_path), manifest("20260104T000000Z-d"))
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(FolderStore(tmp_path))


def test_after_every_version_folder_is_removed_the_history_starts_afresh(tmp_path: Path) -> None:
    old_layout(tmp_path, current=NAMES[2])
    history.save(FolderStore(tmp_path), history.load(FolderStore(tmp_path)))
    shutil.rmtree(tmp_path / "versions")  # what `make clean` does, leaving history.json
    (tmp_path / "current").unlink()
    assert history.load(FolderStore(tmp_path)) == {"versions": [], "live": []}
    publish.publish(tables(), FolderStore(tmp_path), manifest("20260104T000000Z-d"))
    log = history.load(FolderStore(tmp_path))
    assert [item["version"] for item in log["versions"]] == ["20260104T000000Z-d"]
    assert log["live"] == ["20260104T000000Z-d"]


def test_an_unreadable_history_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "history.json").write_text("{not json")
    with pytest.raises(PublishError, match="delete it to rebuild it from the versions kept"):
        history.load(FolderStore(tmp_path))


def test_a_version_deleted_by_hand_is_listed_as_missing_and_not_rolled_back_to(
    tmp_path: Path,
) -> None:
    old_layout(tmp_path, current=NAMES[2])
    history.save(FolderStore(tmp_path), history.load(FolderStore(tmp_path)))
    shutil.rmtree(tmp_path / "versions" / NAMES[1])
    log = history.load(FolderStore(tmp_path))
    assert (
        dict(
            (item["version"], state)
            for item, state in history.states(log, history.present(FolderStore(tmp_path)))
        )[NAMES[1]]
        == "missing"
    )
    with pytest.raises(PublishError, match="is gone from"):
        publish.rollback(FolderStore(tmp_path))
