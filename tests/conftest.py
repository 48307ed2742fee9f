"""Shared fixtures: small literal frames, and a curated dataset built by the real pipeline."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3 import BUCKET, S3Server, seaweedfs

from contract.bucket import BucketStore
from pipeline import extract
from pipeline.__main__ import main
from pipeline.run import Settings, ingest

pytest_plugins = ["browser"]  # tests/browser.py: offline headless Chromium fixtures

# Each test says where its data is: settings exported in the developer's shell must not leak
# into the app, the pipeline or the servers the tests start (they inherit this environment).
for _setting in (
    "KAPIKO_STORE",
    "KAPIKO_CACHE_DIR",
    "KAPIKO_RELOAD_INTERVAL",
    "KAPIKO_CURATED_DIR",
):
    os.environ.pop(_setting, None)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The tests' own copy of the shipped default catalogue: what a user adds to data/raw/genres.toml
# must not change what the real-data tests expect (tests/test_catalogue.py compares the two).
DEFAULT_CATALOGUE = Path(__file__).with_name("data") / "default-genres.toml"


NO_UPSTREAM = (
    "the real upstream file is not at ../shared/data/spotify_tracks/dataset.csv nor in "
    f"{extract.UPSTREAM_ENV}; tests that need real data cannot run"
)


def real_upstream() -> Path:
    """The real upstream file from KAPIKO_UPSTREAM or the ../shared mirror; fail, never download."""
    explicit = os.environ.get(extract.UPSTREAM_ENV)
    path = Path(explicit) if explicit else extract.MIRROR_PATH
    if not path.is_file():
        where = f" ({extract.UPSTREAM_ENV}={explicit} is not a file)" if explicit else ""
        pytest.fail(NO_UPSTREAM + where, pytrace=False)
    return path


@pytest.fixture(scope="session")
def upstream_path() -> Path:
    """The real upstream file (see real_upstream): a test that needs it fails without it."""
    return real_upstream()


@pytest.fixture(scope="session")
def real_data_dir(upstream_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the default catalogue, ingested from the real upstream by the pipeline."""
    data_dir = tmp_path_factory.mktemp("real-data")
    (data_dir / "raw").mkdir()
    shutil.copy(DEFAULT_CATALOGUE, data_dir / "raw" / "genres.toml")
    assert main(["raw", "--data-dir", str(data_dir)]) == 0
    ingest(Settings(data_dir=data_dir), log=lambda message: None)
    return data_dir


@pytest.fixture(scope="session")
def real_curated_dir(real_data_dir: Path) -> Path:
    """The `current` curated folder built from the real upstream (default catalogue)."""
    return real_data_dir / "curated" / "current"


# ---------------------------------------------------------------- service (API) fixtures
# A hand-built catalogue of six tracks in three genres, small enough to compute every expected
# value by hand; tests/test_api.py lists those values. Tracks 2, 4 and 6 are in two genres each.
TINY_GENRES = (
    ("ambient", "Ambient", "Quiet and textural."),
    ("sleep", "Sleep", "Quieter still."),
    ("piano", "Piano", "Piano-led pieces."),
)
TINY_TRACKS = {  # n: (genres, overrides of tests/builders.row's neutral values)
    1: (("ambient",), dict(track_name="Bravo", artists="Cigarettes After Sex", popularity=80,
        energy=0.1, tempo=60.0, valence=0.2, key=5, mode=1)),
    2: (("ambient", "sleep"), dict(track_name="alpha", artists="Brian Eno", popularity=80,
        energy=0.3, tempo=0.0, valence=0.4, key=0, mode=0)),
    3: (("sleep",), dict(track_name="Charlie", artists="brian eno; Harold Budd", popularity=40,
        energy=0.3, tempo=120.0, valence=0.6, key=5, mode=1)),
    4: (("sleep", "piano"), dict(track_name="delta", artists="Ólafur Arnalds", popularity=60,
        energy=0.9, tempo=90.0, valence=0.8, key=-1, mode=0, explicit=True)),
    5: (("piano",), dict(track_name="Echo", artists="Nils Frahm", popularity=20,
        energy=0.5, tempo=200.0, valence=0.1, key=11, mode=1)),
    6: (("ambient", "piano"), dict(track_name="Foxtrot", artists="CIGARETTES after sex",
        popularity=80, energy=0.7, tempo=60.0, valence=0.3, key=5, mode=0)),
}  # fmt: skip
TINY_VERSION = "20260322T000000Z-tiny0001"


def write_curated(directory: Path, tracks: dict[int, tuple[tuple[str, ...], dict]]) -> Path:
    """Run the real transform and publish steps over hand-built rows into `directory`."""
    from datetime import UTC, datetime

    from builders import frame, row

    from pipeline.catalogue import Genre
    from pipeline.publish import write_dataset
    from pipeline.transform import curated_tables

    genres = [Genre(id_, name, text, f"{id_}.csv") for id_, name, text in TINY_GENRES]
    rows = [
        row(genre, n, n, **values)
        for n, (member_of, values) in tracks.items()
        for genre in member_of
    ]
    updated = {genre.id: datetime(2026, 3, 22, tzinfo=UTC) for genre in genres}
    tables = curated_tables(frame(*rows), genres, updated).tables
    created = "2026-03-22T00:00:00+00:00"
    write_dataset(tables, directory, {"version": TINY_VERSION, "created_at": created})
    return directory


@pytest.fixture(scope="session")
def tiny_curated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-built six-track curated dataset (TINY_TRACKS), written by the real pipeline."""
    return write_curated(tmp_path_factory.mktemp("tiny-curated") / TINY_VERSION, TINY_TRACKS)


@pytest.fixture(scope="session")
def tiny_app(tiny_curated_dir: Path) -> Any:
    """The API app over the hand-built dataset."""
    from service import create_app

    return create_app({"CURATED_DIR": str(tiny_curated_dir), "TESTING": True})


@pytest.fixture()
def client(tiny_app: Any) -> Any:
    """A test client of the API over the hand-built dataset."""
    return tiny_app.test_client()


@pytest.fixture(scope="session")
def real_app(real_curated_dir: Path) -> Any:
    """The API app over the dataset the pipeline built from the real upstream."""
    from service import create_app

    return create_app({"CURATED_DIR": str(real_curated_dir), "TESTING": True})


def assert_canonical_error(response: Any, status: int) -> dict[str, Any]:
    """The response is a JSON error with the one error shape and a useful message."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert set(body) == {"error", "status"}
    assert body["status"] == status
    assert isinstance(body["error"], str) and len(body["error"]) > 5
    return dict(body)


# ---------------------------------------------------------------- the S3 store (tests/s3.py)
@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) for one test module, on 127.0.0.1, stopped after it."""
    with seaweedfs(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture()
def s3_store(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, request: Any) -> BucketStore:
    """A prefix of the test bucket for this test alone, with the server's AWS_* variables set."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return BucketStore(BUCKET, re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:80])
