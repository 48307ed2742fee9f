"""service/dataset.py and create_app: load a verified dataset once, refuse a broken one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import TINY_TRACKS, TINY_VERSION, assert_canonical_error, write_curated

import contract as c
from service import arrow_files, cache, create_app
from service.dataset import load_dataset


def refuses(directory: Path, caplog: pytest.LogCaptureFixture, message: str) -> None:
    """The worker starts, logs why it cannot serve once, and answers 503 with the reason."""
    with caplog.at_level("ERROR", logger="service"):
        app = create_app({"CURATED_DIR": str(directory), "RELOAD_INTERVAL": 0})
    assert caplog.text.count("cannot serve: ") == 1
    assert message.removeprefix("cannot serve: ") in caplog.text
    assert "run `make ingest`" in caplog.text
    for url in ("/api/v1/health", "/api/v1/stats"):
        response = app.test_client().get(url)
        body = assert_canonical_error(response, 503)
        assert message.removeprefix("cannot serve: ") in body["error"]
        assert response.headers["Retry-After"] and "ETag" not in response.headers


def test_refuses_a_missing_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    refuses(tmp_path / "absent", caplog, f"cannot serve: no curated dataset at {tmp_path}/absent")


def test_refuses_a_dangling_current_link(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "current").symlink_to(tmp_path / "versions" / "gone")
    refuses(tmp_path / "current", caplog, "no curated dataset at")


def test_refuses_a_folder_without_manifest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refuses(tmp_path, caplog, "manifest.json missing")


def test_refuses_a_file_that_does_not_match_the_manifest(
    tiny_curated_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_curated_dir, copy)
    with open(copy / c.TOP_ARTISTS, "ab") as handle:
        handle.write(b"\0")
    refuses(copy, caplog, "top_artists.parquet does not match the sha256 in the manifest")


def test_refuses_a_serving_cache_that_disagrees_with_the_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A cache entry that is whole but does not fit the version's data is refused."""
    folder = write_curated(tmp_path / "bad", TINY_TRACKS)
    entry = cache.entry(folder, TINY_VERSION)
    members = arrow_files.numeric(arrow_files.map_table(entry / "members.arrow"), "row").copy()
    members[0] = 99  # a member row past the six tracks, as a bug in the builder would write it
    arrow_files.write_table(entry / "members.arrow", pl.DataFrame({"row": members}))
    described = cache.describe(entry)  # and recorded, so the entry checks out as whole
    described["files"]["members.arrow"] = {
        "bytes": (entry / "members.arrow").stat().st_size,
        "sha256": c.file_sha256(entry / "members.arrow"),
    }
    (entry / cache.DESCRIPTION).write_text(json.dumps(described))
    refuses(
        folder, caplog, "the curated dataset disagrees with itself: a genre member is not a track"
    )


def mapped_files() -> dict[tuple[int, int], str]:
    """This process's file mappings: (start, end) address -> path."""
    found = {}
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            start, end = (int(x, 16) for x in parts[0].split("-"))
            found[(start, end)] = parts[5]
    return found


def test_the_serving_tables_are_mapped_read_only_from_the_cache_not_copied(
    tiny_curated_dir: Path,
) -> None:
    dataset = load_dataset(tiny_curated_dir)
    maps = mapped_files()
    arrays = {
        "texts.arrow": dataset.index.texts[0],
        "rows.arrow": dataset.index.orders["popularity"],
        "members.arrow": dataset.index.genre_rows,
    }
    for name, array in arrays.items():
        address = array.__array_interface__["data"][0]
        (path,) = [p for (a, b), p in maps.items() if a <= address < b]
        assert path.endswith(f"{TINY_VERSION}-{cache.LAYOUT}/{name}")
        assert not array.flags.writeable
    assert not dataset.space.columns["energy"].flags.writeable


def test_a_worker_keeps_its_dataset_when_current_goes_away(
    tiny_curated_dir: Path, tmp_path: Path
) -> None:
    versions = tmp_path / "versions"
    shutil.copytree(tiny_curated_dir, versions / TINY_VERSION)
    (tmp_path / "current").symlink_to(Path("versions") / TINY_VERSION)
    app = create_app({"CURATED_DIR": str(tmp_path / "current")})
    dataset = app.extensions["kapiko"].current
    assert dataset.folder == (versions / TINY_VERSION).resolve()
    (tmp_path / "current").unlink()  # a new ingest swaps the link; this worker keeps its data
    response = app.test_client().get("/api/v1/health")
    assert response.get_json()["data"]["dataset"]["version"] == TINY_VERSION


def test_curated_dir_defaults_to_the_environment(
    tiny_curated_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAPIKO_CURATED_DIR", str(tiny_curated_dir))
    assert create_app().extensions["kapiko"].current.version == TINY_VERSION


def test_load_dataset_precomputes_fixed_bodies(tiny_curated_dir: Path) -> None:
    dataset = load_dataset(tiny_curated_dir)
    assert dataset.stats_body.startswith(b'{"data":{"totals":{"tracks":6,"genres":3}')
    assert set(dataset.genre_bodies) == {"ambient", "sleep", "piano"}
    assert list(dataset.genres) == ["ambient", "sleep", "piano"]


# The pipeline's own packages (the `pipeline` extra and what it brings), which a replica installed
# with only `.[service]` does not have; boto3 is loaded only when KAPIKO_STORE names a bucket.
NOT_IN_THE_SERVICE = (
    "pipeline",
    "great_expectations",
    "pandas",
    "scipy",
    "altair",
    "boto3",
)


def test_service_never_imports_the_pipeline_or_its_packages(tiny_curated_dir: Path) -> None:
    code = (
        "import sys; from service import create_app; "
        f"create_app({{'CURATED_DIR': {str(tiny_curated_dir)!r}}}).test_client().get('/api/v1/stats'); "
        f"bad = [m for m in sys.modules if m.split('.')[0] in {NOT_IN_THE_SERVICE!r}]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_genre_without_tracks_is_served(tmp_path: Path) -> None:
    tracks = {n: value for n, value in TINY_TRACKS.items() if "piano" not in value[0]}
    client = create_app({"CURATED_DIR": str(write_curated(tmp_path / "v", tracks))}).test_client()
    genre = client.get("/api/v1/genres/piano").get_json()["data"]["genre"]
    assert (genre["track_count"], genre["avg_energy"]) == (0, None)
    listing = client.get("/api/v1/genres/piano/tracks").get_json()
    assert listing == {"data": [], "meta": {"total": 0, "limit": 20, "offset": 0, "next": None}}
    energy = client.get(f"/api/v1/compare?track_id={1:0>22}&genre=piano").get_json()["data"]
    assert energy["comparison"]["energy"] == {
        "track_value": 0.1,
        "genre_avg": None,
        "delta": None,
        "percentile": None,
        "percentile_label": None,
    }
