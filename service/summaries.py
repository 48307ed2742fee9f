"""Payloads that never change for a dataset version: stats, genres, genre details and health.

Each is computed once per worker from the curated frames; the views only send the stored bytes.
Rounding: genre averages to 4 decimals (as in the API contract); /stats global averages to
2 decimals for tempo (BPM) and loudness (dB) and 3 decimals for the 0-1 features.
This module never imports Flask.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import polars as pl

import contract as c
from contract import FEATURES, UNIT_FEATURES

GENRE_AVERAGE_DECIMALS = 4
# Distributions list these first, as in the API contract's example, then the other features.
DISTRIBUTION_ORDER: tuple[str, ...] = (
    "energy",
    "tempo",
    "valence",
    *(f for f in FEATURES if f not in ("energy", "tempo", "valence")),
)


def rounded(value: float | None, decimals: int) -> float | None:
    """value rounded, or None for a missing or non-finite value (JSON has no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, decimals)


def timestamp(value: datetime | None) -> str | None:
    """A datetime as RFC 3339 in UTC (contract.rfc3339), or None."""
    return None if value is None else c.rfc3339(value)


def iso_timestamp(text: str | None) -> str | None:
    """An ISO 8601 text (e.g. a manifest's created_at) as timestamp() writes it."""
    return None if text is None else timestamp(datetime.fromisoformat(text))


def genre_objects(genres: pl.DataFrame) -> list[dict[str, Any]]:
    """Public genre objects in catalogue order, averages rounded to 4 decimals."""
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "track_count": row["track_count"],
            **{
                f"avg_{feature}": rounded(row[f"avg_{feature}"], GENRE_AVERAGE_DECIMALS)
                for feature in FEATURES
            },
            "updated_at": timestamp(row["updated_at"]),
        }
        for row in genres.sort("position").iter_rows(named=True)
    ]


def stats_payload(summary: pl.DataFrame, genres: list[dict[str, Any]]) -> dict[str, Any]:
    """The /stats payload: totals, global averages over unique tracks, genre counts."""
    row = summary.row(0, named=True)
    return {
        "totals": {"tracks": row["tracks"], "genres": row["genres"]},
        "global_averages": {
            f"avg_{feature}": rounded(row[f"avg_{feature}"], 3 if feature in UNIT_FEATURES else 2)
            for feature in FEATURES
        },
        "genres": [
            {"id": genre["id"], "name": genre["name"], "track_count": genre["track_count"]}
            for genre in genres
        ],
    }


def genre_details(
    genres: list[dict[str, Any]], frames: dict[str, pl.DataFrame]
) -> dict[str, dict[str, Any]]:
    """The /genres/<genre> payload of every genre: object, distributions, top artists, moods
    and the mood grid."""
    histograms, top_artists = frames[c.FEATURE_HISTOGRAMS], frames[c.TOP_ARTISTS]
    buckets: dict[str, dict[str, list[dict[str, int]]]] = {g["id"]: {} for g in genres}
    for genre_id, feature, bucket, count in (
        histograms.sort("genre_id", "feature", "bucket")
        .select("genre_id", "feature", "bucket", "count")
        .iter_rows()
    ):
        buckets[genre_id].setdefault(feature, []).append({"bucket": bucket, "count": count})
    artists: dict[str, list[dict[str, Any]]] = {g["id"]: [] for g in genres}
    for genre_id, name, track_count in (
        top_artists.sort("genre_id", "rank")
        .select("genre_id", "artists", "track_count")
        .iter_rows()
    ):
        artists[genre_id].append({"artists": name, "track_count": track_count})
    moods: dict[str, dict[str, int]] = {g["id"]: {} for g in genres}
    for genre_id, mood, count in frames[c.GENRE_MOODS].iter_rows():  # in contract.MOODS order
        moods[genre_id][mood] = count
    grids = mood_grids([g["id"] for g in genres], frames[c.MOOD_GRID])
    return {
        genre["id"]: {
            "genre": genre,
            "distributions": {
                feature: buckets[genre["id"]][feature]
                for feature in DISTRIBUTION_ORDER
                if feature in buckets[genre["id"]]
            },
            "top_artists": artists[genre["id"]],
            "moods": moods[genre["id"]],
            "mood_grid": grids[genre["id"]],
        }
        for genre in genres
    }


def mood_grids(genre_ids: list[str], grid: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Each genre's mood grid: counts[i][j] = tracks in energy bucket i and valence bucket j."""
    rows_axis, columns_axis = c.MOOD_GRID_AXES
    row_labels, column_labels = c.bucket_labels(rows_axis), c.bucket_labels(columns_axis)
    cells = {
        (genre_id, row, column): count
        for genre_id, row, column, count in grid.select(
            "genre_id", f"{rows_axis}_bucket", f"{columns_axis}_bucket", "count"
        ).iter_rows()
    }
    return {
        genre_id: {
            f"{rows_axis}_buckets": row_labels,
            f"{columns_axis}_buckets": column_labels,
            "counts": [
                [cells.get((genre_id, row, column), 0) for column in column_labels]
                for row in row_labels
            ],
        }
        for genre_id in genre_ids
    }


def health_payload(manifest: dict[str, Any], tracks: int, genres: int, memberships: int) -> dict:
    """The /health payload's dataset version and counts (the view adds the status)."""
    return {
        "dataset": {
            "version": manifest.get("version"),
            "created_at": iso_timestamp(manifest.get("created_at")),
            "schema_version": manifest.get("schema_version"),
        },
        "counts": {"tracks": tracks, "genres": genres, "track_genres": memberships},
    }
