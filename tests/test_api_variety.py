"""Variety, negative seeds and tempo (issue 18) against plain Python over the curated Parquet.

max_per_artist (a greedy walk best first), avoid_tracks (a candidate nearer to an avoided track
than to the point is left out, by whole ticks of 1e-9) and bpm/bpm_of/bpm_tolerance (within
the tolerance of the BPM, its half or its double), on /tracks, similar and recommendations,
paged by offset and by cursor. Every expectation comes from tests/reference.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from builders import API
from builders import get_json as get
from conftest import assert_canonical_error, write_curated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    FEATURES,
    Catalogue,
    artist_names,
    discovery_tracks,
    distance,
    in_tempo,
    load,
    mixes,
    tick,
    varied,
)
from test_api_paging import listed, walk

from service import create_app

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_curated(tmp_path_factory.mktemp("variety") / "v", discovery_tracks())


@pytest.fixture(scope="module")
def cat(curated: Path) -> Catalogue:
    return load(curated)


@pytest.fixture(scope="module")
def client(curated: Path) -> Any:
    return create_app({"CURATED_DIR": str(curated), "TESTING": True}).test_client()


def recording(cat: Catalogue, track_id: str) -> tuple[str, str]:
    return cat.tracks[track_id]["name"], cat.tracks[track_id]["artists"]


def by_distance(
    cat: Catalogue, point: list[float], left_out: list[str], avoid: tuple[str, ...] = ()
) -> list[str]:
    """Candidates nearest first (ties by id) without the left-out tracks' recordings, nor the
    avoided ones', nor a track nearer (in ticks) to an avoided track than to the point."""
    gone = {recording(cat, t) for t in [*left_out, *avoid]}
    kept = []
    for track_id in cat.ids:
        if recording(cat, track_id) in gone:
            continue
        here = tick(distance(cat.z[track_id], point))
        if any(tick(distance(cat.z[track_id], cat.z[a])) < here for a in avoid):
            continue
        kept.append(track_id)
    return sorted(kept, key=lambda t: (tick(distance(cat.z[t], point)), t))


def all_pages(client: Any, url: str, limit: int, by: str) -> list[str]:
    """Every id of a listing, by cursor (walk) or by offset."""
    if by == "cursor":
        return walk(client, f"{url}&limit={limit}")[0]
    ids: list[str] = []
    while True:
        body = get(client, f"{url.removeprefix(API)}&limit={limit}&offset={len(ids)}")
        ids += [t["id"] for t in body["data"]]
        if body["meta"]["next"] is None:
            return ids


@SETTINGS
@given(per_artist=st.integers(1, 3), sort=st.sampled_from(["popularity", "tempo", "name", "energy_asc"]),
       limit=st.integers(1, 8), by=st.sampled_from(["cursor", "offset"]),
       genre=st.none() | st.just("ambient"))  # fmt: skip
def test_max_per_artist_on_tracks_is_the_greedy_walk(
    client: Any, cat: Catalogue, per_artist: int, sort: str, limit: int, by: str, genre: str | None
) -> None:
    path = f"/genres/{genre}/tracks" if genre else "/tracks"
    url = f"{API}{path}?sort={sort}&max_per_artist={per_artist}"
    expected = varied(listed(cat, sort, genre, None), cat, per_artist)
    assert all_pages(client, url, limit, by) == expected
    total = get(client, f"{path}?sort={sort}&max_per_artist={per_artist}")["meta"]["total"]
    assert total == len(listed(cat, sort, genre, None))  # the matches, before thinning
    for name in {n for t in expected for n in artist_names(cat.tracks[t])}:
        assert sum(name in artist_names(cat.tracks[t]) for t in expected) <= per_artist


@SETTINGS
@given(seed=st.integers(0, 59), per_artist=st.integers(1, 2), limit=st.integers(1, 6),
       by=st.sampled_from(["cursor", "offset"]))  # fmt: skip
def test_max_per_artist_on_similar_and_recommendations(
    client: Any, cat: Catalogue, seed: int, per_artist: int, limit: int, by: str
) -> None:
    track_id = cat.ids[seed]
    expected = varied(by_distance(cat, cat.z[track_id], [track_id]), cat, per_artist)
    similar = f"{API}/tracks/{track_id}/similar?max_per_artist={per_artist}"
    assert all_pages(client, similar, limit, by) == expected
    recommended = f"{API}/recommendations?seed_tracks={track_id}&max_per_artist={per_artist}"
    assert all_pages(client, recommended, limit, by) == expected


@SETTINGS
@given(seed=st.integers(0, 59), avoid=st.lists(st.integers(0, 59), min_size=1, max_size=3, unique=True),
       features=st.none() | st.just(["energy", "valence", "tempo"]), limit=st.integers(2, 9))  # fmt: skip
def test_avoid_tracks_leaves_out_what_is_nearer_to_them(
    client: Any, cat: Catalogue, seed: int, avoid: list[int], features: list[str] | None, limit: int
) -> None:
    track_id, avoided = cat.ids[seed], tuple(cat.ids[a] for a in avoid if a != seed)
    if not avoided:
        return
    chosen = [FEATURES.index(f) for f in features] if features else list(range(len(FEATURES)))

    def point(t: str) -> list[float]:
        return [cat.z[t][i] if i in chosen else 0.0 for i in range(len(FEATURES))]

    projected = Catalogue(cat.tracks, cat.genres, {t: point(t) for t in cat.ids}, cat.ids)
    expected = by_distance(projected, projected.z[track_id], [track_id], avoided)
    query = {"avoid_tracks": ",".join(avoided)} | (
        {"features": ",".join(features)} if features else {}
    )
    url = f"{API}/tracks/{track_id}/similar?{urlencode(query)}"
    assert all_pages(client, url, limit, "cursor") == expected
    assert get(client, f"{url.removeprefix(API)}&limit=1")["meta"]["total"] == len(expected)


def test_avoiding_the_seed_s_twin_side_keeps_the_other_side(client: Any, cat: Catalogue) -> None:
    """A worked example: every candidate kept is at least as near to the seed as to the avoided
    track, and every one left out is nearer to the avoided track."""
    seed, avoided = cat.ids[0], cat.ids[1]
    kept = all_pages(client, f"{API}/tracks/{seed}/similar?avoid_tracks={avoided}", 50, "cursor")
    for track_id in cat.ids:
        if recording(cat, track_id) in {recording(cat, seed), recording(cat, avoided)}:
            continue
        nearer_avoided = tick(distance(cat.z[track_id], cat.z[avoided])) < tick(
            distance(cat.z[track_id], cat.z[seed])
        )
        assert (track_id in kept) != nearer_avoided


@SETTINGS
@given(bpm=st.floats(40, 250), tolerance=st.none() | st.floats(0, 50),
       harmonic=st.booleans(), seed=st.integers(0, 59))  # fmt: skip
def test_bpm_keeps_tempos_near_the_bpm_its_half_and_its_double(
    client: Any, cat: Catalogue, bpm: float, tolerance: float | None, harmonic: bool, seed: int
) -> None:
    query: dict[str, Any] = {"bpm": repr(bpm), "sort": "name", "limit": 100}
    query |= {"bpm_tolerance": repr(tolerance)} if tolerance is not None else {}
    if harmonic:  # "mixable with" a track: harmonic_to with its key
        query["harmonic_to"] = cat.ids[seed]
    body = get(client, f"/tracks?{urlencode(query)}")
    code = cat.tracks[cat.ids[seed]]["camelot"]
    expected = [t for t in listed(cat, "name", None, None)
                if in_tempo(cat.tracks[t]["tempo"], bpm, 6.0 if tolerance is None else tolerance)
                and (not harmonic or mixes(code, cat.tracks[t]["camelot"]))]  # fmt: skip
    assert [t["id"] for t in body["data"]] == expected


def test_bpm_of_is_the_track_s_tempo_and_works_on_neighbours(client: Any, cat: Catalogue) -> None:
    track_id = next(t for t in cat.ids if cat.tracks[t]["tempo"] == 120.0)
    by_track = get(client, f"/tracks?bpm_of={track_id}&limit=100")
    assert by_track["data"] == get(client, "/tracks?bpm=120&limit=100")["data"]
    assert {t["tempo"] for t in by_track["data"]} == {60.0, 63.0, 119.0, 120.0, 240.0}  # 63: 5 %
    near = get(client, f"/tracks/{track_id}/similar?bpm=120&bpm_tolerance=1&limit=100")["data"]
    expected = [t for t in by_distance(cat, cat.z[track_id], [track_id])
                if in_tempo(cat.tracks[t]["tempo"], 120.0, 1.0)]  # fmt: skip
    assert [t["id"] for t in near] == expected
    recommended = get(
        client, f"/recommendations?seed_tracks={track_id}&bpm_of={track_id}&limit=100"
    )
    assert [t["id"] for t in recommended["data"]] == [
        t
        for t in by_distance(cat, cat.z[track_id], [track_id])
        if in_tempo(cat.tracks[t]["tempo"], 120.0)
    ]


BEATLESS = "0000000000000000000007"  # tempo 0 in the generated catalogue (checked below)
BAD = [
    ("/tracks?bpm_tolerance=5", 400, "'bpm_tolerance' needs 'bpm' or 'bpm_of'"),
    ("/tracks?bpm=120&bpm_of=0000000000000000000001", 400, "give 'bpm' or 'bpm_of', not both"),
    ("/tracks?bpm=0", 400, "'bpm' is out of range, got 0; expected a number from 1 to 250"),
    ("/tracks?bpm=fast", 400, "'bpm' must be a number"),
    ("/tracks?bpm=120&bpm_tolerance=51", 400, "'bpm_tolerance' is out of range"),
    (f"/tracks?bpm_of={BEATLESS}", 400, f"'bpm_of' track {BEATLESS} has tempo 0"),
    ("/tracks?bpm_of=0000000000000000000999", 404, "Track not found: '0000000000000000000999' (bpm_of)"),
    ("/tracks?max_per_artist=0", 400, "'max_per_artist' is out of range"),
    ("/tracks/0000000000000000000001/similar?avoid_tracks=0000000000000000000999", 404,
        "Track not found: '0000000000000000000999' (avoid_tracks)"),
    ("/recommendations?seed_tracks=0000000000000000000001&avoid_tracks=" + ",".join(
        f"{n:0>22}" for n in range(2, 8)), 400, "'avoid_tracks' has 6 items"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "message"), BAD)
def test_bad_variety_tempo_and_avoid_parameters(
    client: Any, cat: Catalogue, url: str, status: int, message: str
) -> None:
    assert cat.tracks[BEATLESS]["tempo"] == 0.0
    body = assert_canonical_error(client.get(API + url), status)
    assert message in body["error"]
