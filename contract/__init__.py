"""The curated dataset contract: file names, columns, features and histogram edges.

`pipeline` writes the curated folder and `service` reads it; neither imports the other.
This module is the one place both agree on. Changing a column here is a schema change:
bump SCHEMA_VERSION and update docs/data-dictionary.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

SCHEMA_VERSION = 2  # 2: key_name, camelot, mood; mood_grid, genre_moods, feature_stats tables

# Audio features on a 0.0-1.0 scale.
UNIT_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)
# Every averaged / compared / bucketed audio feature, in the order the API lists them.
FEATURES: tuple[str, ...] = (
    "tempo",
    "energy",
    "valence",
    "loudness",
    "acousticness",
    "danceability",
    "instrumentalness",
    "speechiness",
    "liveness",
)

# Histogram bucket edges per feature: buckets are [edge[i], edge[i+1]), the last one closed.
# A bucket is labelled by its lower edge; 0-1 features use labels 0, 10, ... 90 (per cent).
_UNIT_EDGES = tuple(i / 10 for i in range(11))
HISTOGRAM_EDGES: dict[str, tuple[float, ...]] = {
    **{feature: _UNIT_EDGES for feature in UNIT_FEATURES},
    "tempo": tuple(float(bpm) for bpm in range(0, 251, 10)),  # BPM, 10 wide
    "loudness": tuple(float(db) for db in range(-60, 6, 5)),  # dB, 5 wide
}
HISTOGRAM_SCALE: dict[str, float] = {
    **{feature: 100.0 for feature in UNIT_FEATURES},
    "tempo": 1.0,
    "loudness": 1.0,
}


def bucket_labels(feature: str) -> list[int]:
    """Labels of a feature's histogram buckets, lowest first (e.g. 0, 10, ... 90)."""
    edges = HISTOGRAM_EDGES[feature]
    return [round(edge * HISTOGRAM_SCALE[feature]) for edge in edges[:-1]]


# Columns the raw Spotify-features CSV must have (the upstream header). The upstream file also has
# an unnamed leading row-index column and `track_genre`; both are optional and kept as provenance.
RAW_REQUIRED_COLUMNS: dict[str, pl.DataType] = {
    "track_id": pl.String(),
    "artists": pl.String(),
    "album_name": pl.String(),
    "track_name": pl.String(),
    "popularity": pl.Int64(),
    "duration_ms": pl.Int64(),
    "explicit": pl.Boolean(),
    "danceability": pl.Float64(),
    "energy": pl.Float64(),
    "key": pl.Int64(),
    "loudness": pl.Float64(),
    "mode": pl.Int64(),
    "speechiness": pl.Float64(),
    "acousticness": pl.Float64(),
    "instrumentalness": pl.Float64(),
    "liveness": pl.Float64(),
    "valence": pl.Float64(),
    "tempo": pl.Float64(),
    "time_signature": pl.Int64(),
}
RAW_INDEX_COLUMN = ""  # the upstream file's unnamed first column
RAW_OPTIONAL_COLUMNS: dict[str, pl.DataType] = {
    RAW_INDEX_COLUMN: pl.Int64(),
    "track_genre": pl.String(),
}

# Derived fields (pipeline/derive.py computes them; docs/data-dictionary.md documents them).
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Camelot wheel codes in wheel order: 1A, 1B, 2A, ... 12B (A = minor, B = major).
CAMELOT_CODES: tuple[str, ...] = tuple(f"{n}{letter}" for n in range(1, 13) for letter in "AB")
# Quadrants of the valence-arousal plane (energy as arousal), split at MOOD_SPLIT on both axes.
MOODS: tuple[str, ...] = ("happy", "tense", "sad", "calm")
MOOD_SPLIT = 0.5
# The mood grid counts tracks per (energy bucket, valence bucket), on the histogram edges.
MOOD_GRID_AXES: tuple[str, str] = ("energy", "valence")

# The similarity space (/tracks/{id}/similar, /recommendations): these features, each first
# transformed (SIMILARITY_TRANSFORMS; identity for the others), then standardised to a z-score with
# the mean and population standard deviation over the dataset's unique tracks (FEATURE_STATS);
# distance is Euclidean. bench/similarity_quality.py measured the choice (docs/performance.md):
# square roots of the two features that crowd near 0 agree best with the genres.
SIMILARITY_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "valence",
    "acousticness",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
    "tempo",
)
SIMILARITY_TRANSFORMS: dict[str, str] = {"speechiness": "sqrt", "instrumentalness": "sqrt"}

# Plausible ranges of the raw values, inclusive. The pipeline's validation and the API's
# parameter checks both use these.
TRACK_ID_PATTERN = r"^[0-9A-Za-z]{22}$"
RANGES: dict[str, tuple[float, float]] = {
    **{feature: (0.0, 1.0) for feature in UNIT_FEATURES},
    "popularity": (0, 100),
    "key": (-1, 11),  # -1 = no key detected
    "mode": (0, 1),
    "tempo": (0.0, 250.0),  # 0 = no beat detected (common in sleep and ambient)
    "loudness": (-60.0, 5.0),
    "time_signature": (0, 7),  # upstream has 0 and 1 as well as 3-7
}

# ---------------------------------------------------------------- curated files
TRACKS = "tracks.parquet"
TRACK_GENRES = "track_genres.parquet"
GENRES = "genres.parquet"
FEATURE_HISTOGRAMS = "feature_histograms.parquet"
TOP_ARTISTS = "top_artists.parquet"
GLOBAL_SUMMARY = "global_summary.parquet"
MOOD_GRID = "mood_grid.parquet"
GENRE_MOODS = "genre_moods.parquet"
FEATURE_STATS = "feature_stats.parquet"
MANIFEST = "manifest.json"
TOP_ARTISTS_PER_GENRE = 10

_FEATURE_COLUMNS: dict[str, pl.DataType] = {feature: pl.Float64() for feature in FEATURES}
_AVG_COLUMNS: dict[str, pl.DataType] = {f"avg_{feature}": pl.Float64() for feature in FEATURES}

CURATED_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    # One row per unique track, sorted by id. Values come from the track's primary-genre row,
    # except popularity: the highest among all the track's rows (upstream snapshots differ).
    TRACKS: {
        "id": pl.String(),
        "name": pl.String(),
        "artists": pl.String(),
        "album": pl.String(),
        "genre_id": pl.String(),  # primary genre: the first catalogue genre the track is in
        "popularity": pl.Int16(),
        "duration_ms": pl.Int64(),
        **_FEATURE_COLUMNS,
        "mood": pl.String(),  # MOODS: quadrant of valence x energy, split at MOOD_SPLIT
        "key": pl.Int8(),
        "key_name": pl.String(),  # KEY_NAMES[key]; null when key is -1
        "mode": pl.Int8(),
        "camelot": pl.String(),  # CAMELOT_CODES; null when key is -1
        "time_signature": pl.Int8(),
        "explicit": pl.Boolean(),
        "source": pl.String(),
    },
    # Membership: one row per (genre, track), sorted by genre position then track id.
    TRACK_GENRES: {
        "genre_id": pl.String(),
        "track_id": pl.String(),
        "is_primary": pl.Boolean(),
    },
    # One row per catalogue genre, in catalogue order.
    GENRES: {
        "id": pl.String(),
        "name": pl.String(),
        "description": pl.String(),
        "position": pl.Int16(),
        "track_count": pl.Int32(),
        **_AVG_COLUMNS,
        "updated_at": pl.Datetime("us", "UTC"),
    },
    # Every bucket of every bucketed feature for every genre, zero counts included.
    FEATURE_HISTOGRAMS: {
        "genre_id": pl.String(),
        "feature": pl.String(),
        "bucket": pl.Int32(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
        "count": pl.Int32(),
    },
    # Up to TOP_ARTISTS_PER_GENRE rows per genre, most tracks first, ties by artists.
    TOP_ARTISTS: {
        "genre_id": pl.String(),
        "rank": pl.Int16(),
        "artists": pl.String(),
        "track_count": pl.Int32(),
    },
    # Every genre x energy bucket x valence bucket (10 x 10), zero counts included.
    MOOD_GRID: {
        "genre_id": pl.String(),
        "energy_bucket": pl.Int32(),
        "valence_bucket": pl.Int32(),
        "count": pl.Int32(),
    },
    # Every genre x mood, in MOODS order, zero counts included.
    GENRE_MOODS: {
        "genre_id": pl.String(),
        "mood": pl.String(),
        "count": pl.Int32(),
    },
    # One row per similarity feature, in SIMILARITY_FEATURES order: the transform applied first
    # ("identity" or "sqrt"), then the mean and population standard deviation (ddof 0) of the
    # transformed values over unique tracks. z = (transform(value) - mean) / std (0 if std is 0).
    FEATURE_STATS: {
        "feature": pl.String(),
        "transform": pl.String(),
        "mean": pl.Float64(),
        "std": pl.Float64(),
    },
    # Exactly one row: totals and averages over unique tracks.
    GLOBAL_SUMMARY: {
        "tracks": pl.Int32(),
        "genres": pl.Int32(),
        **_AVG_COLUMNS,
    },
}

# Layout of data/curated/: versions/<version>/ holds each published dataset, `current` is a
# symlink to the live one (swapped atomically), `previous` to the one before.
VERSIONS_DIR = "versions"
CURRENT_LINK = "current"
PREVIOUS_LINK = "previous"


def rfc3339(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC to the second, e.g. 2026-03-22T00:00:00Z (naive means UTC).

    Every timestamp the pipeline writes and the API sends has this form, so a browser's
    `new Date(text)` reads it as UTC.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# The manifest check (contract/manifest.py) is part of the contract: c.read_manifest etc.
from contract.manifest import CuratedDatasetError as CuratedDatasetError  # noqa: E402
from contract.manifest import file_sha256 as file_sha256  # noqa: E402
from contract.manifest import read_manifest as read_manifest  # noqa: E402
