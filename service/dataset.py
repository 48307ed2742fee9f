"""Load one curated dataset version and precompute everything the views need.

`load_dataset` resolves the `current` symlink once, verifies the folder against its manifest
(contract.read_manifest: every file's sha256), maps the serving arrays read-only (shared with
every other worker through the page cache), reads the small Parquet tables and serialises the
bytes of every response that never changes. It raises contract.CuratedDatasetError when the
folder is missing, does not match its manifest, or does not agree with itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from contract import (
    FEATURE_HISTOGRAMS,
    FEATURE_STATS,
    GENRE_MOODS,
    GENRES,
    GLOBAL_SUMMARY,
    MOOD_GRID,
    TOP_ARTISTS,
    CuratedDatasetError,
    read_manifest,
)
from service.index import TrackIndex, map_arrays, track_index
from service.similarity import FeatureSpace, feature_space
from service.summaries import genre_details, genre_objects, health_payload, stats_payload


@dataclass(frozen=True)
class Dataset:
    """One loaded dataset version: the track index, genre objects and precomputed bodies."""

    version: str
    folder: Path
    index: TrackIndex
    space: FeatureSpace  # the similarity space of the same rows
    genres: dict[str, dict[str, Any]]  # genre id -> public genre object, catalogue order
    stats_body: bytes
    genres_body: bytes
    genre_bodies: dict[str, bytes]  # genre id -> /genres/<genre> body
    health_body: bytes


# The small tables a worker reads into memory; tracks and memberships it maps as arrays.
SMALL_TABLES = (GENRES, FEATURE_HISTOGRAMS, TOP_ARTISTS, GLOBAL_SUMMARY, MOOD_GRID, GENRE_MOODS,
                FEATURE_STATS)  # fmt: skip


def to_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN is refused because it is not JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def load_dataset(directory: Path) -> Dataset:
    """Verify and load the curated dataset at directory (a version folder or a symlink to one)."""
    if not directory.exists():
        raise CuratedDatasetError(f"no curated dataset at {directory}")
    folder = directory.resolve()
    manifest = read_manifest(folder)  # every file's sha256, Parquet schemas, array headers
    frames = {name: _read(folder / name) for name in SMALL_TABLES}
    arrays = map_arrays(folder)
    check_consistency(frames, arrays)
    return build_dataset(frames, arrays, manifest, folder)


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise CuratedDatasetError(f"{path} is unreadable: {error}") from None


def check_consistency(frames: dict[str, pl.DataFrame], arrays: Mapping[str, np.ndarray]) -> None:
    """Check that the tables and arrays refer to each other correctly (CuratedDatasetError)."""
    genres, ids = frames[GENRES], arrays["ids"]
    problems = []
    if genres.height == 0 or len(ids) == 0:
        problems.append("it has no genres or no tracks")
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append("the track ids are not sorted and unique")
    rows, bounds, offsets = arrays["genre_rows"], arrays["genre_bounds"], arrays["text_offsets"]
    if len(rows) and not 0 <= int(rows.min()) <= int(rows.max()) < len(ids):
        problems.append("a genre member is not a track")
    if bounds[0] != 0 or bounds[-1] != len(rows) or bool(np.any(np.diff(bounds) < 0)):
        problems.append("the genre bounds do not cover the members")
    if (
        offsets[0] != 0
        or offsets[-1] != len(arrays["texts"])
        or bool(np.any(np.diff(offsets) <= 0))
    ):
        problems.append("the text offsets do not cover the texts")
    for name in (FEATURE_HISTOGRAMS, TOP_ARTISTS, MOOD_GRID, GENRE_MOODS):
        if not frames[name]["genre_id"].is_in(genres["id"].implode()).all():
            problems.append(f"{name} has a genre_id that is not in {GENRES}")
    if frames[GLOBAL_SUMMARY].height != 1:
        problems.append(f"{GLOBAL_SUMMARY} must have exactly one row")
    if problems:
        raise CuratedDatasetError(
            "the curated dataset disagrees with itself: " + "; ".join(problems)
        )


def build_dataset(
    frames: dict[str, pl.DataFrame],
    arrays: Mapping[str, np.ndarray],
    manifest: dict[str, Any],
    folder: Path,
) -> Dataset:
    """Wrap the mapped arrays and serialise the bodies of every fixed response."""
    objects = genre_objects(frames[GENRES])
    genre_ids = tuple(genre["id"] for genre in objects)
    details = genre_details(objects, frames)
    health = health_payload(
        manifest, len(arrays["ids"]), frames[GENRES].height, len(arrays["genre_rows"])
    )
    return Dataset(
        version=str(manifest.get("version", folder.name)),
        folder=folder,
        index=track_index(arrays, genre_ids),
        space=feature_space(arrays, frames[FEATURE_STATS], genre_ids),
        genres={genre["id"]: genre for genre in objects},
        stats_body=to_json({"data": stats_payload(frames[GLOBAL_SUMMARY], objects)}),
        genres_body=to_json({"data": objects, "meta": {"total": len(objects)}}),
        genre_bodies={genre: to_json({"data": detail}) for genre, detail in details.items()},
        health_body=to_json({"data": health}),
    )
