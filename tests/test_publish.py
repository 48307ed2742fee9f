"""pipeline/publish.py over both stores (a folder, and a real S3 bucket): writing, verifying,
making current, rolling back and pruning follow one set of rules through one interface."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from builders import frame, row

import contract as c
from contract import manifest as manifest_module
from contract.bucket import BucketStore
from contract.store import FolderStore, VersionStore
from pipeline import history, publish
from pipeline.catalogue import Genre
from pipeline.errors import PublishError
from pipeline.transform import curated_tables

GENRES = [Genre("ambient", "Ambient", "Quiet.", "ambient.csv")]


def tables(energy: float = 0.5) -> dict[str, pl.DataFrame]:
    rows = frame(row("ambient", 1, 1, energy=energy), row("ambient", 2, 2))
    return curated_tables(rows, GENRES, {"ambient": datetime(2026, 1, 1, tzinfo=UTC)}).tables


def manifest(version: str, day: int = 1) -> dict[str, object]:
    return {"version": version, "created_at": f"2026-01-{day:02}T00:00:00Z"}


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a folder (links followed) with its bytes."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(params=["folder", "bucket"])
def store(request: Any, tmp_path: Path) -> Iterator[VersionStore]:
    """An empty store: a folder, or a prefix of a real S3 bucket (tests/s3.py)."""
    if request.param == "folder":
        yield FolderStore(tmp_path / "curated")
    else:
        bucket: BucketStore = request.getfixturevalue("s3_store")
        yield bucket


def publish_days(store: VersionStore, *days: int) -> list[str]:
    """Publish one small version per day, named by that day; their names."""
    names = []
    for day in days:
        name = f"202601{day:02}T000000Z-x"
        publish.publish(tables(day / 10), store, manifest(name, day))
        names.append(name)
    return names


def live(store: VersionStore) -> str | None:
    pointer = store.pointer()
    return None if pointer is None else pointer.version


def kept(store: VersionStore) -> list[str]:
    return sorted(name for name, complete in store.versions().items() if complete)


# ---------------------------------------------------------------- one version folder
def test_write_dataset_lists_every_file_with_checksum_and_rows(tmp_path: Path) -> None:
    written = publish.write_dataset(tables(), tmp_path, manifest("v1"))
    assert written["schema_version"] == c.SCHEMA_VERSION
    assert written["schema_fingerprint"] == c.schema_fingerprint()
    assert set(written["files"]) == {*c.CURATED_SCHEMAS, c.DATAPACKAGE}
    assert written["files"][c.TRACKS]["rows"] == 2
    assert written["files"][c.TRACKS]["sha256"] == c.file_sha256(tmp_path / c.TRACKS)
    assert c.read_manifest(tmp_path) == json.loads((tmp_path / c.MANIFEST).read_text())
    assert not (tmp_path / "index").exists()  # data only: what serving needs is a host's cache


def test_the_datapackage_describes_every_table_as_its_files_are(tmp_path: Path) -> None:
    written = publish.write_dataset(tables(), tmp_path, manifest("v1"))
    package = json.loads((tmp_path / c.DATAPACKAGE).read_text())
    resources = {resource["path"]: resource for resource in package["resources"]}
    assert set(resources) == set(c.CURATED_SCHEMAS)
    for name, resource in resources.items():
        assert resource["hash"] == f"sha256:{written['files'][name]['sha256']}"
        columns = [field["name"] for field in resource["schema"]["fields"]]
        assert columns == list(pl.read_parquet_schema(tmp_path / name))
    tempo = next(f for f in resources[c.TRACKS]["schema"]["fields"] if f["name"] == "tempo")
    assert tempo["constraints"] == {"required": True, "minimum": 0.0, "maximum": 250.0}


def test_read_manifest_detects_a_changed_file(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    tables(energy=0.9)[c.TRACKS].write_parquet(tmp_path / c.TRACKS)
    with pytest.raises(c.CuratedDatasetError, match="does not match the sha256"):
        c.read_manifest(tmp_path)


def test_read_manifest_detects_a_missing_file(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    (tmp_path / c.TOP_ARTISTS).unlink()
    with pytest.raises(c.CuratedDatasetError, match=r"top_artists\.parquet is missing"):
        c.read_manifest(tmp_path)


def rewrite_manifest(folder: Path, **changes: Any) -> None:
    document = json.loads((folder / c.MANIFEST).read_text())
    (folder / c.MANIFEST).write_text(json.dumps({**document, **changes}))


def test_an_older_schema_is_refused_naming_the_migrations_since(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    rewrite_manifest(tmp_path, schema_version=1, schema_fingerprint=None)
    with pytest.raises(c.CuratedDatasetError) as refused:
        c.read_manifest(tmp_path)
    message = str(refused.value)
    assert f"has curated schema 1, and this code reads schema {c.SCHEMA_VERSION}" in message
    assert "migration 2 'derived-fields' (mood, key_name and camelot in tracks;" in message
    assert "`make ingest` builds one from the raw files" in message


def test_a_schema_this_code_does_not_know_is_refused(tmp_path: Path) -> None:
    publish.write_dataset(tables(), tmp_path, manifest("v1"))
    rewrite_manifest(tmp_path, schema_version=c.SCHEMA_VERSION, schema_fingerprint="0" * 16)
    with pytest.raises(c.CuratedDatasetError, match=r"fingerprint 0{16}.*written by other code"):
        c.read_manifest(tmp_path)


def test_a_version_written_by_older_code_with_the_same_schema_is_read_as_it_is(
    tmp_path: Path,
) -> None:
    """The landed main's versions: no fingerprint, a layout digest, serving arrays in index/."""
    publish.write_dataset(tables(), tmp_path, manifest("20260101T000000Z-01904ff0"))
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "texts.npy").write_bytes(b"arrays the old code mapped")
    document = json.loads((tmp_path / c.MANIFEST).read_text())
    del document["schema_fingerprint"], document["files"][c.DATAPACKAGE]
    document["layout_sha256"] = "f" * 64
    document["files"]["index/texts.npy"] = {"sha256": "0" * 64, "rows": 1, "bytes": 26}
    (tmp_path / c.MANIFEST).write_text(json.dumps(document))
    assert c.read_manifest(tmp_path)["version"] == "20260101T000000Z-01904ff0"


def test_write_dataset_refuses_incomplete_tables(tmp_path: Path) -> None:
    incomplete = {name: t for name, t in tables().items() if name != c.GENRES}
    with pytest.raises(PublishError, match=r"without \['genres.parquet'\]"):
        publish.write_dataset(incomplete, tmp_path, manifest("v1"))


# ---------------------------------------------------------------- both stores, one set of rules
def test_publish_makes_a_version_current_and_logs_it(store: VersionStore) -> None:
    assert live(store) is None and publish.current_manifest(store) is None
    where = publish.publish(tables(), store, manifest("20260101T000000Z-a"))
    assert where == store.url("versions", "20260101T000000Z-a")
    assert live(store) == "20260101T000000Z-a"
    written = publish.current_manifest(store)
    assert written is not None and set(c.CURATED_SCHEMAS) < set(written["files"])
    log = history.load(store)
    assert log["live"] == ["20260101T000000Z-a"]
    assert [(i["version"], i["created_at"], i["tracks"]) for i in log["versions"]] == [
        ("20260101T000000Z-a", "2026-01-01T00:00:00Z", 2)
    ]


def test_repeated_rollbacks_step_further_back_until_the_first_version(
    store: VersionStore,
) -> None:
    first, second, third = publish_days(store, 1, 2, 3)
    assert publish.rollback(store) == (second, third)
    assert publish.rollback(store) == (first, second)
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(store)
    assert live(store) == first and third in kept(store)


def test_a_rolled_away_version_is_not_brought_back_by_later_rollbacks(
    store: VersionStore,
) -> None:
    first, second, third = publish_days(store, 1, 2, 3)
    publish.rollback(store)  # third is rejected
    (fourth,) = publish_days(store, 4)
    assert publish.rollback(store)[0] == second
    assert publish.rollback(store)[0] == first
    assert third not in kept(store) and fourth in kept(store)  # rolled away: pruned next publish


def test_rollback_to_a_named_version_then_back_to_a_rolled_away_one(store: VersionStore) -> None:
    first, second, third = publish_days(store, 1, 2, 3)
    assert publish.rollback(store, first)[0] == first
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(store)
    assert publish.rollback(store, third)[0] == third  # asked for by name
    assert publish.rollback(store)[0] == first  # second was rolled away from: skipped
    assert second in kept(store)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("20990101T000000Z-x", "there is no version '20990101T000000Z-x': `make versions`"),
        ("20260101T000000Z-x", "was pruned on 20"),
        ("20260104T000000Z-x", "is already current"),
    ],
)
def test_rollback_to_a_pruned_missing_or_current_version_is_refused(
    store: VersionStore, version: str, message: str
) -> None:
    publish_days(store, 1, 2, 3, 4)  # keeps 2, 3 and 4
    before = (kept(store), history.load(store))
    with pytest.raises(PublishError, match=message):
        publish.rollback(store, version)
    assert (kept(store), history.load(store)) == before


def test_rollback_with_nothing_published_or_nothing_before_is_refused(store: VersionStore) -> None:
    with pytest.raises(PublishError, match="nothing is published yet"):
        publish.rollback(store)
    publish_days(store, 1)
    with pytest.raises(PublishError, match="nothing to roll back to"):
        publish.rollback(store)


def test_prune_keeps_current_and_what_rollback_reaches_and_logs_the_rest(
    store: VersionStore,
) -> None:
    publish_days(store, 1, 2, 3, 4, 5)
    assert kept(store) == [f"202601{day:02}T000000Z-x" for day in (3, 4, 5)]
    publish.rollback(store)  # current = 4; 5 is rolled away from
    publish_days(store, 6)  # rollback path: 1, 2, 3, 4, 6
    assert kept(store) == [f"202601{day:02}T000000Z-x" for day in (3, 4, 6)]
    log = history.load(store)
    assert [item["version"][6:8] for item in log["versions"] if item["pruned_at"]] == [
        "01", "02", "05"
    ]  # fmt: skip
    assert log["live"][-3:] == [f"202601{day:02}T000000Z-x" for day in (3, 4, 6)]


def test_publishing_data_the_store_holds_moves_the_pointer_and_adds_nothing(
    store: VersionStore,
) -> None:
    first, second = publish_days(store, 1, 2)
    files = store.manifest(first)["files"]
    publish.publish(tables(0.1), store, manifest(first, 9))  # day 1's data again
    assert live(store) == first and kept(store) == [first, second]
    assert store.manifest(first)["files"] == files  # the version kept, not rewritten
    assert history.load(store)["live"] == [second, first]
    assert publish.rollback(store) == (second, first)  # back to the version it replaced


def test_a_version_broken_in_the_store_is_not_rolled_back_to(store: VersionStore) -> None:
    first, second = publish_days(store, 1, 2)
    if isinstance(store, FolderStore):
        (store.root / "versions" / first / c.GENRES).write_bytes(b"not parquet")
    else:
        assert isinstance(store, BucketStore)
        store.put(b"not parquet", "versions", first, c.GENRES)
    with pytest.raises(PublishError, match=r"unusable, not rolling back: .*genres\.parquet does"):
        publish.rollback(store)
    assert live(store) == second


def test_a_failed_publish_moves_nothing_and_leaves_no_version_behind(store: VersionStore) -> None:
    (first,) = publish_days(store, 1)
    before = history.load(store)
    broken = {**tables(0.9), c.TRACKS: pl.DataFrame({"id": ["x"]})}  # not the contract schema
    with pytest.raises(PublishError, match="does not check out"):
        publish.publish(broken, store, manifest("20260102T000000Z-b"))
    assert live(store) == first and list(store.versions()) == [first]
    assert history.load(store) == before


# ---------------------------------------------------------------- the folder's own
def test_the_folder_keeps_relative_current_and_previous_links(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    first, second = publish_days(store, 1, 2)
    assert (tmp_path / "current").resolve() == tmp_path / "versions" / second
    assert (tmp_path / "previous").resolve() == tmp_path / "versions" / first
    assert os.readlink(tmp_path / "current") == f"versions/{second}"  # relative: movable
    publish.rollback(store)
    assert not (tmp_path / "previous").exists()
    hidden = [p.name for p in (tmp_path / "versions").iterdir() if p.name.startswith(".")]
    assert hidden == []  # no staging folder left
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_a_failed_publish_leaves_the_folder_byte_identical(tmp_path: Path) -> None:
    publish_days(FolderStore(tmp_path), 1)
    before = snapshot(tmp_path)
    broken = {**tables(0.9), c.TRACKS: pl.DataFrame({"id": ["x"]})}
    with pytest.raises(PublishError):
        publish.publish(broken, FolderStore(tmp_path), manifest("20260102T000000Z-b"))
    assert snapshot(tmp_path) == before


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
    folder = tmp_path / "v1"
    publish.write_dataset(tables(), folder, manifest("v1"))
    stamp = tmp_path / ".stamps" / "v1.json"  # beside the folder, never in it
    assert not stamp.exists()  # the files are too fresh to stamp
    age(folder, 60)
    hashed: list[str] = []
    real = c.file_sha256
    monkeypatch.setattr(
        manifest_module, "file_sha256", lambda path: hashed.append(path.name) or real(path)
    )
    c.read_manifest(folder)
    assert sorted(hashed) == sorted([*c.CURATED_SCHEMAS, c.DATAPACKAGE])
    assert stamp.exists() and not (folder / ".verified.json").exists()
    hashed.clear()
    c.read_manifest(folder)  # another worker: the stamp matches, nothing is hashed
    assert hashed == []
    genres = folder / c.GENRES
    genres.write_bytes(genres.read_bytes().replace(b"Quiet.", b"Loud!."))  # same size, new time
    with pytest.raises(c.CuratedDatasetError, match=r"genres\.parquet does not match the sha256"):
        c.read_manifest(folder)


def test_a_file_changed_with_its_old_time_put_back_is_still_caught(tmp_path: Path) -> None:
    """`cp -p` or `touch -r` restore the modification time; the status-change time moves."""
    folder = tmp_path / "v1"
    publish.write_dataset(tables(), folder, manifest("v1"))
    age(folder, 60)
    c.read_manifest(folder)  # verified and stamped
    genres = folder / c.GENRES
    before = genres.stat()
    genres.write_bytes(genres.read_bytes().replace(b"Quiet.", b"Loud!."))
    os.utime(genres, ns=(before.st_atime_ns, before.st_mtime_ns))  # what touch -r does
    assert (genres.stat().st_size, genres.stat().st_mtime_ns) == (
        before.st_size,
        before.st_mtime_ns,
    )
    with pytest.raises(c.CuratedDatasetError, match=r"genres\.parquet does not match the sha256"):
        c.read_manifest(folder)


def test_a_published_version_is_read_only(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    (first,) = publish_days(store, 1)
    folder = tmp_path / "versions" / first
    assert {oct(p.stat().st_mode & 0o777) for p in folder.rglob("*") if p.is_file()} == {"0o444"}
    assert oct(folder.stat().st_mode & 0o777) == "0o555"
    publish_days(store, 2, 3, 4)  # a sealed version is still pruned
    assert first not in kept(store)
