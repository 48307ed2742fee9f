"""Fields derived from the audio features (key name, Camelot code and mood), mood counts, and
the statistics of the similarity space, as Polars expressions over the curated tables.

The rules themselves are contract/music.py's (fixed, so a track's derived fields never change
when other tracks or genres are added); the transform of each similarity feature is the
catalogue's (contract/fields.py), applied by contract/space.py.
"""

from __future__ import annotations

import polars as pl

import contract as c
from contract.music import camelot_code
from contract.space import transformed


def key_name() -> pl.Expr:
    """key_name from the key column: null for -1."""
    names = list(c.KEY_NAMES)
    return pl.col("key").replace_strict(
        list(range(12)), names, default=None, return_dtype=pl.String
    )


def camelot() -> pl.Expr:
    """camelot from the key and mode columns: null for key -1."""
    pairs = [(key, mode) for key in range(12) for mode in (0, 1)]
    codes = [camelot_code(key, mode == 1) for key, mode in pairs]
    return (
        (pl.col("key").cast(pl.Int64) * 2 + pl.col("mode").cast(pl.Int64))
        .replace_strict([key * 2 + mode for key, mode in pairs], codes, default=None)
        .cast(pl.String)
    )


def mood() -> pl.Expr:
    """mood from the valence and energy columns: happy, tense, sad or calm."""
    pleasant = pl.col("valence") >= c.MOOD_SPLIT
    aroused = pl.col("energy") >= c.MOOD_SPLIT
    happy, tense, sad, calm = c.MOODS
    return (
        pl.when(pleasant & aroused)
        .then(pl.lit(happy))
        .when(aroused)
        .then(pl.lit(tense))
        .when(pleasant)
        .then(pl.lit(calm))
        .otherwise(pl.lit(sad))
    )


SOURCE = "spotify"  # where every raw file's features come from


def with_derived_fields(tracks: pl.DataFrame) -> pl.DataFrame:
    """The tracks with key_name, camelot, mood and source added."""
    return tracks.with_columns(
        key_name().alias("key_name"),
        camelot().alias("camelot"),
        mood().alias("mood"),
        pl.lit(SOURCE).alias("source"),
    )


def bucket_index(feature: str) -> pl.Expr:
    """The index of a value's histogram bucket: how many inner edges it reaches.

    Exact against the declared edges (no division), and values beyond the outer edges fall in
    the first or last bucket.
    """
    inner = c.HISTOGRAM_EDGES[feature][1:-1]
    return pl.sum_horizontal([(pl.col(feature) >= edge).cast(pl.Int32) for edge in inner])


def mood_grid(members: pl.DataFrame, genre_ids: list[str]) -> pl.DataFrame:
    """Each genre's track count per (energy bucket, valence bucket), all 100 cells."""
    rows_axis, columns_axis = c.MOOD_GRID_AXES
    counts = members.group_by(
        "genre_id",
        bucket_index(rows_axis).alias("_row"),
        bucket_index(columns_axis).alias("_column"),
    ).agg(pl.len().alias("count"))
    row_labels, column_labels = c.bucket_labels(rows_axis), c.bucket_labels(columns_axis)
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
        grid.join(counts, on=["genre_id", "_row", "_column"], how="left")
        .sort("_order")
        .select(
            "genre_id",
            pl.col("_row").replace_strict(list(range(len(row_labels))), row_labels)
            .alias(f"{rows_axis}_bucket"),
            pl.col("_column").replace_strict(list(range(len(column_labels))), column_labels)
            .alias(f"{columns_axis}_bucket"),
            pl.col("count").fill_null(0),
        )
    )  # fmt: skip


def genre_moods(members: pl.DataFrame, genre_ids: list[str]) -> pl.DataFrame:
    """Each genre's track count per mood, in the order of contract.MOODS, zeros included."""
    counts = members.group_by("genre_id", mood().alias("mood")).agg(pl.len().alias("count"))
    grid = pl.DataFrame(
        {
            "genre_id": [genre for genre in genre_ids for _ in c.MOODS],
            "mood": [name for _ in genre_ids for name in c.MOODS],
            "_order": list(range(len(genre_ids) * len(c.MOODS))),
        }
    )
    return (
        grid.join(counts, on=["genre_id", "mood"], how="left")
        .sort("_order")
        .select("genre_id", "mood", pl.col("count").fill_null(0))
    )


def feature_stats(tracks: pl.DataFrame) -> pl.DataFrame:
    """Mean and population standard deviation of each transformed similarity feature over the
    unique tracks: the numbers that turn a track into z-scores, for the service and analysts."""
    rows = []
    for feature in c.SIMILARITY_FEATURES:
        transform = c.SIMILARITY_TRANSFORMS[feature]
        values = pl.Series(transformed(tracks[feature].to_numpy(), transform))
        rows.append((feature, transform, values.mean(), values.std(ddof=0) or 0.0))
    return pl.DataFrame(
        rows,
        schema={
            "feature": pl.String,
            "transform": pl.String,
            "mean": pl.Float64,
            "std": pl.Float64,
        },
        orient="row",
    )
