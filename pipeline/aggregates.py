"""The curated summary tables, computed from counts that add up across any split of the tracks.

A run may build the curated tables one part of the tracks at a time (pipeline/curate.py), so
every summary over genre members is made in two steps: `member_counts` counts and sums one part's
members, `merge_counts` adds the parts' counts up (integer counts and float sums, per key), and
the table functions below turn the merged counts into the contract's tables. With one part this
is exactly the one-pass computation: a Polars mean is its sum divided by its count, bit for bit.

The two summaries over unique tracks (global_summary, feature_stats) read one column at a time
(`Column`), whole and in one chunk, so their sums do not depend on how the tracks were split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import polars as pl

import contract as c
from contract.space import transformed
from pipeline.catalogue import Genre
from pipeline.derive import bucket_index, mood

Column = Callable[[str], pl.Series]  # a column of the unique tracks, by name
Counts = dict[str, pl.DataFrame]
_ROWS, _COLUMNS = c.MOOD_GRID_AXES
# Each count table's key columns; every other column is a count or a sum, added up on merge.
KEYS: dict[str, tuple[str, ...]] = {
    "genres": ("genre_id",),
    "histograms": ("genre_id", "feature", "index"),
    "artists": ("genre_id", "position", "artists"),
    "mood_grid": ("genre_id", "_row", "_column"),
    "moods": ("genre_id", "mood"),
}


def member_counts(members: pl.DataFrame) -> Counts:
    """One part's counts: per genre its members and feature sums, per genre and bucket of each
    bucketed feature, per genre and artists text, per mood-grid cell and per mood."""
    histograms = [
        members.group_by("genre_id", bucket_index(feature).alias("index"))
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .with_columns(pl.lit(feature).alias("feature"))
        .select(*KEYS["histograms"], "count")
        for feature in c.HISTOGRAM_EDGES
    ]
    return {
        "genres": members.group_by("genre_id").agg(
            pl.len().cast(pl.Int64).alias("track_count"),
            *[pl.col(feature).sum().alias(f"sum_{feature}") for feature in c.FEATURES],
        ),
        "histograms": pl.concat(histograms),
        "artists": members.group_by(*KEYS["artists"]).agg(pl.len().cast(pl.Int64).alias("count")),
        "mood_grid": members.group_by(
            "genre_id", bucket_index(_ROWS).alias("_row"), bucket_index(_COLUMNS).alias("_column")
        ).agg(pl.len().cast(pl.Int64).alias("count")),
        "moods": members.group_by("genre_id", mood().alias("mood")).agg(
            pl.len().cast(pl.Int64).alias("count")
        ),
    }


def merge_counts(parts: list[Counts]) -> Counts:
    """The parts' counts added up per key (a single part is returned as it is)."""
    if len(parts) == 1:
        return parts[0]
    merged = {}
    for name, keys in KEYS.items():
        stacked = pl.concat([part[name] for part in parts])
        merged[name] = stacked.group_by(*keys).agg(pl.exclude(*keys).sum())
    return merged


def genre_summaries(
    counts: Counts, genres: list[Genre], updated_at: Mapping[str, datetime]
) -> pl.DataFrame:
    """One row per catalogue genre: its member count and the average of every feature."""
    catalogue = pl.DataFrame(
        {
            "id": [g.id for g in genres],
            "name": [g.name for g in genres],
            "description": [g.description for g in genres],
            "position": list(range(len(genres))),
            "updated_at": [updated_at[g.id] for g in genres],
        }
    )
    averages = counts["genres"].select(
        "genre_id",
        "track_count",
        *[(pl.col(f"sum_{f}") / pl.col("track_count")).alias(f"avg_{f}") for f in c.FEATURES],
    )
    return (
        catalogue.join(averages, left_on="id", right_on="genre_id", how="left")
        .with_columns(pl.col("track_count").fill_null(0))
        .sort("position")
    )


def feature_histograms(counts: Counts, genres: list[Genre]) -> pl.DataFrame:
    """Counts per declared bucket for every bucketed feature and genre, empty buckets included."""
    parts = [_histogram(counts["histograms"], genres, feature) for feature in c.HISTOGRAM_EDGES]
    return pl.concat(parts).sort("position", "feature", "bucket").drop("position")


def _histogram(counts: pl.DataFrame, genres: list[Genre], feature: str) -> pl.DataFrame:
    edges = c.HISTOGRAM_EDGES[feature]
    grid = pl.DataFrame(
        {
            "genre_id": [g.id for g in genres for _ in edges[:-1]],
            "position": [p for p, _ in enumerate(genres) for _ in edges[:-1]],
            "index": [i for _ in genres for i in range(len(edges) - 1)],
        },
        schema={"genre_id": pl.String, "position": pl.Int64, "index": pl.Int32},
    )
    mine = counts.filter(pl.col("feature") == feature).drop("feature")
    labels, places = c.bucket_labels(feature), list(range(len(edges) - 1))
    return grid.join(mine, on=["genre_id", "index"], how="left").select(
        "genre_id",
        "position",
        pl.lit(feature).alias("feature"),
        pl.col("index").replace_strict(places, labels).alias("bucket"),
        pl.col("index").replace_strict(places, list(edges[:-1])).alias("lower"),
        pl.col("index").replace_strict(places, list(edges[1:])).alias("upper"),
        pl.col("count").fill_null(0),
    )


def top_artists(counts: Counts, per_genre: int = c.TOP_ARTISTS_PER_GENRE) -> pl.DataFrame:
    """Each genre's artists (the full `artists` text) with the most tracks, ties by name."""
    return (
        counts["artists"]
        .rename({"count": "track_count"})
        .sort(["position", "track_count", "artists"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).over("genre_id").alias("rank"))
        .filter(pl.col("rank") <= per_genre)
        .select("genre_id", "rank", "artists", "track_count")
    )


def mood_grid(counts: Counts, genre_ids: list[str]) -> pl.DataFrame:
    """Each genre's track count per (energy bucket, valence bucket), all 100 cells."""
    row_labels, column_labels = c.bucket_labels(_ROWS), c.bucket_labels(_COLUMNS)
    cells = [(r, k) for r in range(len(row_labels)) for k in range(len(column_labels))]
    grid = pl.DataFrame(
        {
            "genre_id": [genre for genre in genre_ids for _ in cells],
            "_order": list(range(len(genre_ids) * len(cells))),
            "_row": [r for _ in genre_ids for r, _ in cells],
            "_column": [k for _ in genre_ids for _, k in cells],
        },
        schema={"genre_id": pl.String, "_order": pl.Int64, "_row": pl.Int32, "_column": pl.Int32},
    )
    return (
        grid.join(counts["mood_grid"], on=["genre_id", "_row", "_column"], how="left")
        .sort("_order")
        .select(
            "genre_id",
            pl.col("_row").replace_strict(list(range(len(row_labels))), row_labels)
            .alias(f"{_ROWS}_bucket"),
            pl.col("_column").replace_strict(list(range(len(column_labels))), column_labels)
            .alias(f"{_COLUMNS}_bucket"),
            pl.col("count").fill_null(0),
        )
    )  # fmt: skip


def genre_moods(counts: Counts, genre_ids: list[str]) -> pl.DataFrame:
    """Each genre's track count per mood, in the order of contract.MOODS, zeros included."""
    grid = pl.DataFrame(
        {
            "genre_id": [genre for genre in genre_ids for _ in c.MOODS],
            "mood": [name for _ in genre_ids for name in c.MOODS],
            "_order": list(range(len(genre_ids) * len(c.MOODS))),
        }
    )
    return (
        grid.join(counts["moods"], on=["genre_id", "mood"], how="left")
        .sort("_order")
        .select("genre_id", "mood", pl.col("count").fill_null(0))
    )


def global_summary(column: Column, tracks: int, genre_count: int) -> pl.DataFrame:
    """One row: unique track and genre totals, and feature averages over unique tracks."""
    averages = {f"avg_{f}": [column(f).rechunk().mean()] for f in c.FEATURES}
    return pl.DataFrame({"tracks": [tracks], "genres": [genre_count], **averages})


def feature_stats(column: Column) -> pl.DataFrame:
    """Mean and population standard deviation of each transformed similarity feature over the
    unique tracks: the numbers that turn a track into z-scores, for the service and analysts."""
    rows = []
    for feature in c.SIMILARITY_FEATURES:
        transform = c.SIMILARITY_TRANSFORMS[feature]
        values = pl.Series(transformed(column(feature).to_numpy(), transform))
        rows.append((feature, transform, values.mean(), values.std(ddof=0) or 0.0))
    return pl.DataFrame(
        rows,
        schema={"feature": pl.String, "transform": pl.String, "mean": pl.Float64,
                "std": pl.Float64},
        orient="row",
    )  # fmt: skip
