"""The curated dataset contract: its files, their columns, the schema version and its migrations.

`pipeline` writes the curated folder and `service` reads it; neither imports the other. This
package is the one place both agree on. Columns derive from the field catalogue
(contract/fields.py); a change to any table's columns is a new schema version, declared below
as a named migration (a test holds the two together), and docs/data-dictionary.md describes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from contract.fields import (
    FEATURES,
    FIELD,
    HISTOGRAM_EDGES,
    RANGES,
    SIMILARITY_FEATURES,
    SIMILARITY_TRANSFORMS,
    STORED,
    TRACK_ID_PATTERN,
    UNIT_FEATURES,
    bucket_labels,
)
from contract.music import CAMELOT_CODES, KEY_NAMES, MOOD_SPLIT, MOODS

__all__ = [
    "CAMELOT_CODES", "FEATURES", "FIELD", "HISTOGRAM_EDGES", "KEY_NAMES", "MOODS", "MOOD_SPLIT",
    "RANGES", "SIMILARITY_FEATURES", "SIMILARITY_TRANSFORMS", "TRACK_ID_PATTERN",
    "UNIT_FEATURES", "bucket_labels",
]  # fmt: skip

# The mood grid counts tracks per (energy bucket, valence bucket), on the histogram edges.
MOOD_GRID_AXES: tuple[str, str] = ("energy", "valence")
TOP_ARTISTS_PER_GENRE = 10

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
DATAPACKAGE = "datapackage.json"

DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "bool": pl.Boolean(),
    "int8": pl.Int8(),
    "int16": pl.Int16(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
}
_AVG_COLUMNS: dict[str, pl.DataType] = {f"avg_{feature}": pl.Float64() for feature in FEATURES}

CURATED_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    # One row per unique track, sorted by id: the catalogue's stored fields (contract/fields.py).
    # Values come from the track's primary-genre row, except popularity: the highest among all
    # the track's rows (upstream snapshots differ).
    TRACKS: {field.name: DTYPES[field.storage] for field in STORED if field.storage},
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


def schema_fingerprint(schemas: dict[str, dict[str, pl.DataType]] = CURATED_SCHEMAS) -> str:
    """A short digest of every table's columns and types: equal schemas, equal fingerprints."""
    described = {table: [[name, str(dtype)] for name, dtype in columns.items()]
                 for table, columns in schemas.items()}  # fmt: skip
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Migration:
    """One change of the curated schema: the version it makes, its name, what changed, and the
    fingerprint of the schema it leads to."""

    schema: int
    name: str
    changes: str
    fingerprint: str


# Every curated schema there has been, oldest first. Changing a table's columns (adding a field
# to the catalogue, say) means appending one: tests/test_contract.py fails until the last entry's
# fingerprint is the schema's. A version written with an older schema is neither served nor
# rolled back to; the message names the migrations since, and `make ingest` builds a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "first", "tracks, track_genres, genres, feature_histograms, top_artists and "
              "global_summary", ""),
    Migration(2, "derived-fields", "mood, key_name and camelot in tracks; the mood_grid, "
              "genre_moods and feature_stats tables; one popularity per track",
              "1f5b90f2e42c47a6"),
)  # fmt: skip
SCHEMA_VERSION = MIGRATIONS[-1].schema


def schema_problem(schema_version: object, fingerprint: object, where: str) -> str | None:
    """Why a version written with this schema cannot be read by this code, or None."""
    if schema_version == SCHEMA_VERSION and fingerprint in (None, schema_fingerprint()):
        return None
    if isinstance(schema_version, int) and schema_version < SCHEMA_VERSION:
        since = [m for m in MIGRATIONS if m.schema > schema_version]
        named = "; ".join(f"{m.schema} '{m.name}' ({m.changes})" for m in since)
        return (
            f"{where} has curated schema {schema_version}, and this code reads schema "
            f"{SCHEMA_VERSION}: migration {named}. A version with an older schema can no "
            "longer be served or rolled back to; `make ingest` builds one from the raw files"
        )
    return (
        f"{where} has curated schema {schema_version!r} (fingerprint {fingerprint}), and this "
        f"code reads schema {SCHEMA_VERSION} (fingerprint {schema_fingerprint()}): it was "
        "written by other code; serve it with that code, or `make ingest` to build one"
    )


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
