"""Properties of the track listings over HTTP, against a brute-force reference.

For any filters, sort and page: every returned track satisfies every filter, the order is the
sort order with ties by id, meta.total is the number of matching tracks, facet counts are the
brute-force counts (a one-valued field's sum to meta.total), and paging through the result
returns every matching track exactly once. The reference below reads the hand-built rows, never
the service's index; moods follow the issue's rule and Camelot codes the hand table.
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
from test_derive import CAMELOT_BY_HAND

from service import create_app

API = "/api/v1"
GENRE_IDS = [genre[0] for genre in TINY_GENRES]
ARTISTS = ["Brian Eno", "brian eno & Friends", "Ólafur Arnalds", "Sigur Rós", "The Cure", "Eno"]
NAMES = ["alpha", "Alpha", "beta", "Gamma", "gamma", "Ωmega", "delta"]
GRID = [round(i / 10, 1) for i in range(11)]
CHOICES: dict[str, list[Any]] = {  # few distinct values, so filters and sorts meet many ties
    **{f: GRID for f in ("energy", "valence", "danceability", "acousticness",
                         "instrumentalness", "speechiness", "liveness")},
    "tempo": [0.0, 60.0, 90.0, 120.0, 250.0],
    "loudness": [-60.0, -20.0, -10.0, -5.0, 0.0, 5.0],
    "popularity": [0, 50, 80, 100],
    "duration_ms": [1000, 200_000, 400_000],
    "time_signature": [0, 1, 3, 4, 5],
}  # fmt: skip
RANGE_COLUMNS = [column for column in CHOICES if column != "time_signature"]
MOODS = ["happy", "tense", "sad", "calm"]


def generated_tracks(count: int = 48, seed: int = 7) -> dict[int, tuple[tuple[str, ...], dict]]:
    """Tracks with many ties, some in several genres, every key (and no key) present."""
    rng = random.Random(seed)
    tracks = {}
    for n in range(1, count + 1):
        genres = tuple(g for g in GENRE_IDS if rng.random() < 0.45) or (rng.choice(GENRE_IDS),)
        values = {column: rng.choice(options) for column, options in CHOICES.items()}
        tracks[n] = (
            genres,
            {
                **values,
                "track_name": rng.choice(NAMES),
                "artists": rng.choice(ARTISTS),
                "key": rng.randint(-1, 11),
                "mode": rng.randint(0, 1),
                "explicit": rng.random() < 0.3,
            },
        )
    return tracks


TRACKS = generated_tracks()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = write_curated(tmp_path_factory.mktemp("generated") / "v", TRACKS)
    return create_app({"CURATED_DIR": str(Path(directory)), "TESTING": True}).test_client()


def mood_of(v: dict[str, Any]) -> str:
    """The issue's rule: valence and energy split at 0.5, the high side inclusive."""
    happy_side, energetic = v["valence"] >= 0.5, v["energy"] >= 0.5
    return {(True, True): "happy", (False, True): "tense", (False, False): "sad",
            (True, False): "calm"}[(happy_side, energetic)]  # fmt: skip


def camelot_of(v: dict[str, Any]) -> str | None:
    return None if v["key"] == -1 else CAMELOT_BY_HAND[(v["key"], v["mode"])]


def mixes_with(a: str, b: str) -> bool:
    """Harmonic on the wheel: the same letter and at most one step apart, or the same number."""
    (na, la), (nb, lb) = (int(a[:-1]), a[-1]), (int(b[:-1]), b[-1])
    steps = min((na - nb) % 12, (nb - na) % 12)
    return (la == lb and steps <= 1) or na == nb


def field_value(v: dict[str, Any], field: str) -> Any:
    return {"mood": mood_of(v), "camelot": camelot_of(v)}.get(field, v.get(field))


def matches(query: dict[str, Any], genres: tuple[str, ...], v: dict[str, Any]) -> bool:
    """Whether one track passes every filter of a query (by brute force)."""
    checks = [
        query.get("genre") is None or query["genre"] in genres,
        query.get("artist") is None or query["artist"].lower() in v["artists"].lower(),
        query.get("key") is None or v["key"] in query["key"],
        query.get("mode") is None or v["mode"] == query["mode"],
        query.get("time_signature") is None or v["time_signature"] == query["time_signature"],
        query.get("explicit") is None or v["explicit"] == query["explicit"],
        query.get("mood") is None or mood_of(v) in query["mood"],
        query.get("camelot") is None or camelot_of(v) in query["camelot"],
    ]
    for column in RANGE_COLUMNS:
        checks.append(v[column] >= query.get(f"min_{column}", float("-inf")))
        checks.append(v[column] <= query.get(f"max_{column}", float("inf")))
    if query.get("harmonic_to") is not None:
        other = camelot_of(TRACKS[int(query["harmonic_to"])][1])
        mine = camelot_of(v)
        checks.append(other is not None and mine is not None and mixes_with(other, mine))
    return all(checks)


# The sorts docs/api.md lists: every numeric column highest first (`<column>`) and lowest first
# (`<column>_asc`), and the name A-Z (`name`) and Z-A (`name_desc`).
SORT_NAMES = ["name", "name_desc", *RANGE_COLUMNS, *(f"{c}_asc" for c in RANGE_COLUMNS)]


def sort_by_hand(name: str) -> tuple[str, bool]:
    """(column, descending) of a sort name, by the rule docs/api.md states."""
    if name in ("name", "name_desc"):
        return "name", name == "name_desc"
    if name.endswith("_asc"):
        return name.removesuffix("_asc"), False
    return name, True


def reference(query: dict[str, Any]) -> list[str]:
    """The ids of the tracks matching query, in its sort order: computed by brute force."""
    hits = [(f"{n:0>22}", v) for n, (genres, v) in TRACKS.items() if matches(query, genres, v)]
    column, descending = sort_by_hand(query.get("sort", "popularity"))
    field = {"name": "track_name"}.get(column, column)
    hits.sort(key=lambda m: m[0])  # ties by id ascending
    hits.sort(key=lambda m: m[1][field].lower() if field == "track_name" else m[1][field],
              reverse=descending)  # fmt: skip
    return [track_id for track_id, _ in hits]


def reference_facets(query: dict[str, Any], fields: list[str]) -> dict[str, dict[Any, int]]:
    """Brute-force counts of each field's values among the matching tracks (zeros left out)."""
    counts: dict[str, dict[Any, int]] = {field: {} for field in fields}
    for _, (genres, v) in TRACKS.items():
        if not matches(query, genres, v):
            continue
        for field in fields:
            values = genres if field == "genre" else (field_value(v, field),)
            for value in values:
                counts[field][value] = counts[field].get(value, 0) + 1
    return counts


def lists(values: list[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True).map(tuple)


FILTERS: dict[str, st.SearchStrategy[Any]] = {
    "genre": st.sampled_from(GENRE_IDS),
    "artist": st.sampled_from(["eno", "ENO", "ólafur", "rós", "the", "x", "Brian Eno &"]),
    "key": lists(list(range(-1, 12))),
    "mode": st.integers(0, 1),
    "time_signature": st.sampled_from(CHOICES["time_signature"]),
    "explicit": st.booleans(),
    "mood": lists(MOODS),
    "camelot": lists(sorted(set(CAMELOT_BY_HAND.values()))),
    "harmonic_to": st.sampled_from(
        [f"{n:0>22}" for n, (_, v) in TRACKS.items() if v["key"] != -1][:12]
    ),
    **{f"{end}_{column}": st.sampled_from(CHOICES[column])
       for column in RANGE_COLUMNS for end in ("min", "max")},
    "sort": st.sampled_from(SORT_NAMES),
}  # fmt: skip


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    """A query of up to four filters (any of them), with min never above max."""
    names = draw(st.lists(st.sampled_from(sorted(FILTERS)), max_size=4, unique=True))
    query = {name: draw(FILTERS[name]) for name in names}
    for column in RANGE_COLUMNS:
        low, high = query.get(f"min_{column}"), query.get(f"max_{column}")
        if low is not None and high is not None and low > high:
            query[f"min_{column}"], query[f"max_{column}"] = high, low
    return query


def as_text(query: dict[str, Any]) -> dict[str, str]:
    """A query as URL parameters: lists comma-separated, booleans lowercase."""

    def text(value: Any) -> str:
        if isinstance(value, tuple):
            return ",".join(map(str, value))
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {name: text(value) for name, value in query.items()}


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fetch(client: Any, query: dict[str, Any], limit: int, offset: int, **extra: str) -> dict:
    url = f"{API}/tracks?" + urlencode(
        {**as_text(query), "limit": limit, "offset": offset, **extra}
    )
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


@SETTINGS
@given(query=queries(), limit=st.integers(1, 100), offset=st.integers(0, 60))
def test_listing_matches_filters_order_and_total(
    client: Any, query: dict[str, Any], limit: int, offset: int
) -> None:
    expected = reference(query)
    body = fetch(client, query, limit, offset)
    following = body["meta"].pop("next")  # keyset paging (tests/test_api_paging.py)
    assert (following is not None) == (offset + limit < len(expected))
    assert body["meta"] == {"total": len(expected), "limit": limit, "offset": offset}
    assert [track["id"] for track in body["data"]] == expected[offset : offset + limit]
    for track in body["data"]:  # the served fields satisfy the filters too
        assert query.get("genre", track["genre_id"]) in track["genres"]
        assert track["mood"] in query.get("mood", MOODS)
        assert track["key"] in query.get("key", [track["key"]])
        for column in RANGE_COLUMNS:
            low, high = query.get(f"min_{column}"), query.get(f"max_{column}")
            assert (low is None or track[column] >= low) and (high is None or track[column] <= high)


@SETTINGS
@given(query=queries(), fields=st.lists(st.sampled_from(
    ["mood", "key", "camelot", "mode", "time_signature", "explicit", "genre"]),
    min_size=1, max_size=7, unique=True))  # fmt: skip
def test_facets_count_every_match_not_just_the_page(
    client: Any, query: dict[str, Any], fields: list[str]
) -> None:
    body = fetch(client, query, 1, 0, facets=",".join(fields))
    facets, total = body["meta"]["facets"], body["meta"]["total"]
    assert list(facets) == fields
    expected = reference_facets(query, fields)
    for field in fields:
        counted = {entry["value"]: entry["count"] for entry in facets[field]}
        assert {value: n for value, n in counted.items() if n} == expected[field]
        if field != "genre":  # one value per track: the counts partition the matches
            assert sum(counted.values()) == total


@SETTINGS
@given(query=queries(), limit=st.integers(1, 9))
def test_pages_partition_the_result(client: Any, query: dict[str, Any], limit: int) -> None:
    seen: list[str] = []
    total = fetch(client, query, limit, 0)["meta"]["total"]
    for offset in range(0, total + limit, limit):
        seen += [track["id"] for track in fetch(client, query, limit, offset)["data"]]
    assert len(seen) == len(set(seen)) == total
    assert seen == reference(query)


@SETTINGS
@given(genre=st.sampled_from(GENRE_IDS), query=queries())
def test_genre_tracks_equal_tracks_filtered_by_genre(
    client: Any, genre: str, query: dict[str, Any]
) -> None:
    query.pop("genre", None)
    path = f"{API}/genres/{genre}/tracks?" + urlencode({**as_text(query), "limit": 100})
    by_path = client.get(path).get_json()
    by_filter = fetch(client, {**query, "genre": genre}, 100, 0)
    assert by_path == by_filter
    assert by_path["meta"]["total"] == len(reference({**query, "genre": genre}))
