"""pipeline/transform.py on small literal frames, against values computed by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
from builders import frame, row, track_id
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import contract as c
from pipeline import aggregates
from pipeline.catalogue import Genre
from pipeline.transform import (
    curated_tables,
    deduplicate_within_genre,
    keep_top_n,
    with_genre_position,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def member_counts(rows: pl.DataFrame, genres: list[Genre]) -> aggregates.Counts:
    return aggregates.member_counts(with_genre_position(rows, genres))


def feature_histograms(rows: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    return aggregates.feature_histograms(member_counts(rows, genres), genres)


AMBIENT = Genre("ambient", "Ambient", "Quiet.", "ambient.csv")
SLEEP = Genre("sleep", "Sleep", "Quieter.", "sleep.csv")


def test_deduplicate_keeps_first_row_per_genre_and_track() -> None:
    rows = frame(
        row("ambient", 1, 1, popularity=10),
        row("ambient", 1, 2, popularity=90),
        row("sleep", 1, 1),
        row("ambient", 2, 3),
    )
    kept, repeats = deduplicate_within_genre(rows)
    assert kept.select("genre_id", "track_id", "source_row").rows() == [
        ("ambient", track_id(1), 1),
        ("sleep", track_id(1), 1),
        ("ambient", track_id(2), 3),
    ]
    assert repeats.select("genre_id", "source_row", "popularity").rows() == [("ambient", 2, 90)]


def test_top_n_keeps_most_popular_and_breaks_ties_by_file_order() -> None:
    capped = Genre("ambient", "Ambient", "Quiet.", "ambient.csv", top_n=2)
    rows = frame(
        row("ambient", 1, 1, popularity=40),
        row("ambient", 2, 2, popularity=70),
        row("ambient", 3, 3, popularity=40),
        row("ambient", 4, 4, popularity=70),
        row("sleep", 5, 1, popularity=1),
    )
    kept, cut = keep_top_n(rows, [capped, SLEEP])
    assert kept.get_column("track_id").to_list() == [track_id(2), track_id(4), track_id(5)]
    assert cut.get_column("track_id").to_list() == [track_id(1), track_id(3)]


def test_top_n_tie_at_the_cut_keeps_the_earlier_row() -> None:
    capped = Genre("ambient", "Ambient", "Quiet.", "ambient.csv", top_n=1)
    rows = frame(row("ambient", 1, 1, popularity=40), row("ambient", 2, 2, popularity=40))
    kept, _ = keep_top_n(rows, [capped])
    assert kept.get_column("track_id").to_list() == [track_id(1)]


def test_track_in_two_genres_takes_values_and_primary_genre_from_first_catalogue_genre() -> None:
    rows = frame(
        row("sleep", 1, 1, popularity=11),
        row("ambient", 1, 5, popularity=77),
        row("ambient", 2, 6),
    )
    curated = curated_tables(rows, [AMBIENT, SLEEP], {"ambient": NOW, "sleep": NOW})
    tracks = curated.tables[c.TRACKS]
    assert tracks.select("id", "genre_id", "popularity").rows() == [
        (track_id(1), "ambient", 77),
        (track_id(2), "ambient", 50),
    ]
    memberships = curated.tables[c.TRACK_GENRES]
    assert memberships.rows() == [
        ("ambient", track_id(1), True),
        ("ambient", track_id(2), True),
        ("sleep", track_id(1), False),
    ]


def test_genre_summaries_average_each_genres_own_rows() -> None:
    rows = frame(
        row("ambient", 1, 1, energy=0.1, tempo=0.0),
        row("ambient", 2, 2, energy=0.4, tempo=120.0),
        row("sleep", 1, 1, energy=0.1, tempo=0.0),
    )
    genres = curated_tables(rows, [AMBIENT, SLEEP], {"ambient": NOW, "sleep": NOW}).tables[c.GENRES]
    assert genres.select("id", "position", "track_count", "avg_energy", "avg_tempo").rows() == [
        ("ambient", 0, 2, pytest.approx(0.25), 60.0),
        ("sleep", 1, 1, pytest.approx(0.1), 0.0),
    ]
    assert genres.get_column("updated_at").to_list() == [NOW, NOW]


def test_global_summary_counts_each_track_once() -> None:
    rows = frame(
        row("ambient", 1, 1, energy=0.2),
        row("sleep", 1, 1, energy=0.2),
        row("sleep", 2, 2, energy=0.8),
    )
    summary = curated_tables(rows, [AMBIENT, SLEEP], {"ambient": NOW, "sleep": NOW}).tables[
        c.GLOBAL_SUMMARY
    ]
    assert summary.select("tracks", "genres", "avg_energy").row(0) == (2, 2, pytest.approx(0.5))


def test_histogram_buckets_edges_exactly_and_closes_the_last_bucket() -> None:
    energies = [0.0, 0.09999, 0.1, 0.3, 0.7, 0.99, 1.0]
    rows = frame(*(row("ambient", n, n, energy=e) for n, e in enumerate(energies)))
    histogram = feature_histograms(rows, [AMBIENT]).filter(pl.col("feature") == "energy")
    counts = dict(histogram.select("bucket", "count").iter_rows())
    assert counts == {0: 2, 10: 1, 20: 0, 30: 1, 40: 0, 50: 0, 60: 0, 70: 1, 80: 0, 90: 2}


def test_histogram_has_every_declared_bucket_for_tempo_and_loudness() -> None:
    rows = frame(
        row("ambient", 1, 1, tempo=0.0, loudness=-60.0),
        row("ambient", 2, 2, tempo=243.4, loudness=4.5),
    )
    histogram = feature_histograms(rows, [AMBIENT])
    tempo = histogram.filter(pl.col("feature") == "tempo")
    assert tempo.get_column("bucket").to_list() == list(range(0, 250, 10))
    assert dict(tempo.filter(pl.col("count") > 0).select("bucket", "count").iter_rows()) == {
        0: 1,
        240: 1,
    }
    loudness = histogram.filter(pl.col("feature") == "loudness")
    assert loudness.get_column("bucket").to_list() == list(range(-60, 1, 5))
    assert dict(loudness.filter(pl.col("count") > 0).select("bucket", "count").iter_rows()) == {
        -60: 1,
        0: 1,
    }


def test_top_artists_rank_by_count_then_name_and_cap_per_genre() -> None:
    names = ["B", "A", "B", "C", "A", "D"]
    rows = frame(*(row("ambient", n, n, artists=name) for n, name in enumerate(names)))
    result = aggregates.top_artists(member_counts(rows, [AMBIENT]), per_genre=3)
    expected = pl.DataFrame(
        {
            "genre_id": ["ambient"] * 3,
            "rank": [1, 2, 3],
            "artists": ["A", "B", "C"],
            "track_count": [2, 2, 1],
        },
        schema_overrides={"rank": pl.Int32, "track_count": pl.UInt32},
    )
    assert_frame_equal(result, expected, check_dtypes=False)


def test_curated_tables_conform_to_the_contract_schemas() -> None:
    rows = frame(row("ambient", 1, 1), row("sleep", 2, 1))
    tables = curated_tables(rows, [AMBIENT, SLEEP], {"ambient": NOW, "sleep": NOW}).tables
    assert {name: dict(table.schema) for name, table in tables.items()} == c.CURATED_SCHEMAS


# Values as text: the bucket edges themselves, a few decimal places, or any float's shortest repr.
# The expected bucket is computed exactly from the text, not by comparing floats with the edges.
VALUE_TEXTS = st.one_of(
    st.sampled_from([f"{i / 10:.1f}" for i in range(11)]),
    st.decimals(min_value=0, max_value=1, places=3).map(str),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False).map(repr),
)


def unit_bucket(text: str) -> int:
    """The per-cent label of a 0-1 value's bucket: 10 x floor(10 x value), 1.0 in the last."""
    return min(int(Decimal(text) * 10), 9) * 10


@settings(max_examples=60, deadline=None)
@given(st.lists(VALUE_TEXTS, min_size=1, max_size=60))
def test_histogram_counts_sum_to_the_track_count_and_bucket_each_value_exactly(
    texts: list[str],
) -> None:
    rows = frame(*(row("ambient", n, n, valence=float(t)) for n, t in enumerate(texts)))
    histogram = feature_histograms(rows, [AMBIENT])
    valence = histogram.filter(pl.col("feature") == "valence")
    assert valence.get_column("count").sum() == len(texts)
    expected = Counter(unit_bucket(text) for text in texts)
    assert {k: v for k, v in valence.select("bucket", "count").iter_rows() if v} == expected


def test_a_track_has_its_highest_popularity_in_every_genre_and_for_top_n() -> None:
    """Track 1's rows disagree (0 in ambient, 44 in sleep): it is 44 everywhere, so sleep's
    top_n and ambient's listing rank it the same."""
    rows = frame(
        row("ambient", 1, 1, popularity=0),
        row("ambient", 2, 2, popularity=30),
        row("sleep", 1, 1, popularity=44),
        row("sleep", 3, 2, popularity=40),
    )
    capped = Genre("ambient", "Ambient", "Quiet.", "ambient.csv", top_n=1)
    curated = curated_tables(rows, [capped, SLEEP], {"ambient": NOW, "sleep": NOW})
    tracks = curated.tables[c.TRACKS]
    assert dict(tracks.select("id", "popularity").rows()) == {
        track_id(1): 44,  # not ambient's 0, though ambient is its primary genre
        track_id(3): 40,
    }
    members = curated.tables[c.TRACK_GENRES]
    assert members.filter(pl.col("genre_id") == "ambient")["track_id"].to_list() == [track_id(1)]
    assert curated.over_top_n["track_id"].to_list() == [track_id(2)]  # 30 < 44


def test_curated_tables_include_mood_counts_and_grid_of_every_genre() -> None:
    rows = frame(
        row("ambient", 1, 1, energy=0.2, valence=0.9),  # calm
        row("sleep", 1, 1, energy=0.2, valence=0.9),
        row("sleep", 2, 2, energy=0.8, valence=0.1),  # tense
    )
    tables = curated_tables(rows, [AMBIENT, SLEEP], {"ambient": NOW, "sleep": NOW}).tables
    moods = tables[c.GENRE_MOODS].filter(pl.col("count") > 0).rows()
    assert moods == [("ambient", "calm", 1), ("sleep", "tense", 1), ("sleep", "calm", 1)]
    grid = tables[c.MOOD_GRID]
    assert grid.height == 200
    assert grid.filter(pl.col("count") > 0).rows() == [
        ("ambient", 20, 90, 1), ("sleep", 20, 90, 1), ("sleep", 80, 10, 1)
    ]  # fmt: skip
    assert tables[c.TRACKS].select("mood").to_series().to_list() == ["calm", "tense"]
