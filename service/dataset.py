"""Load one curated dataset version into memory and precompute everything the views need.

`load_dataset` resolves the `current` symlink once, verifies the folder against its manifest
(contract.read_manifest), reads the Parquet files and builds the track index and the bytes of
every response that never changes. It raises contract.CuratedDatasetError when the folder is
missing, does not match its manifest, or its tables do not agree with each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contract import (
    CURATED_SCHEMAS,
    FEATURE_HISTOGRAMS,
    FEATURE_STATS,
    GENRE_MOODS,
    GENRES,
    GLOBAL_SUMMARY,
    MOOD_GRID,
    TOP_ARTISTS,
    TRACK_GENRES,
    TRACKS,
    CuratedDatasetError,
    read_manifest,
)
from service.index import ID_WIDTH, TrackIndex, build_track_index
from service.similarity import FeatureSpace, build_space
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


def to_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN is refused because it is not JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def load_dataset(directory: Path) -> Dataset:
    """Verify and load the curated dataset at directory (a version folder or a symlink to one)."""
    if not directory.exists():
        raise CuratedDatasetError(f"no curated dataset at {directory}")
    folder = directory.resolve()
    manifest = read_manifest(folder)
    frames = {name: _read(folder / name) for name in CURATED_SCHEMAS}
    check_consistency(frames)
    return build_dataset(frames, manifest, folder)


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise CuratedDatasetError(f"{path} is unreadable: {error}") from None


def check_consistency(frames: dict[str, pl.DataFrame]) -> None:
    """Check that the tables refer to each other correctly; raise CuratedDatasetError if not."""
    tracks, genres = frames[TRACKS], frames[GENRES]
    problems = []
    if genres.height == 0 or tracks.height == 0:
        problems.append("it has no genres or no tracks")
    if tracks["id"].n_unique() != tracks.height:
        problems.append(f"{TRACKS} repeats track ids")
    for name, column in ((TRACKS, "id"), (TRACK_GENRES, "track_id")):
        # the index stores ids as fixed-width bytes; the pipeline checks the full pattern
        if not (frames[name][column].str.len_bytes() == ID_WIDTH).fill_null(False).all():
            problems.append(f"{name} has a {column} that is not {ID_WIDTH} characters long")
    if not frames[TRACK_GENRES]["track_id"].is_in(tracks["id"].implode()).all():
        problems.append(f"{TRACK_GENRES} has a track_id that is not in {TRACKS}")
    for name, column in (
        (TRACKS, "genre_id"),
        (TRACK_GENRES, "genre_id"),
        (FEATURE_HISTOGRAMS, "genre_id"),
        (TOP_ARTISTS, "genre_id"),
        (MOOD_GRID, "genre_id"),
        (GENRE_MOODS, "genre_id"),
    ):
        if not frames[name][column].is_in(genres["id"].implode()).all():
            problems.append(f"{name} has a {column} that is not in {GENRES}")
    if frames[GLOBAL_SUMMARY].height != 1:
        problems.append(f"{GLOBAL_SUMMARY} must have exactly one row")
    if problems:
        raise CuratedDatasetError("the curated tables disagree: " + "; ".join(problems))


def build_dataset(
    frames: dict[str, pl.DataFrame], manifest: dict[str, Any], folder: Path
) -> Dataset:
    """Index the frames and serialise the bodies of every fixed response."""
    objects = genre_objects(frames[GENRES])
    details = genre_details(objects, frames)
    health = health_payload(
        manifest, frames[TRACKS].height, frames[GENRES].height, frames[TRACK_GENRES].height
    )
    index = build_track_index(frames[TRACKS], frames[TRACK_GENRES], frames[GENRES])
    return Dataset(
        version=str(manifest.get("version", folder.name)),
        folder=folder,
        index=index,
        space=build_space(index.texts.tracks, frames[FEATURE_STATS], index),
        genres={genre["id"]: genre for genre in objects},
        stats_body=to_json({"data": stats_payload(frames[GLOBAL_SUMMARY], objects)}),
        genres_body=to_json({"data": objects, "meta": {"total": len(objects)}}),
        genre_bodies={genre: to_json({"data": detail}) for genre, detail in details.items()},
        health_body=to_json({"data": health}),
    )
