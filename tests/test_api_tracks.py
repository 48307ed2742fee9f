"""Properties of the track listings over HTTP, against a brute-force reference.

For any filters, sort and page: every returned track satisfies the filters, the order is the sort
order with ties by id, meta.total is the number of matching tracks, and paging through the result
returns every matching track exactly once.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import TINY_GENRES, write_curated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import create_app
from service.params import SORTS

API = "/api/v1"
GENRE_IDS = [genre[0] for genre in TINY_GENRES]
ARTISTS = ["Brian Eno", "brian eno & Friends", "Ólafur Arnalds", "Sigur Rós", "The Cure", "Eno"]
NAMES = ["alpha", "Alpha", "beta", "Gamma", "gamma", "Ωmega", "delta"]
GRID = [round(i / 10, 1) for i in range(11)]
TEMPOS = [0.0, 60.0, 90.0, 120.0, 250.0]


def generated_tracks(count: int = 48, seed: int = 7) -> dict[int, tuple[tuple[str, ...], dict]]:
    """Tracks with many ties (few distinct values), some in several genres."""
    rng = random.Random(seed)
    tracks = {}
    for n in range(1, count + 1):
        genres = tuple(g for g in GENRE_IDS if rng.random() < 0.45) or (rng.choice(GENRE_IDS),)
        tracks[n] = (
            genres,
            {
                "track_name": rng.choice(NAMES),
                "artists": rng.choice(ARTISTS),
                "popularity": rng.choice([0, 50, 80, 100]),
                "energy": rng.choice(GRID),
                "valence": rng.choice(GRID),
                "tempo": rng.choice(TEMPOS),
                "key": rng.randint(-1, 11),
                "mode": rng.randint(0, 1),
            },
        )
    return tracks


TRACKS = generated_tracks()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = write_curated(tmp_path_factory.mktemp("generated") / "v", TRACKS)
    return create_app({"CURATED_DIR": str(Path(directory)), "TESTING": True}).test_client()


def reference(query: dict[str, Any]) -> list[str]:
    """The ids of the tracks matching query, in its sort order: computed by brute force."""
    matches = []
    for n, (genres, v) in TRACKS.items():
        checks = [
            query.get("genre") is None or query["genre"] in genres,
            query.get("artist") is None or query["artist"].lower() in v["artists"].lower(),
            v["energy"] >= query.get("min_energy", 0.0),
            v["energy"] <= query.get("max_energy", 1.0),
            v["tempo"] >= query.get("min_tempo", 0.0),
            v["tempo"] <= query.get("max_tempo", 250.0),
            query.get("key") in (None, v["key"]),
            query.get("mode") in (None, v["mode"]),
        ]
        if all(checks):
            matches.append((f"{n:0>22}", v))
    column, descending = SORTS[query.get("sort", "popularity")]
    field = {"name": "track_name"}.get(column, column)
    matches.sort(key=lambda m: m[0])  # ties by id ascending
    matches.sort(key=lambda m: m[1][field].lower() if field == "track_name" else m[1][field],
                 reverse=descending)  # fmt: skip
    return [track_id for track_id, _ in matches]


queries = st.fixed_dictionaries(
    {},
    optional={
        "genre": st.sampled_from(GENRE_IDS),
        "artist": st.sampled_from(["eno", "ENO", "ólafur", "rós", "the", "x", "Brian Eno &"]),
        "min_energy": st.sampled_from(GRID),
        "max_energy": st.sampled_from(GRID),
        "min_tempo": st.sampled_from(TEMPOS),
        "max_tempo": st.sampled_from(TEMPOS),
        "key": st.integers(-1, 11),
        "mode": st.integers(0, 1),
        "sort": st.sampled_from(list(SORTS)),
    },
).filter(
    lambda q: (
        q.get("min_energy", 0) <= q.get("max_energy", 1)
        and q.get("min_tempo", 0) <= q.get("max_tempo", 250)
    )
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fetch(client: Any, query: dict[str, Any], limit: int, offset: int) -> dict[str, Any]:
    url = f"{API}/tracks?" + urlencode({**query, "limit": limit, "offset": offset})
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


@SETTINGS
@given(query=queries, limit=st.integers(1, 100), offset=st.integers(0, 60))
def test_listing_matches_filters_order_and_total(
    client: Any, query: dict[str, Any], limit: int, offset: int
) -> None:
    expected = reference(query)
    body = fetch(client, query, limit, offset)
    assert body["meta"] == {"total": len(expected), "limit": limit, "offset": offset}
    assert [track["id"] for track in body["data"]] == expected[offset : offset + limit]
    for track in body["data"]:
        assert query.get("genre", track["genre_id"]) in track["genres"]
        assert query.get("min_energy", 0) <= track["energy"] <= query.get("max_energy", 1)
        assert query.get("min_tempo", 0) <= track["tempo"] <= query.get("max_tempo", 250)
        assert query.get("key", track["key"]) == track["key"]
        assert query.get("mode", track["mode"]) == track["mode"]
        assert query.get("artist", "").lower() in track["artists"].lower()


@SETTINGS
@given(query=queries, limit=st.integers(1, 9))
def test_pages_partition_the_result(client: Any, query: dict[str, Any], limit: int) -> None:
    seen: list[str] = []
    total = fetch(client, query, limit, 0)["meta"]["total"]
    for offset in range(0, total + limit, limit):
        seen += [track["id"] for track in fetch(client, query, limit, offset)["data"]]
    assert len(seen) == len(set(seen)) == total
    assert seen == reference(query)


@SETTINGS
@given(genre=st.sampled_from(GENRE_IDS), sort=st.sampled_from(list(SORTS)))
def test_genre_tracks_equal_tracks_filtered_by_genre(client: Any, genre: str, sort: str) -> None:
    by_path = client.get(f"{API}/genres/{genre}/tracks?sort={sort}&limit=100").get_json()
    by_filter = fetch(client, {"genre": genre, "sort": sort}, 100, 0)
    assert by_path == by_filter
    members = sum(genre in genres for genres, _ in TRACKS.values())
    assert by_path["meta"]["total"] == members
