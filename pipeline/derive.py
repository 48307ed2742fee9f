"""Fields derived from the audio features: key name, Camelot code and mood, mood counts, and the
statistics of the similarity space.

Every rule here is fixed, not relative to the catalogue, so a track's derived fields never
change when other tracks or genres are added:

- key_name: the pitch class as text, C, C#, ... B (null when no key was detected, key -1);
- camelot: the Camelot wheel code. The wheel is the circle of fifths numbered so that C major is
  8B; each step of a fifth up adds 1 (G major 9B, F major 7B). A minor key has the number of its
  relative major (three semitones up) and the letter A, so A minor is 8A;
- mood: the quadrant of Russell's circumplex of affect (valence x arousal), with Spotify's
  energy as arousal, both split at 0.5 on their absolute 0-1 scales.
"""

from __future__ import annotations

import polars as pl

import contract as c


def camelot_number(pitch_class: int, major: bool) -> int:
    """The Camelot wheel number (1-12) of a key: C major and A minor are 8."""
    tonic = pitch_class if major else (pitch_class + 3) % 12  # a minor key's relative major
    return (7 * tonic + 7) % 12 + 1  # 7 semitones = a fifth = one step round the wheel


def camelot_code(pitch_class: int, major: bool) -> str:
    """The Camelot code of a key, e.g. 8B for C major, 8A for A minor."""
    return f"{camelot_number(pitch_class, major)}{'B' if major else 'A'}"


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


def with_derived_fields(tracks: pl.DataFrame) -> pl.DataFrame:
    """The tracks with key_name, camelot and mood added."""
    return tracks.with_columns(
        key_name().alias("key_name"), camelot().alias("camelot"), mood().alias("mood")
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


def transformed(feature: str) -> pl.Expr:
    """A similarity feature as the space uses it: contract.SIMILARITY_TRANSFORMS applied."""
    if c.SIMILARITY_TRANSFORMS.get(feature) == "sqrt":
        return pl.col(feature).sqrt()
    return pl.col(feature)


def feature_stats(tracks: pl.DataFrame) -> pl.DataFrame:
    """Mean and population standard deviation of each transformed similarity feature over the
    unique tracks: the numbers that turn a track into z-scores, for the service and analysts."""
    stats = tracks.select(
        *[transformed(f).mean().alias(f"{f}:mean") for f in c.SIMILARITY_FEATURES],
        *[transformed(f).std(ddof=0).alias(f"{f}:std") for f in c.SIMILARITY_FEATURES],
    ).row(0, named=True)
    return pl.DataFrame(
        {
            "feature": list(c.SIMILARITY_FEATURES),
            "transform": [
                c.SIMILARITY_TRANSFORMS.get(f, "identity") for f in c.SIMILARITY_FEATURES
            ],
            "mean": [stats[f"{f}:mean"] for f in c.SIMILARITY_FEATURES],
            "std": [stats[f"{f}:std"] or 0.0 for f in c.SIMILARITY_FEATURES],
        }
    )
