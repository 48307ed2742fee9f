"""Builders of small literal frames for tests: validated raw rows with neutral defaults."""

from __future__ import annotations

from typing import Any

import polars as pl

import contract as c


def track_id(n: int) -> str:
    """A valid 22-character id for test track n."""
    return f"{n:0>22}"


def row(genre: str, n: int, source_row: int, **values: Any) -> dict[str, Any]:
    """One validated row with neutral defaults; `values` override features."""
    base: dict[str, Any] = {
        "genre_id": genre,
        "source_row": source_row,
        "upstream_row": None,
        "track_id": track_id(n),
        "artists": f"Artist {n}",
        "album_name": f"Album {n}",
        "track_name": f"Track {n}",
        "popularity": 50,
        "duration_ms": 200_000,
        "explicit": False,
        "danceability": 0.5,
        "energy": 0.5,
        "key": 0,
        "loudness": -10.0,
        "mode": 1,
        "speechiness": 0.05,
        "acousticness": 0.5,
        "instrumentalness": 0.5,
        "liveness": 0.1,
        "valence": 0.5,
        "tempo": 100.0,
        "time_signature": 4,
    }
    return {**base, **values}


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    schema = {"genre_id": pl.String, "source_row": pl.Int64, "upstream_row": pl.Int64}
    return pl.DataFrame(list(rows), schema={**schema, **c.RAW_REQUIRED_COLUMNS})
