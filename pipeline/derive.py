"""Fields derived from the audio features (key name, Camelot code and mood) and histogram
buckets, as Polars expressions over the curated tables.

The rules themselves are contract/music.py's (fixed, so a track's derived fields never change
when other tracks or genres are added).
"""

from __future__ import annotations

import polars as pl

import contract as c
from contract.music import camelot_code


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
