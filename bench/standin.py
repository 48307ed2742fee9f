"""A contract-shaped tracks frame built straight from the upstream CSV, without the pipeline.

Only for smoke runs of the HTTP baselines (bare WSGI, Flask, Datasette) when no curated dataset
exists yet; every result made from it is labelled `tracks_source: upstream-standin`.
Real benchmark runs read the curated folder the pipeline wrote.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contract import CURATED_SCHEMAS, TRACKS


def standin_tracks(
    upstream: Path, genres: list[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Unique tracks of `genres` (all if None; primary genre = first in that order), their
    memberships (genre_id, track_id), and the genre order used."""
    raw = pl.read_csv(upstream)
    order = genres or list(dict.fromkeys(raw["track_genre"].to_list()))
    position = {genre: index for index, genre in enumerate(order)}
    schema = CURATED_SCHEMAS[TRACKS]
    tracks = (
        raw.filter(pl.col("track_genre").is_in(order))
        .with_columns(pl.col("track_genre").replace_strict(position).alias("_position"))
        .sort("_position", maintain_order=True)
        .unique("track_id", keep="first", maintain_order=True)
        .select(
            pl.col("track_id").alias("id"),
            pl.col("track_name").fill_null("").alias("name"),
            pl.col("artists").fill_null(""),
            pl.col("album_name").fill_null("").alias("album"),
            pl.col("track_genre").alias("genre_id"),
            *[pl.col(column) for column in schema if column in raw.columns and column != "artists"],
            pl.lit("spotify").alias("source"),
        )
        .select([pl.col(column).cast(dtype) for column, dtype in schema.items()])
        .sort("id")
    )
    members = (
        raw.filter(pl.col("track_genre").is_in(order))
        .select(pl.col("track_genre").alias("genre_id"), "track_id")
        .unique(maintain_order=True)
    )
    return tracks, members, order
