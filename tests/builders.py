"""Builders for tests: small literal frames (validated raw rows with neutral defaults), raw
CSVs, a two-genre catalogue, and a JSON GET against the API."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.expectations import RAW_COLUMNS


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
    return pl.DataFrame(list(rows), schema={**schema, **RAW_COLUMNS})


# The upstream file's header, in its order (raw files are matched by column name, so any order
# works; this one is what `make raw` writes).
UPSTREAM_HEADER = ["", "track_id", "artists", "album_name", "track_name", "popularity",
                   "duration_ms", "explicit", "danceability", "energy", "key", "loudness", "mode",
                   "speechiness", "acousticness", "instrumentalness", "liveness", "valence",
                   "tempo", "time_signature", "track_genre"]  # fmt: skip
assert set(UPSTREAM_HEADER[1:-1]) == set(RAW_COLUMNS)
RAW_HEADER = UPSTREAM_HEADER


def raw_line(n: int, genre: str = "ambient", **values: Any) -> dict[str, str]:
    """One raw CSV row as text, as the upstream writes it; `values` override any field."""
    typed = row(genre, n, n, **values)
    text = {column: _text(typed[column]) for column in RAW_COLUMNS}
    return {"": str(n), **text, "track_genre": genre, **{k: str(v) for k, v in values.items()}}


def _text(value: Any) -> str:
    return "True" if value is True else "False" if value is False else str(value)


def write_raw_csv(path: Path, lines: list[dict[str, str]], header: list[str] | None = None) -> Path:
    """Write raw rows to a CSV with the upstream header (or the one given)."""
    columns = header or RAW_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(lines)
    return path


API = "/api/v1"
# Two small genres: ambient and sleep; `sleep_extra` adds lines to sleep's entry (e.g. top_n).
CATALOGUE = """
[[genre]]
id = "ambient"
name = "Ambient"
description = "Quiet."

[[genre]]
id = "sleep"
name = "Sleep"
description = "Quieter."
{sleep_extra}
"""


def catalogue(sleep_extra: str = "") -> str:
    """The two-genre catalogue's TOML text."""
    return CATALOGUE.format(sleep_extra=sleep_extra)


def get_json(client: Any, url: str) -> dict[str, Any]:
    """The JSON body of a 200 answer to GET /api/v1<url> (the body is shown if it is not 200)."""
    response = client.get(API + url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(response.get_json())
