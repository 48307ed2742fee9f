"""Load one curated dataset version and precompute everything the views need.

`load_dataset` resolves the `current` symlink once, verifies the folder against its manifest
(contract.read_manifest: every file's sha256), maps the version's serving cache read-only
(service/cache.py: built once per host, shared with every other worker through the page cache),
reads the small Parquet tables and serialises the bytes of every response that never changes.
It raises contract.CuratedDatasetError when the folder is missing, does not match its manifest,
or does not agree with itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

import contract as c
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
from contract.manifest import checked_files, load_manifest
from service import arrow_files, cache
from service.artists import ArtistIndex, artist_index
from service.index import TrackIndex, track_index
from service.serving import ID_WIDTH
from service.similarity import FeatureSpace, feature_space
from service.summaries import genre_details, genre_objects, health_payload, stats_payload


@dataclass(frozen=True)
class Dataset:
    """One loaded dataset version: the track index, genre objects and precomputed bodies."""

    version: str
    folder: Path
    entry: Path  # its serving-cache entry (service/cache.py)
    index: TrackIndex
    space: FeatureSpace  # the similarity space of the same rows
    artists: ArtistIndex  # the artists credited on the same rows
    genres: dict[str, dict[str, Any]]  # genre id -> public genre object, catalogue order
    stats_body: bytes
    genres_body: bytes
    genre_bodies: dict[str, bytes]  # genre id -> /genres/<genre> body
    health: dict[str, Any]  # the /health payload's dataset and counts


# The small tables a worker reads into memory; tracks and memberships it maps as arrays.
SMALL_TABLES = (GENRES, FEATURE_HISTOGRAMS, TOP_ARTISTS, GLOBAL_SUMMARY, MOOD_GRID, GENRE_MOODS,
                FEATURE_STATS)  # fmt: skip


def to_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON; NaN is refused because it is not JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def load_dataset(directory: Path, rehash: bool = False) -> Dataset:
    """Verify and load the curated dataset at directory (a version folder or a symlink to one);
    `rehash` checks every byte again, whatever the host's stamps say."""
    if not directory.exists():
        raise CuratedDatasetError(f"no curated dataset at {directory}")
    folder = directory.resolve()
    manifest = read_manifest(folder, rehash)  # every file's sha256, Parquet schemas
    frames = {name: _read(folder / name) for name in SMALL_TABLES}
    version = str(manifest.get("version", folder.name))
    entry = cache.entry(folder, version, rehash)
    tables = cache.map_entry(entry)
    check_consistency(frames, tables)
    return build_dataset(frames, tables, manifest, folder, entry)


def fingerprint(dataset: Dataset) -> dict[str, Any]:
    """Each served file's size, times and inode now (None if it is gone): the version's checked
    files and its cache entry's. A change means the files must be verified again."""
    manifest = load_manifest_quietly(dataset.folder)
    names = [c.MANIFEST, *(checked_files(manifest) if manifest else [])]
    return {
        "version": {name: _stat(dataset.folder / name) for name in names},
        "entry": {name: _stat(dataset.entry / name) for name in (*cache.FILES, cache.DESCRIPTION)},
    }


def _stat(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def load_manifest_quietly(folder: Path) -> dict[str, Any] | None:
    """A version's manifest, or None if it cannot be read now."""
    try:
        return load_manifest(folder)
    except CuratedDatasetError:
        return None


def _read(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise CuratedDatasetError(f"{path} is unreadable: {error}") from None


def check_consistency(frames: dict[str, pl.DataFrame], tables: Mapping[str, Any]) -> None:
    """Check that the tables and the serving cache agree (CuratedDatasetError)."""
    genres = frames[GENRES]
    ids = arrow_files.fixed_bytes(tables["rows.arrow"], "id", ID_WIDTH)
    problems = []
    if genres.height == 0 or len(ids) == 0:
        problems.append("it has no genres or no tracks")
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        problems.append("the track ids are not sorted and unique")
    rows = arrow_files.numeric(tables["members.arrow"], "row")
    if len(rows) and not 0 <= int(rows.min()) <= int(rows.max()) < len(ids):
        problems.append("a genre member is not a track")
    cached = tables["genres.arrow"].column("id").to_pylist()
    if cached != genres.sort("position")["id"].to_list():
        problems.append("the serving cache's genres are not the version's")
    if not texts_match(tables["texts.arrow"].to_batches(), len(ids)):
        problems.append("the track texts do not match the tracks")
    credited = arrow_files.numeric(tables["name_tracks.arrow"], "row")
    if len(credited) and not 0 <= int(credited.min()) <= int(credited.max()) < len(ids):
        problems.append("an artist's track is not a track")
    for name in (FEATURE_HISTOGRAMS, TOP_ARTISTS, MOOD_GRID, GENRE_MOODS):
        if not frames[name]["genre_id"].is_in(genres["id"].implode()).all():
            problems.append(f"{name} has a genre_id that is not in {GENRES}")
    if frames[GLOBAL_SUMMARY].height != 1:
        problems.append(f"{GLOBAL_SUMMARY} must have exactly one row")
    if problems:
        raise CuratedDatasetError(
            "the curated dataset disagrees with itself: " + "; ".join(problems)
        )


def texts_match(batches: list[pa.RecordBatch], tracks: int) -> bool:
    """Whether the texts' record batches hold one non-empty text per track, every batch but the
    last as many as the first (a worker finds a row's batch by division)."""
    sizes = [len(batch) for batch in batches]
    if sum(sizes) != tracks or any(size != sizes[0] for size in sizes[:-1]):
        return False
    for batch in batches:
        _, offsets = arrow_files.text_buffers(batch, "json")
        if bool(np.any(np.diff(offsets) <= 0)):
            return False
    return True


def build_dataset(
    frames: dict[str, pl.DataFrame],
    tables: Mapping[str, Any],
    manifest: dict[str, Any],
    folder: Path,
    entry: Path,
) -> Dataset:
    """Wrap the mapped serving tables and serialise the bodies of every fixed response."""
    objects = genre_objects(frames[GENRES])
    genre_ids = tuple(genre["id"] for genre in objects)
    details = genre_details(objects, frames)
    index = track_index(tables, genre_ids)
    health = health_payload(manifest, len(index.ids), frames[GENRES].height, len(index.genre_rows))
    return Dataset(
        version=str(manifest.get("version", folder.name)),
        folder=folder,
        entry=entry,
        index=index,
        space=feature_space(tables, frames[FEATURE_STATS], genre_ids),
        artists=artist_index(tables),
        genres={genre["id"]: genre for genre in objects},
        stats_body=to_json({"data": stats_payload(frames[GLOBAL_SUMMARY], objects)}),
        genres_body=to_json({"data": objects, "meta": {"total": len(objects)}}),
        genre_bodies={genre: to_json({"data": detail}) for genre, detail in details.items()},
        health=health,
    )
