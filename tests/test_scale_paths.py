"""The structures that serve millions of tracks answer exactly what the scans answer.

At SCALE_FROM tracks (a million) the service finds filtered listings through the projections
(service/projections.py) and neighbours through the k-d cells (service/cells.py). Here the
threshold is lowered to 0 over the real catalogue (89,740 tracks, about 44 cells), so every
query that can take those paths does, and each answer must be byte for byte the answer of the
masks and full scans (the paths the rest of the suite checks against brute force). The cells'
search is also checked alone against a plain sort of every distance, on points with ties.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from bench import mix
from contract.fields import SIMILARITY_FEATURES
from service import cells, create_app, projections, queries, serving_texts
from service.scale_tables import Cells, cell_order
from service.similarity import TIE

GROUPS = {"tracks": 120, "ranges3": 120, "facets": 80, "similar": 120, "recommendations": 80}


@pytest.fixture(scope="module")
def urls(real_curated_dir: Path) -> dict[str, list[str]]:
    catalogue = mix.catalogue_from_curated(real_curated_dir)
    rng = random.Random(20261204)
    return {
        group: [mix.group_queries(group, rng, catalogue)[0] for _ in range(count)]
        for group, count in GROUPS.items()
    }


# Shapes the generated mix rarely draws, each a branch of the structures: a sort by a filtered
# column whose matches lie deep in its order (the walk gives up and ranks them), filters that
# pass every track (a mask, not sorted rows), few tracks (measured one by one), a subset of
# the features, a page far down.
EDGE_CASES = (
    "/tracks?min_loudness=-60&max_loudness=-30&sort=loudness&limit=5",
    "/tracks?min_loudness=-60&max_loudness=-30&min_energy=0&sort=loudness&limit=5&offset=50",
    "/tracks?max_tempo=80&min_valence=0.5&sort=tempo&facets=mood,key&limit=3",
    "/tracks?max_duration_ms=100000000&sort=energy_asc&limit=7",
    "/tracks?min_popularity=100&max_popularity=100&sort=name",
    "/tracks?min_energy=0.9&max_energy=0.1",  # refused (400) on both paths
    "/tracks/{track}/similar?max_duration_ms=100000000&limit=20",
    "/tracks/{track}/similar?min_liveness=0.9&limit=20",
    "/tracks/{track}/similar?min_tempo=100&features=tempo,energy&limit=30&offset=40",
    "/tracks/{track}/similar?max_energy=0.2&max_per_artist=1&limit=15",
    "/recommendations?seed_tracks={track}&target_energy=0.9&max_acousticness=0.05&limit=20",
    "/recommendations?seed_tracks={track}&min_popularity=0&limit=50",
    # filters with no range: few tracks pass (measured directly), or most (the cells, a mask)
    "/tracks/{track}/similar?key=0&mode=1&mood=calm&limit=20",
    "/recommendations?seed_tracks={track}&camelot=8B&limit=20",
    "/tracks/{track}/similar?explicit=false&limit=20",
    "/tracks?min_energy=0.5&max_energy=0.6&sort=popularity&max_per_artist=1&limit=20",
)
# Listings through the projections, followed page by page with their cursors.
CURSOR_LISTINGS = (
    "/tracks?min_energy=0.3&max_valence=0.6&sort=tempo&limit=7",
    "/tracks?min_loudness=-60&max_loudness=-30&sort=loudness&limit=5",
    "/tracks?min_acousticness=0.5&sort=name&limit=9",
    "/tracks?min_tempo=90&max_tempo=130&sort=popularity&max_per_artist=1&limit=6",
)


@pytest.fixture()
def scale_paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(projections, "SCALE_FROM", 0)
    yield


def answers(app: Any, urls: list[str]) -> list[tuple[int, bytes]]:
    client = app.test_client()
    return [(response.status_code, response.data) for response in map(client.get, urls)]


@pytest.mark.parametrize("group", GROUPS)
def test_the_scale_paths_answer_as_the_scans(
    real_app: Any, urls: dict[str, list[str]], group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned = answers(real_app, urls[group])
    monkeypatch.setattr(projections, "SCALE_FROM", 0)
    fast = answers(real_app, urls[group])
    assert sum(status == 200 for status, _ in scanned) >= len(scanned) * 0.8  # real answers
    for url, before, after in zip(urls[group], scanned, fast, strict=True):
        assert after == before, url


def test_edge_cases_answer_as_the_scans(
    real_app: Any, real_curated_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    track = mix.catalogue_from_curated(real_curated_dir).track_ids[123]
    urls = [f"/api/v1{path.format(track=track)}" for path in EDGE_CASES]
    scanned = answers(real_app, urls)
    monkeypatch.setattr(projections, "SCALE_FROM", 0)
    assert answers(real_app, urls) == scanned
    assert [status for status, _ in scanned] == [200] * 5 + [400] + [200] * 10


def pages(app: Any, url: str, count: int) -> list[bytes]:
    """A listing's first `count` pages, each reached by the previous one's `next`."""
    client, found = app.test_client(), []
    for _ in range(count):
        response = client.get(url)
        assert response.status_code == 200, url
        found.append(response.data)
        following = response.get_json()["meta"]["next"]
        if following is None:
            break
        url = following
    return found


@pytest.mark.parametrize("listing", CURSOR_LISTINGS)
def test_pages_by_cursor_through_the_projections_are_the_scans_pages(
    real_app: Any, listing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned = pages(real_app, f"/api/v1{listing}", 4)
    assert len(scanned) == 4 and b"cursor=" in scanned[1]  # pages reached by cursor
    monkeypatch.setattr(projections, "SCALE_FROM", 0)
    assert pages(real_app, f"/api/v1{listing}", 4) == scanned


@pytest.mark.parametrize(
    ("filters", "through_cells"), [("key=0&mode=1&mood=calm", False), ("explicit=false", True)]
)
def test_few_tracks_passing_filters_with_no_range_are_measured_directly(
    real_app: Any, scale_paths: None, monkeypatch: pytest.MonkeyPatch, filters: str,
    through_cells: bool,
) -> None:  # fmt: skip
    """The cells look for k passing tracks cell by cell: for a filter that passes a few of
    millions they would visit every cell, so those few are measured one by one."""
    visits: list[int] = []
    original = cells.nearest

    def counted(*args: Any) -> Any:
        visits.append(1)
        return original(*args)

    monkeypatch.setattr(cells, "nearest", counted)
    client = real_app.test_client()
    track = client.get("/api/v1/tracks?limit=1").get_json()["data"][0]["id"]
    response = client.get(f"/api/v1/tracks/{track}/similar?{filters}&limit=20")
    assert response.status_code == 200 and len(response.get_json()["data"]) == 20
    assert bool(visits) == through_cells


def test_the_paths_are_taken_when_the_threshold_is_met(
    real_app: Any, scale_paths: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without this, the comparison above could pass by never leaving the scans."""
    taken = {"matches": 0, "nearest": 0}
    for module, name in ((queries, "matches"), (cells, "nearest")):
        original = getattr(module, name)

        def counted(*args: Any, _original: Any = original, _name: str = name) -> Any:
            taken[_name] += 1
            return _original(*args)

        monkeypatch.setattr(module, name, counted)
    client = real_app.test_client()
    track = client.get("/api/v1/tracks?limit=1").get_json()["data"][0]["id"]
    assert client.get("/api/v1/tracks?min_energy=0.2&max_valence=0.5&sort=tempo").status_code == 200
    assert client.get(f"/api/v1/tracks/{track}/similar?limit=20").status_code == 200
    assert taken["matches"] >= 1 and taken["nearest"] >= 1


def brute_force(points: np.ndarray, target: np.ndarray, k: int, keep: np.ndarray) -> list[int]:
    """The k rows nearest to target among those kept: distances equal to TIE tie, then by row."""
    distances = np.sqrt(((points - target[:, None]) ** 2).sum(axis=0))
    rows = [row for row in range(points.shape[1]) if keep[row]]
    return sorted(rows, key=lambda row: (round(distances[row] / TIE), row))[:k]


class Space:
    """The parts of a FeatureSpace the cells read: the exact columns and the longest row."""

    def __init__(self, points: np.ndarray, names: tuple[str, ...]) -> None:
        self.columns = dict(zip(names, points, strict=True))
        self.max_length = float(np.sqrt((points**2).sum(axis=0)).max())


@pytest.mark.parametrize("seed", range(6))
def test_the_cells_find_the_brute_forces_nearest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracks = 5000
    points = rng.normal(size=(len(SIMILARITY_FEATURES), tracks))
    points[:, 1000:1300] = points[:, :300]  # exact twins: ties broken by row
    points = np.round(points, 1) if seed % 2 else points  # coarse values: many equal distances
    order, starts, ordered = cell_order(points.astype(np.float32), leaf=64)
    low = np.array([points[:, order[a:b]].min(axis=1) for a, b in itertools_pairs(starts)])
    high = np.array([points[:, order[a:b]].max(axis=1) for a, b in itertools_pairs(starts)])
    grid = Cells(order.astype(np.int64), starts.astype(np.int64), low, high, ordered, order)
    space = Space(points, SIMILARITY_FEATURES)
    names = list(SIMILARITY_FEATURES)
    for query in range(20):
        chosen = names if query % 3 == 0 else sorted(rng.choice(names, 4, replace=False))
        at = [names.index(name) for name in chosen]
        target = points[at, rng.integers(tracks)] + (0 if query % 2 else rng.normal(size=len(at)))
        keep = rng.random(tracks) < (1.0 if query % 4 < 2 else 0.3)
        k = int(rng.choice([1, 10, 20, 100]))
        point = dict(zip(chosen, target.tolist(), strict=True))
        rows, _ = cells.nearest(grid, space, point, k, lambda rows, keep=keep: keep[rows])  # type: ignore[arg-type,misc]
        assert rows.tolist() == brute_force(points[at], target, k, keep)


def itertools_pairs(starts: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True))


def test_texts_in_several_record_batches_are_each_tracks_own(
    tiny_curated_dir: Path, tiny_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version of more than TEXT_BATCH tracks has its texts in several record batches; row r
    is read from batch r // TEXT_BATCH (here 4 tracks a batch: the six tiny tracks in two)."""
    copy = tmp_path / tiny_curated_dir.name
    shutil.copytree(tiny_curated_dir, copy)
    monkeypatch.setattr(serving_texts, "TEXT_BATCH", 4)
    app = create_app({"CURATED_DIR": str(copy), "TESTING": True})
    entry = next((tmp_path / ".serving").glob("*/texts.arrow"))
    assert [len(b) for b in pa.ipc.open_file(str(entry)).read_all().to_batches()] == [4, 2]
    batched, single = app.test_client(), tiny_app.test_client()
    listing = single.get("/api/v1/tracks?limit=100&sort=name").get_json()["data"]
    assert len(listing) == 6
    assert batched.get("/api/v1/tracks?limit=100&sort=name").get_json()["data"] == listing
    for track in listing:
        path = f"/api/v1/tracks/{track['id']}"
        assert batched.get(path).get_json() == single.get(path).get_json()
