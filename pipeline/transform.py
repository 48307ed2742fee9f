"""Validated rows in, curated tables out: every function here is frame in, frame out.

The rules, in order: a track's popularity is the highest of its rows; a genre keeps the first
row of each of its tracks; a capped genre keeps its top_n most popular rows; a track's primary
genre is the first catalogue genre it is in. `curated_tables` applies them to all rows at once;
pipeline/curate.py applies the same functions to one range of track ids at a time, which is why
each rule reads only rows of the same track, except top_n, which is decided on a narrow frame of
the capped genres' rows (`top_n_candidates`, `top_n_cut`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

import contract as c
from contract.fields import RAW_FIELDS
from pipeline import aggregates as agg
from pipeline.catalogue import Genre
from pipeline.derive import with_derived_fields

# Columns that identify a validated row: its genre and its place in that genre's raw file.
ROW_KEY = ("genre_id", "source_row")


@dataclass(frozen=True)
class Curated:
    """The curated tables keyed by file name, plus what was dropped on the way."""

    tables: dict[str, pl.DataFrame]
    duplicates: pl.DataFrame  # rows that repeat a track within its genre (the first one is kept)
    over_top_n: pl.DataFrame  # rows cut by a genre's top_n


def curated_tables(
    valid: pl.DataFrame, genres: list[Genre], updated_at: dict[str, datetime]
) -> Curated:
    """Build every curated table from validated rows (columns: genre_id, source_row, raw columns),
    all in memory: the whole dataset as one part."""
    kept, duplicates = deduplicate_within_genre(with_track_popularity(valid))
    members, over_top_n = keep_top_n(kept, genres)
    members = with_genre_position(members, genres)
    tracks = unique_tracks(members)
    counts = agg.member_counts(members)
    tables = summary_tables(counts, genres, updated_at, tracks.get_column, tracks.height)
    tables |= {c.TRACKS: tracks, c.TRACK_GENRES: track_genres(members)}
    return Curated(
        tables={name: conform(tables[name], name) for name in c.CURATED_SCHEMAS},
        duplicates=duplicates,
        over_top_n=over_top_n,
    )


def summary_tables(
    counts: agg.Counts,
    genres: list[Genre],
    updated_at: dict[str, datetime],
    column: agg.Column,
    track_count: int,
) -> dict[str, pl.DataFrame]:
    """Every curated table but tracks and track_genres, from the members' merged counts and the
    unique tracks' columns."""
    genre_ids = [genre.id for genre in genres]
    return {
        c.GENRES: agg.genre_summaries(counts, genres, updated_at),
        c.FEATURE_HISTOGRAMS: agg.feature_histograms(counts, genres),
        c.TOP_ARTISTS: agg.top_artists(counts),
        c.GLOBAL_SUMMARY: agg.global_summary(column, track_count, len(genres)),
        c.MOOD_GRID: agg.mood_grid(counts, genre_ids),
        c.GENRE_MOODS: agg.genre_moods(counts, genre_ids),
        c.FEATURE_STATS: agg.feature_stats(column),
    }


def with_track_popularity(rows: pl.DataFrame) -> pl.DataFrame:
    """Give every row of a track the highest popularity among its rows.

    Spotify's popularity is a property of the track, but the upstream's genre rows were fetched
    at different times and disagree for some tracks (0 in one row, 44 in another). One value per
    track, taken before top_n and everything after it, means a track ranks the same everywhere.
    """
    return rows.with_columns(pl.col("popularity").max().over("track_id"))


def deduplicate_within_genre(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first row of each (genre, track); return (kept, the repeats that were dropped)."""
    first = pl.int_range(pl.len()).over("genre_id", "track_id") == 0
    marked = rows.with_columns(first.alias("_first"))
    kept = marked.filter(pl.col("_first")).drop("_first")
    repeats = marked.filter(~pl.col("_first")).drop("_first")
    return kept, repeats


def keep_top_n(rows: pl.DataFrame, genres: list[Genre]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the rows each capped genre's top_n keeps, with every uncapped genre's; the rows cut)."""
    return without_cut(rows, top_n_cut(top_n_candidates(rows, genres), genres))


def top_n_candidates(rows: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    """The capped genres' rows, narrowed to what top_n ranks them by (genre, file place,
    popularity), in file order."""
    capped = [genre.id for genre in genres if genre.top_n is not None]
    return rows.filter(pl.col("genre_id").is_in(capped)).select(*ROW_KEY, "popularity")


def top_n_cut(candidates: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    """The (genre_id, source_row) of every row a genre's top_n cuts: all but its top_n most
    popular rows, ties kept in file order. `candidates` may come in any order."""
    caps = pl.DataFrame(
        {"genre_id": [g.id for g in genres], "_cap": [g.top_n for g in genres]},
        schema={"genre_id": pl.String, "_cap": pl.Int64},
    )
    # rank("ordinal") breaks ties by position, i.e. by the file's order once sorted by row.
    rank = pl.col("popularity").rank("ordinal", descending=True).over("genre_id")
    return (
        candidates.sort(*ROW_KEY)
        .join(caps, on="genre_id", how="inner", maintain_order="left")
        .filter(rank > pl.col("_cap"))
        .select(*ROW_KEY)
    )


def without_cut(rows: pl.DataFrame, cut: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the rows top_n keeps, the rows it cuts), each in its original order."""
    cut_rows = rows.join(cut, on=list(ROW_KEY), how="semi", maintain_order="left")
    kept = rows.join(cut, on=list(ROW_KEY), how="anti", maintain_order="left")
    return kept, cut_rows


def with_genre_position(rows: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    """Add each row's genre position in the catalogue (0 = first, highest priority)."""
    positions = pl.DataFrame(
        {"genre_id": [g.id for g in genres], "position": list(range(len(genres)))},
        schema={"genre_id": pl.String, "position": pl.Int64},
    )
    return rows.join(positions, on="genre_id", how="inner", maintain_order="left")


def unique_tracks(members: pl.DataFrame) -> pl.DataFrame:
    """One row per track, taken from its primary genre: the first catalogue genre it is in."""
    return with_derived_fields(
        members.sort("position", "source_row")
        .unique("track_id", keep="first", maintain_order=True)
        .select(
            *[pl.col(str(field.raw)).alias(field.name) for field in RAW_FIELDS if field.storage],
            pl.col("genre_id"),
        )
        .sort("id")
    )


def track_genres(members: pl.DataFrame) -> pl.DataFrame:
    """Genre membership: one row per (genre, track), is_primary for the track's first genre."""
    primary = pl.col("position") == pl.col("position").min().over("track_id")
    return (
        members.select("genre_id", "track_id", "position", primary.alias("is_primary"))
        .sort("position", "track_id")
        .drop("position")
    )


def conform(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Select and cast a table to exactly the contract's columns and dtypes."""
    schema = c.CURATED_SCHEMAS[name]
    return frame.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])
