"""service/queries.py, compare.py, summaries.py and textsearch.py over small hand-built frames.

The frames are the six tracks of conftest.TINY_TRACKS, written directly in the curated schema
(no transform), turned into serving arrays by pipeline/serving.py and indexed in memory as a
worker maps them from files; every expected value below is computed by hand from that table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import TINY_GENRES, TINY_TRACKS
from hypothesis import given
from hypothesis import strategies as st

import contract as c
from service.compare import comparison, percentile, percentile_label
from service.index import genre_values, row_of, track_index, track_texts
from service.params import NotFoundError
from service.queries import list_tracks as list_listing
from service.queries import track_by_id as track_text
from service.serving import in_memory
from service.summaries import genre_details, genre_objects, stats_payload
from service.textsearch import Haystack, contains_mask, contains_mask_of, haystack_of
from service.track_query import TrackQuery


def tid(n: int) -> str:
    return f"{n:0>22}"


# key_name, camelot and mood of each TINY_TRACKS track, worked out by hand: (key, mode) and
# (valence, energy) are 1: (5, 1) (0.2, 0.1), 2: (0, 0) (0.4, 0.3), 3: (5, 1) (0.6, 0.3),
# 4: (-1, 0) (0.8, 0.9), 5: (11, 1) (0.1, 0.5), 6: (5, 0) (0.3, 0.7).
DERIVED = {
    1: ("F", "7B", "sad"),
    2: ("C", "5A", "sad"),
    3: ("F", "7B", "calm"),
    4: (None, None, "happy"),
    5: ("B", "1B", "tense"),
    6: ("F", "4A", "tense"),
}


def tracks_frame() -> pl.DataFrame:
    rows = []
    for n, (member_of, values) in TINY_TRACKS.items():
        rows.append(
            {
                "id": tid(n),
                "name": values["track_name"],
                "artists": values["artists"],
                "album": f"Album {n}",
                "genre_id": member_of[0],
                "popularity": values["popularity"],
                "duration_ms": 200_000,
                **{f: 0.5 for f in c.FEATURES},
                "tempo": values["tempo"],
                "energy": values["energy"],
                "valence": values["valence"],
                "loudness": -10.0,
                "key": values["key"],
                "mode": values["mode"],
                "time_signature": 4,
                "explicit": values.get("explicit", False),
                "source": "spotify",
                **dict(zip(("key_name", "camelot", "mood"), DERIVED[n], strict=True)),
            }
        )
    return pl.DataFrame(rows, schema=c.CURATED_SCHEMAS[c.TRACKS])


def memberships_frame() -> pl.DataFrame:
    pairs = [(g, tid(n)) for n, (member_of, _) in TINY_TRACKS.items() for g in member_of]
    return pl.DataFrame(
        {"genre_id": [g for g, _ in pairs], "track_id": [t for _, t in pairs]},
    )


def genres_frame() -> pl.DataFrame:
    """Genres with the energy averages worked out by hand from TINY_TRACKS."""
    energy = {"ambient": (0.1 + 0.3 + 0.7) / 3, "sleep": (0.3 + 0.3 + 0.9) / 3, "piano": 0.7}
    rows = [
        {
            "id": id_,
            "name": name,
            "description": text,
            "position": position,
            "track_count": 3,
            **{f"avg_{f}": 0.5 for f in c.FEATURES},
            "avg_energy": energy[id_],
            "updated_at": datetime(2026, 3, 22, tzinfo=UTC),
        }
        for position, (id_, name, text) in enumerate(TINY_GENRES)
    ]
    return pl.DataFrame(rows, schema=c.CURATED_SCHEMAS[c.GENRES])


@pytest.fixture(scope="module")
def index() -> Any:
    return index_of(tracks_frame())


def index_of(tracks: pl.DataFrame) -> Any:
    """The track index of these tracks (with TINY_TRACKS' genres), as a worker would map it."""
    stats = pl.DataFrame(
        {
            "feature": list(c.SIMILARITY_FEATURES),
            "transform": ["identity"] * len(c.SIMILARITY_FEATURES),
            "mean": [0.0] * len(c.SIMILARITY_FEATURES),
            "std": [1.0] * len(c.SIMILARITY_FEATURES),
        }
    )
    tables = {c.TRACKS: tracks, c.TRACK_GENRES: memberships_frame(), c.GENRES: genres_frame(),
              c.FEATURE_STATS: stats}  # fmt: skip
    return track_index(in_memory(tables), tuple(g[0] for g in TINY_GENRES))


def build_haystack(strings: list[str]) -> Haystack:
    """A haystack of these strings in the layout service/serving.py writes: lowercased, UTF-8,
    one after another, with each string's offsets."""
    encoded = [text.lower().encode() for text in strings]
    offsets = np.cumsum([0, *(len(e) for e in encoded)])
    return haystack_of(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)


def ids(tracks: list[dict[str, Any]]) -> list[int]:
    return [int(track["id"]) for track in tracks]


def list_tracks(index: Any, query: TrackQuery) -> tuple[list[dict[str, Any]], int]:
    result = list_listing(index, query)
    return [json.loads(text) for text in result.texts], result.total


def f(**filters: Any) -> TrackQuery:
    """A TrackQuery with these filters (genre, sort, limit and offset go to their fields)."""
    fields = {k: filters.pop(k) for k in ("genre", "sort", "limit", "offset") if k in filters}
    return TrackQuery(filters=filters, **fields)


def track_by_id(index: Any, track_id: str) -> dict[str, Any]:
    return dict(json.loads(track_text(index, track_id)))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("popularity", [1, 2, 6, 4, 3, 5]),  # 80, 80, 80 tie broken by id
        ("energy", [4, 6, 5, 2, 3, 1]),
        ("energy_asc", [1, 2, 3, 5, 6, 4]),
        ("tempo", [5, 3, 4, 1, 6, 2]),
        ("tempo_asc", [2, 1, 6, 4, 3, 5]),
        ("valence", [4, 3, 2, 6, 1, 5]),
        ("name", [2, 1, 3, 4, 5, 6]),  # alpha, Bravo, Charlie, delta: case ignored
    ],
)
def test_list_tracks_sorts_with_ties_by_id(index: Any, sort: str, expected: list[int]) -> None:
    tracks, total = list_tracks(index, TrackQuery(sort=sort))
    assert (ids(tracks), total) == (expected, 6)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f(genre="ambient"), [1, 2, 6]),
        (f(genre="sleep", sort="energy"), [4, 2, 3]),
        (f(genre="piano", sort="name"), [4, 5, 6]),
        (f(min_energy=0.3, max_energy=0.7), [2, 6, 3, 5]),
        (f(min_energy=0.9), [4]),
        (f(max_energy=0.1), [1]),
        (f(key=(5,)), [1, 6, 3]),
        (f(key=(-1,)), [4]),
        (f(mode=0), [2, 6, 4]),
        (f(min_tempo=60, max_tempo=90, sort="tempo"), [4, 1, 6]),
        (f(max_tempo=0), [2]),
        (f(artist="brian eno"), [2, 3]),
        (f(artist="CIGARETTES"), [1, 6]),
        (f(artist="ólafur"), [4]),
        (f(artist="ÓLAFUR ARN"), [4]),
        (f(artist="after sex", genre="piano"), [6]),
        (f(artist="nobody"), []),
        (f(genre="ambient", mode=0, sort="energy_asc"), [2, 6]),
        (f(genre="sleep", key=(5,), min_tempo=100), [3]),
    ],
)
def test_list_tracks_filters(index: Any, query: TrackQuery, expected: list[int]) -> None:
    tracks, total = list_tracks(index, query)
    assert (ids(tracks), total) == (expected, len(expected))


def test_list_tracks_pages_count_every_match(index: Any) -> None:
    page, total = list_tracks(index, TrackQuery(limit=2, offset=1))
    assert (ids(page), total) == ([2, 6], 6)
    page, total = list_tracks(index, TrackQuery(genre="sleep", limit=2, offset=2))
    assert (ids(page), total) == ([3], 3)
    page, total = list_tracks(index, f(key=(5,), limit=5, offset=10))
    assert (ids(page), total) == ([], 3)


def test_list_tracks_unknown_genre_is_not_found(index: Any) -> None:
    with pytest.raises(NotFoundError, match="Genre not found: 'jazz'"):
        list_tracks(index, TrackQuery(genre="jazz"))


def test_track_by_id_has_primary_genre_and_all_genres(index: Any) -> None:
    track = track_by_id(index, tid(4))
    assert list(track)[:8] == [
        "id", "name", "artists", "album", "genre_id", "genre_name", "genres", "popularity"
    ]  # fmt: skip
    assert track["genre_id"] == "sleep"  # first catalogue genre of sleep, piano
    assert track["genre_name"] == "Sleep"
    assert track["genres"] == ["sleep", "piano"]
    assert (track["name"], track["explicit"], track["key"], track["source"]) == (
        "delta",
        True,
        -1,
        "spotify",
    )
    assert list(track)[-8:] == [
        "mood", "key", "key_name", "mode", "camelot", "time_signature", "explicit", "source"
    ]  # fmt: skip
    assert (track["mood"], track["key_name"], track["camelot"]) == ("happy", None, None)


def test_row_of_finds_exact_ids_only(index: Any) -> None:
    assert [row_of(index, tid(n)) for n in range(1, 7)] == [0, 1, 2, 3, 4, 5]
    for unknown in (
        tid(0),
        tid(7),
        tid(1)[:-1],
        tid(1) + "0",
        "",
        "é" * 11,
        "zzzzzzzzzzzzzzzzzzzzzz",
    ):
        assert row_of(index, unknown) is None


def test_track_texts_are_json_in_row_order(index: Any) -> None:
    texts = track_texts(index, [5, 0, 5])
    assert [json.loads(text)["id"] for text in texts] == [tid(6), tid(1), tid(6)]


def test_track_by_id_unknown_is_not_found(index: Any) -> None:
    with pytest.raises(NotFoundError, match="Track not found"):
        track_by_id(index, tid(99))


@pytest.mark.parametrize(
    ("values", "value", "expected"),
    [
        ([1.0, 2.0, 2.0, 3.0], 2.0, 50.0),  # (1 below + 2 equal / 2) / 4
        ([1.0, 2.0, 2.0, 3.0], 3.0, 87.5),  # (3 + 0.5) / 4
        ([1.0, 2.0, 2.0, 3.0], 0.5, 0.0),
        ([1.0, 2.0, 2.0, 3.0], 9.0, 100.0),
        ([0.1, 0.3, 0.7], 0.7, 83.3),  # 2.5 / 3
        ([5.0], 5.0, 50.0),
        ([], 1.0, None),
    ],
)
def test_percentile_is_mid_rank(values: list[float], value: float, expected: float | None) -> None:
    assert percentile(np.array(values), value) == expected


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0.0, "below average"),
        (24.9, "below average"),
        (25.0, "near average"),
        (50.0, "near average"),
        (75.0, "near average"),
        (75.1, "above average"),
        (100.0, "above average"),
        (None, None),
    ],
)
def test_percentile_label_thresholds(value: float | None, label: str | None) -> None:
    assert percentile_label(value) == label


def test_comparison_against_a_genre_of_the_track(index: Any) -> None:
    genre = genre_objects(genres_frame())[0]  # ambient: energies 0.1, 0.3, 0.7
    result = comparison(index, genre, "ambient", tid(6))
    assert result["track"]["id"] == tid(6)
    assert result["genre"] is genre
    assert list(result["comparison"]) == list(c.FEATURES)
    assert result["comparison"]["energy"] == {
        "track_value": 0.7,
        "genre_avg": 0.3667,
        "delta": 0.3333,
        "percentile": 83.3,
        "percentile_label": "above average",
    }
    # tempo 60 among 0, 60, 60: (1 below + 2 equal / 2) / 3
    assert result["comparison"]["tempo"]["percentile"] == 66.7


def test_comparison_against_a_genre_the_track_is_not_in(index: Any) -> None:
    genre = genre_objects(genres_frame())[0]
    energy = comparison(index, genre, "ambient", tid(5))["comparison"]["energy"]
    assert (energy["percentile"], energy["percentile_label"]) == (66.7, "near average")
    assert energy["delta"] == round(0.5 - 0.3667, 4)


def test_comparison_unknown_genre_or_track(index: Any) -> None:
    with pytest.raises(NotFoundError, match="Genre not found"):
        comparison(index, None, "jazz", tid(1))
    with pytest.raises(NotFoundError, match="Track not found"):
        comparison(index, genre_objects(genres_frame())[0], "ambient", tid(42))


CONTRACT_GENRE_AVERAGES = {  # the contract's /genres example, unrounded a little further
    "avg_tempo": 108.76342,
    "avg_energy": 0.279912,
    "avg_valence": 0.190149,
    "avg_loudness": -16.72291,
    "avg_acousticness": 0.703049,
    "avg_danceability": 0.385061,
    "avg_instrumentalness": 0.568149,
    "avg_speechiness": 0.036741,
    "avg_liveness": 0.121002,
}


def test_genre_objects_round_averages_to_4_decimals() -> None:
    genres = genres_frame().with_columns(
        *(pl.lit(v).alias(k) for k, v in CONTRACT_GENRE_AVERAGES.items())
    )
    ambient = genre_objects(genres)[0]
    assert ambient == {
        "id": "ambient",
        "name": "Ambient",
        "description": "Quiet and textural.",
        "track_count": 3,
        "avg_tempo": 108.7634,
        "avg_energy": 0.2799,
        "avg_valence": 0.1901,
        "avg_loudness": -16.7229,
        "avg_acousticness": 0.703,
        "avg_danceability": 0.3851,
        "avg_instrumentalness": 0.5681,
        "avg_speechiness": 0.0367,
        "avg_liveness": 0.121,
        "updated_at": "2026-03-22T00:00:00Z",
    }


def test_stats_rounds_like_the_contract() -> None:
    summary = pl.DataFrame({"tracks": [100], "genres": [1], **CONTRACT_GENRE_AVERAGES})
    genres = genre_objects(genres_frame())
    stats = stats_payload(summary, genres)
    assert stats["totals"] == {"tracks": 100, "genres": 1}
    assert stats["global_averages"] == {  # the contract's /stats example
        "avg_tempo": 108.76,
        "avg_energy": 0.28,
        "avg_valence": 0.19,
        "avg_loudness": -16.72,
        "avg_acousticness": 0.703,
        "avg_danceability": 0.385,
        "avg_instrumentalness": 0.568,
        "avg_speechiness": 0.037,
        "avg_liveness": 0.121,
    }
    assert stats["genres"][1] == {"id": "sleep", "name": "Sleep", "track_count": 3}


def test_genre_details_list_buckets_in_order_and_top_artists_by_rank() -> None:
    genres = genre_objects(genres_frame())
    histograms = pl.DataFrame(
        {
            "genre_id": ["ambient"] * 3,
            "feature": ["tempo", "energy", "energy"],
            "bucket": [0, 10, 0],
            "lower": [0.0, 0.1, 0.0],
            "upper": [10.0, 0.2, 0.1],
            "count": [2, 1, 4],
        }
    )
    top = pl.DataFrame(
        {"genre_id": ["ambient", "ambient"], "rank": [2, 1], "artists": ["B", "A"]},
    ).with_columns(track_count=pl.Series([1, 5]))
    tables = {c.FEATURE_HISTOGRAMS: histograms, c.TOP_ARTISTS: top, **mood_tables()}
    detail = genre_details(genres, tables)["ambient"]
    assert detail["genre"] is genres[0]
    assert detail["distributions"] == {
        "energy": [{"bucket": 0, "count": 4}, {"bucket": 10, "count": 1}],
        "tempo": [{"bucket": 0, "count": 2}],
    }
    assert list(detail["distributions"]) == ["energy", "tempo"]
    assert detail["top_artists"] == [
        {"artists": "A", "track_count": 5},
        {"artists": "B", "track_count": 1},
    ]
    assert genre_details(genres, tables)["sleep"]["top_artists"] == []
    assert detail["moods"] == {"happy": 3, "tense": 0, "sad": 1, "calm": 0}
    assert detail["mood_grid"]["counts"][9][9] == 3 and detail["mood_grid"]["counts"][0][2] == 1
    assert sum(map(sum, detail["mood_grid"]["counts"])) == 4
    assert genre_details(genres, tables)["sleep"]["moods"] == {}


def mood_tables() -> dict[str, pl.DataFrame]:
    """Mood rows for ambient only: 3 happy tracks in the top cell, 1 sad at energy 0, valence 20."""
    grid = pl.DataFrame(
        {"genre_id": ["ambient", "ambient"], "energy_bucket": [90, 0], "valence_bucket": [90, 20],
         "count": [3, 1]}
    )  # fmt: skip
    moods = pl.DataFrame(
        {"genre_id": ["ambient"] * 4, "mood": list(c.MOODS), "count": [3, 0, 1, 0]}
    )
    return {c.MOOD_GRID: grid, c.GENRE_MOODS: moods}


WORDS = st.text(alphabet="abcAB Éé;ß\u0130-\x00", max_size=8)  # NUL: it joins the strings


@given(strings=st.lists(WORDS, max_size=12), needle=WORDS)
def test_contains_mask_is_case_insensitive_substring(strings: list[str], needle: str) -> None:
    haystack = build_haystack(strings)
    expected = [needle.lower() in s.lower() for s in strings]
    assert contains_mask(haystack, needle).tolist() == expected
    codes = np.arange(len(strings))
    assert contains_mask_of(haystack, needle, codes).tolist() == expected


def test_an_artist_holding_a_nul_does_not_shift_the_strings_after_it() -> None:
    haystack = build_haystack(["Ab\x00Cd", "Ef", "Cd"])
    assert haystack.strings == ("ab\x00cd", "ef", "cd")
    assert contains_mask(haystack, "EF").tolist() == [False, True, False]
    assert contains_mask(haystack, "cd").tolist() == [True, False, True]


def test_genre_values_are_each_features_sorted_values_of_the_members(index: Any) -> None:
    values = genre_values(index, "ambient")  # tracks 1, 2, 6
    assert values is not None
    assert values["energy"].tolist() == [0.1, 0.3, 0.7]
    assert values["tempo"].tolist() == [0.0, 60.0, 60.0]
    assert genre_values(index, "jazz") is None
