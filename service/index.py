"""The track index a worker maps from a version's serving arrays (contract/serving.py).

Rows are the unique tracks in id order. Everything a query reads was computed by the pipeline
and is mapped read-only from the version's `index/` folder: the sorted ids (fixed-width bytes,
for lookup by binary search), the numeric columns, each categorical field as small integer codes,
one row order per sort key (ties by id) and each row's rank in it, genre membership, the artist
search text, and each track's JSON text. The page cache holds one copy for every worker of a
host; a worker's private memory is the Python objects around the arrays. Never imports Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from contract import FEATURES
from contract.serving import ARRAYS, CATEGORIES, ID_WIDTH, NUMERIC_COLUMNS, SORTS, array_path
from service.textsearch import Haystack, haystack_of

SORT_ROWS = {sort: row for row, sort in enumerate(SORTS)}
CATEGORY_ROWS = {name: row for row, name in enumerate(CATEGORIES)}


@dataclass(frozen=True)
class TrackIndex:
    """Everything a track query reads; see the module docstring."""

    ids: np.ndarray  # S22 ids, sorted: row order
    values: dict[str, np.ndarray]  # NUMERIC_COLUMNS in row order
    codes: dict[str, np.ndarray]  # CATEGORIES: each row's code (int8) in row order
    genre_ids: tuple[str, ...]  # catalogue order
    genre_codes: dict[str, int]  # genre id -> its position in the catalogue
    genre_rows: np.ndarray  # member rows grouped by genre code, ascending within a genre
    genre_bounds: np.ndarray  # genre code c: genre_rows[bounds[c]:bounds[c + 1]]
    orders: np.ndarray  # (sorts, rows): every row in each sort's order
    ranks: np.ndarray  # (sorts, rows): each row's position in each sort
    artist_codes: np.ndarray  # each row's artists, as an index into the haystack's strings
    artists: Haystack
    texts: np.ndarray  # every track's JSON text, UTF-8, one after another
    text_offsets: np.ndarray  # row r's text: texts[offsets[r]:offsets[r + 1]]


def map_arrays(directory: Path) -> dict[str, np.ndarray]:
    """Every serving array of a version folder, mapped read-only (nothing is copied).

    Each is a plain ndarray view of its np.memmap: the memmap subclass runs Python code on every
    index and slice (about 1 us each, 90 of them in a /similar request), the view does not.
    """
    return {
        name: np.load(array_path(directory, name), mmap_mode="r").view(np.ndarray)
        for name in ARRAYS
    }


def track_index(arrays: Mapping[str, np.ndarray], genre_ids: tuple[str, ...]) -> TrackIndex:
    """The index over a dataset's serving arrays (mapped files, or arrays in memory)."""
    return TrackIndex(
        ids=arrays["ids"],
        values={column: arrays[f"value_{column}"] for column in NUMERIC_COLUMNS},
        codes={name: arrays["codes"][row] for name, row in CATEGORY_ROWS.items()},
        genre_ids=genre_ids,
        genre_codes={genre: code for code, genre in enumerate(genre_ids)},
        genre_rows=arrays["genre_rows"],
        genre_bounds=arrays["genre_bounds"],
        orders=arrays["orders"],
        ranks=arrays["ranks"],
        artist_codes=arrays["artist_codes"],
        artists=haystack_of(arrays["artist_text"], arrays["artist_starts"]),
        texts=arrays["texts"],
        text_offsets=arrays["text_offsets"],
    )


def sort_order(index: TrackIndex, sort: str) -> np.ndarray:
    """Every row in one sort's order (ties by id)."""
    return index.orders[SORT_ROWS[sort]]


def sort_rank(index: TrackIndex, sort: str) -> np.ndarray:
    """Each row's position in one sort's order."""
    return index.ranks[SORT_ROWS[sort]]


def row_of(index: TrackIndex, track_id: str) -> int | None:
    """The row of a track id, or None."""
    key = track_id.encode()
    if len(key) != ID_WIDTH:
        return None
    row = int(np.searchsorted(index.ids, key))
    return row if row < len(index.ids) and index.ids[row] == key else None


def track_texts(index: TrackIndex, rows: list[int]) -> list[str]:
    """The JSON text of each row's track, in order."""
    offsets, texts = index.text_offsets, index.texts
    return [texts[offsets[row] : offsets[row + 1]].tobytes().decode() for row in rows]


def genre_members(index: TrackIndex, genre: str) -> np.ndarray | None:
    """The rows of a genre's member tracks, ascending (None for an unknown genre)."""
    code = index.genre_codes.get(genre)
    if code is None:
        return None
    return index.genre_rows[index.genre_bounds[code] : index.genre_bounds[code + 1]]


def genre_values(index: TrackIndex, genre: str) -> dict[str, np.ndarray] | None:
    """A genre's members' values of every feature, sorted (None for an unknown genre)."""
    members = genre_members(index, genre)
    if members is None:
        return None
    return {feature: np.sort(index.values[feature][members]) for feature in FEATURES}
