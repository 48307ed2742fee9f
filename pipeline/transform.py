"""Validated rows in, curated tables out: every function here is frame in, frame out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

import contract as c
from contract.fields import RAW_FIELDS
from pipeline.catalogue import Genre
from pipeline.derive import (
    bucket_index,
    feature_stats,
    genre_moods,
    mood_grid,
    with_derived_fields,
)


@dataclass(frozen=True)
class Curated:
    """The curated tables keyed by file name, plus what was dropped on the way."""

    tables: dict[str, pl.DataFrame]
    duplicates: pl.DataFrame  # rows that repeat a track within its genre (the first one is kept)
    over_top_n: pl.DataFrame  # rows cut by a genre's top_n


def curated_tables(
    valid: pl.DataFrame, genres: list[Genre], updated_at: dict[str, datetime]
) -> Curated:
    """Build every curated table from validated rows (columns: genre_id, source_row, raw columns)."""
    kept, duplicates = deduplicate_within_genre(with_track_popularity(valid))
    members, over_top_n = keep_top_n(kept, genres)
    members = with_genre_position(members, genres)
    tracks = unique_tracks(members)
    genre_ids = [genre.id for genre in genres]
    tables = {
        c.TRACKS: tracks,
        c.TRACK_GENRES: track_genres(members),
        c.GENRES: genre_summaries(members, genres, updated_at),
        c.FEATURE_HISTOGRAMS: feature_histograms(members, genres),
        c.TOP_ARTISTS: top_artists(members),
        c.GLOBAL_SUMMARY: global_summary(tracks, len(genres)),
        c.MOOD_GRID: mood_grid(members, genre_ids),
        c.GENRE_MOODS: genre_moods(members, genre_ids),
        c.FEATURE_STATS: feature_stats(tracks),
    }
    return Curated(
        tables={name: conform(frame, name) for name, frame in tables.items()},
        duplicates=duplicates,
        over_top_n=over_top_n,
    )


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
    """Keep each capped genre's top_n most popular rows (ties keep file order); return (kept, cut)."""
    caps = pl.DataFrame(
        {"genre_id": [g.id for g in genres], "_cap": [g.top_n for g in genres]},
        schema={"genre_id": pl.String, "_cap": pl.Int64},
    )
    rank = pl.col("popularity").rank("ordinal", descending=True).over("genre_id")
    # rank("ordinal") breaks ties by position, i.e. by the file's order.
    marked = (
        rows.join(caps, on="genre_id", how="left", maintain_order="left")
        .with_columns((pl.col("_cap").is_null() | (rank <= pl.col("_cap"))).alias("_keep"))
        .drop("_cap")
    )
    return (
        marked.filter(pl.col("_keep")).drop("_keep"),
        marked.filter(~pl.col("_keep")).drop("_keep"),
    )


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


def genre_summaries(
    members: pl.DataFrame, genres: list[Genre], updated_at: dict[str, datetime]
) -> pl.DataFrame:
    """One row per catalogue genre: counts and the average of every feature over its tracks."""
    catalogue = pl.DataFrame(
        {
            "id": [g.id for g in genres],
            "name": [g.name for g in genres],
            "description": [g.description for g in genres],
            "position": list(range(len(genres))),
            "updated_at": [updated_at[g.id] for g in genres],
        }
    )
    averages = members.group_by("genre_id").agg(
        pl.len().alias("track_count"),
        *[pl.col(feature).mean().alias(f"avg_{feature}") for feature in c.FEATURES],
    )
    return (
        catalogue.join(averages, left_on="id", right_on="genre_id", how="left")
        .with_columns(pl.col("track_count").fill_null(0))
        .sort("position")
    )


def feature_histograms(members: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    """Counts per declared bucket for every bucketed feature and genre, empty buckets included."""
    parts = [_feature_histogram(members, genres, feature) for feature in c.HISTOGRAM_EDGES]
    return pl.concat(parts).sort("position", "feature", "bucket").drop("position")


def _feature_histogram(members: pl.DataFrame, genres: list[Genre], feature: str) -> pl.DataFrame:
    edges = c.HISTOGRAM_EDGES[feature]
    counts = members.group_by("genre_id", bucket_index(feature).alias("index")).agg(
        pl.len().alias("count")
    )
    grid = pl.DataFrame(
        {
            "genre_id": [g.id for g in genres for _ in edges[:-1]],
            "position": [p for p, _ in enumerate(genres) for _ in edges[:-1]],
            "index": [i for _ in genres for i in range(len(edges) - 1)],
        },
        schema={"genre_id": pl.String, "position": pl.Int64, "index": pl.Int32},
    )
    labels = c.bucket_labels(feature)
    return grid.join(counts, on=["genre_id", "index"], how="left").select(
        "genre_id",
        "position",
        pl.lit(feature).alias("feature"),
        pl.col("index").replace_strict(list(range(len(labels))), labels).alias("bucket"),
        pl.col("index").replace_strict(list(range(len(labels))), list(edges[:-1])).alias("lower"),
        pl.col("index").replace_strict(list(range(len(labels))), list(edges[1:])).alias("upper"),
        pl.col("count").fill_null(0),
    )


def top_artists(members: pl.DataFrame, per_genre: int = c.TOP_ARTISTS_PER_GENRE) -> pl.DataFrame:
    """Each genre's artists (the full `artists` text) with the most tracks, ties by name."""
    return (
        members.group_by("genre_id", "position", "artists")
        .agg(pl.len().alias("track_count"))
        .sort(["position", "track_count", "artists"], descending=[False, True, False])
        .with_columns(pl.int_range(1, pl.len() + 1).over("genre_id").alias("rank"))
        .filter(pl.col("rank") <= per_genre)
        .select("genre_id", "rank", "artists", "track_count")
    )


def global_summary(tracks: pl.DataFrame, genre_count: int) -> pl.DataFrame:
    """One row: unique track and genre totals, and feature averages over unique tracks."""
    return tracks.select(
        pl.len().alias("tracks"),
        pl.lit(genre_count).alias("genres"),
        *[pl.col(feature).mean().alias(f"avg_{feature}") for feature in c.FEATURES],
    )


def conform(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Select and cast a table to exactly the contract's columns and dtypes."""
    schema = c.CURATED_SCHEMAS[name]
    return frame.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])
