"""/tracks/{id}/similar and /recommendations over HTTP, against a plain-Python brute force.

The reference reads the hand-built rows (tests/builders.row defaults plus each track's values),
standardises with statistics.fmean / pstdev (square roots first for speechiness and
instrumentalness), measures with math.dist and sorts by (distance, id): none of the service's code.
"""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import API, row
from builders import get_json as get
from conftest import TINY_GENRES, assert_canonical_error, write_curated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import SIMILARITY_FEATURES
from service import create_app

GENRE_IDS = [genre[0] for genre in TINY_GENRES]
SQRT = {"speechiness", "instrumentalness"}
Tracks = dict[int, tuple[tuple[str, ...], dict[str, Any]]]


def tid(n: int) -> str:
    return f"{n:0>22}"


def generated(count: int = 40, seed: int = 3) -> Tracks:
    """Tracks with every similarity feature varying on a coarse grid (so distances tie), a few
    re-releases of the same recording (same name and artists), some in several genres."""
    rng = random.Random(seed)
    tracks: Tracks = {}
    for n in range(1, count + 1):
        genres = tuple(g for g in GENRE_IDS if rng.random() < 0.45) or (rng.choice(GENRE_IDS),)
        values: dict[str, Any] = {
            f: rng.choice([0.0, 0.04, 0.25, 0.5, 1.0]) for f in SIMILARITY_FEATURES
        }
        values |= {
            "loudness": rng.choice([-30.0, -10.0, -5.0]),
            "tempo": rng.choice([0.0, 90.0, 120.0]),
        }
        values |= {"track_name": f"Song {n}", "artists": f"Band {n % 7}", "mode": rng.randint(0, 1)}
        if n % 9 == 0:  # a re-release of the track before it
            values |= {**tracks[n - 1][1], "popularity": rng.randint(0, 100)}
        tracks[n] = (genres, values)
    return tracks


TRACKS = generated()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = write_curated(tmp_path_factory.mktemp("neighbours") / "v", TRACKS)
    return create_app({"CURATED_DIR": str(Path(directory)), "TESTING": True}).test_client()


def raw_values(tracks: Tracks) -> dict[int, dict[str, float]]:
    """Each track's similarity features as stored: the builder's defaults, then its own values."""
    out = {}
    for n, (genres, values) in tracks.items():
        full = row(genres[0], n, n, **values)
        out[n] = {f: float(full[f]) for f in SIMILARITY_FEATURES}
    return out


def z_scores(tracks: Tracks) -> dict[int, dict[str, float]]:
    """Each track's z-scores: (transformed value - mean) / population std, 0 if the std is 0."""
    raw = raw_values(tracks)

    def t(f: str, x: float) -> float:
        return math.sqrt(x) if f in SQRT else x

    z: dict[int, dict[str, float]] = {n: {} for n in raw}
    for f in SIMILARITY_FEATURES:
        column = [t(f, raw[n][f]) for n in raw]
        mean, spread = statistics.fmean(column), statistics.pstdev(column)
        for n in raw:
            z[n][f] = 0.0 if spread == 0 else (t(f, raw[n][f]) - mean) / spread
    return z


Z = z_scores(TRACKS)


def recording(n: int) -> tuple[str, str]:
    values = TRACKS[n][1]
    return values["track_name"], values["artists"]


def reference(point: dict[str, float], left_out: set[int], genre: str | None = None,
              mode: int | None = None) -> list[tuple[str, float]]:  # fmt: skip
    """(id, distance) of every candidate, nearest first; equal to 9 decimals is a tie, by id."""
    found = []
    for n, (genres, values) in TRACKS.items():
        if recording(n) in {recording(m) for m in left_out}:
            continue
        if (genre is not None and genre not in genres) or mode not in (None, values["mode"]):
            continue
        distance = math.dist([Z[n][f] for f in point], list(point.values()))
        found.append((tid(n), distance))
    return sorted(found, key=lambda pair: (round(pair[1] * 1e9), pair[0]))


def pairs(body: dict[str, Any]) -> list[tuple[str, float]]:
    return [(track["id"], track["distance"]) for track in body["data"]]


def rounded(found: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(track_id, round(distance, 4)) for track_id, distance in found]


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEATURE_SETS = st.lists(st.sampled_from(SIMILARITY_FEATURES), min_size=1, max_size=9, unique=True)


@SETTINGS
@given(n=st.sampled_from(sorted(TRACKS)), features=st.none() | FEATURE_SETS,
       genre=st.none() | st.sampled_from(GENRE_IDS), mode=st.none() | st.integers(0, 1),
       limit=st.integers(1, 50), offset=st.integers(0, 10))  # fmt: skip
def test_similar_is_the_brute_force_nearest_list(
    client: Any, n: int, features: list[str] | None, genre: str | None, mode: int | None,
    limit: int, offset: int,
) -> None:  # fmt: skip
    chosen = features or list(SIMILARITY_FEATURES)
    expected = reference({f: Z[n][f] for f in chosen}, {n}, genre, mode)
    query = {"limit": limit, "offset": offset}
    query |= {"features": ",".join(chosen)} if features else {}
    query |= {"genre": genre} if genre else {}
    query |= {"mode": mode} if mode is not None else {}
    body = get(client, f"/tracks/{tid(n)}/similar?{urlencode(query)}")
    assert pairs(body) == rounded(expected)[offset : offset + limit]
    following = body["meta"].pop("next")  # keyset paging (tests/test_api_paging.py)
    assert (following is not None) == (offset + limit < len(expected))
    assert body["meta"] == {"total": len(expected), "limit": limit, "offset": offset,
                            "features": chosen}  # fmt: skip
    distances = [d for _, d in pairs(body)]
    assert distances == sorted(distances)
    assert tid(n) not in {track_id for track_id, _ in pairs(body)}


def test_similar_leaves_out_other_releases_of_the_same_recording(client: Any) -> None:
    twins = [n for n in TRACKS if n % 9 == 0]
    assert twins
    for n in twins:  # n - 1 has the same name and artists: never a neighbour of n, nor n of it
        ids = {t["id"] for t in get(client, f"/tracks/{tid(n)}/similar?limit=100")["data"]}
        assert not {tid(n), tid(n - 1)} & ids
        ids = {t["id"] for t in get(client, f"/tracks/{tid(n - 1)}/similar?limit=100")["data"]}
        assert not {tid(n), tid(n - 1)} & ids


def test_similar_tracks_are_full_track_objects_with_a_distance(client: Any) -> None:
    first = get(client, f"/tracks/{tid(1)}/similar?limit=1")["data"][0]
    alone = get(client, f"/tracks/{first['id']}")["data"]
    assert first == {**alone, "distance": first["distance"]}
    assert list(first)[-1] == "distance"


@SETTINGS
@given(seeds=st.lists(st.sampled_from(sorted(TRACKS)), max_size=3, unique=True),
       genres=st.lists(st.sampled_from(GENRE_IDS), max_size=2, unique=True),
       targets=st.dictionaries(st.sampled_from(["energy", "valence", "tempo", "speechiness"]),
                               st.sampled_from([0.0, 0.3, 0.81, 1.0]), max_size=2))  # fmt: skip
def test_recommendations_are_nearest_to_the_target_point(
    client: Any, seeds: list[int], genres: list[str], targets: dict[str, float]
) -> None:
    if not (seeds or genres or targets):
        return
    if "tempo" in targets:
        targets["tempo"] *= 200  # BPM
    members = {g: [n for n, (gs, _) in TRACKS.items() if g in gs] for g in genres}
    vectors = [Z[n] for n in seeds] + [
        {f: statistics.fmean(Z[n][f] for n in members[g]) for f in SIMILARITY_FEATURES}
        for g in genres
    ]
    features = (
        list(SIMILARITY_FEATURES) if vectors else [f for f in SIMILARITY_FEATURES if f in targets]
    )
    point = {f: statistics.fmean(v[f] for v in vectors) if vectors else 0.0 for f in features}
    raw = raw_values(TRACKS)
    for f, value in targets.items():  # a target in its own units, standardised by hand
        column = [math.sqrt(raw[n][f]) if f in SQRT else raw[n][f] for n in raw]
        mean, spread = statistics.fmean(column), statistics.pstdev(column)
        point[f] = ((math.sqrt(value) if f in SQRT else value) - mean) / spread
    query = {"limit": 100, **{f"target_{f}": v for f, v in targets.items()}}
    query |= {"seed_tracks": ",".join(tid(n) for n in seeds)} if seeds else {}
    query |= {"seed_genres": ",".join(genres)} if genres else {}
    body = get(client, "/recommendations?" + urlencode(query))
    assert pairs(body) == rounded(reference(point, set(seeds)))[:100]
    meta = body["meta"]
    assert meta["features"] == features
    assert [s["id"] for s in meta["seeds"]["tracks"]] == [tid(n) for n in seeds]
    assert [s["id"] for s in meta["seeds"]["genres"]] == genres
    for f, value in targets.items():  # the target point in the features' own units
        assert meta["target"][f] == pytest.approx(value, abs=1e-4)
    assert set(meta["target"]) == set(features)


BAD_REQUESTS = [
    (f"/tracks/{tid(99)}/similar", 404, "Track not found: '0000000000000000000099'"),
    ("/tracks/nope/similar", 404, "Track not found: 'nope'"),
    (f"/tracks/{tid(1)}/similar?features=", 400, "'features' must not be empty"),
    (f"/tracks/{tid(1)}/similar?features=energy,energy", 400, "'features' repeats energy"),
    (f"/tracks/{tid(1)}/similar?features=key", 400, "'features' is not a known value, got 'key'; "
        "expected a comma-separated list of distinct values from: danceability, energy,"),
    (f"/tracks/{tid(1)}/similar?sort=energy", 400, "unknown query parameter 'sort'"),
    (f"/tracks/{tid(1)}/similar?limit=101", 400, "'limit' is out of range"),
    (f"/tracks/{tid(1)}/similar?genre=jazz", 404, "Genre not found: 'jazz'"),
    (f"/tracks/{tid(1)}/similar?min_energy=0.9&max_energy=0.1", 400, "'min_energy' (0.9) is "
        "greater than 'max_energy' (0.1)"),
    ("/recommendations", 400, "give at least one seed (seed_tracks, seed_genres) or one "
        "target_<feature>"),
    ("/recommendations?limit=5", 400, "give at least one seed"),
    (f"/recommendations?seed_tracks={tid(99)}", 404, "Track not found: '0000000000000000000099' "
        "(seed_tracks)"),
    ("/recommendations?seed_genres=jazz", 404, "Genre not found: 'jazz'"),
    ("/recommendations?seed_tracks=" + ",".join(tid(n) for n in range(1, 7)), 400,
        "'seed_tracks' has 6 items; expected a comma-separated list of 1 to 5 distinct values"),
    ("/recommendations?seed_genres=ambient,sleep,piano,ambient", 400, "'seed_genres' repeats ambient"),
    ("/recommendations?target_energy=1.5", 400, "'target_energy' is out of range, got 1.5; "
        "expected a number from 0 to 1"),
    ("/recommendations?target_tempo=-1", 400, "'target_tempo' is out of range"),
    ("/recommendations?target_loudness=loud", 400, "'target_loudness' must be a number"),
    ("/recommendations?target_key=5", 400, "unknown query parameter 'target_key'"),
    ("/recommendations?target_energy=0.5&features=valence", 400, "'target_energy' is for a "
        "feature not in 'features' (valence)"),
    ("/recommendations?target_energy=0.5&features=energy,valence", 400, "feature 'valence' has "
        "no target_valence and there is no seed to take it from"),
    ("/recommendations?target_energy=0.5&sort=energy", 400, "unknown query parameter 'sort'"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD_REQUESTS)
def test_neighbour_errors(client: Any, url: str, status: int, message: str) -> None:
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]
