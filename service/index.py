"""The in-memory track index each worker builds once from the curated frames.

Rows are the unique tracks in id order. The index keeps only what requests need: the sorted ids
(as fixed-width bytes, for lookup by binary search), the numeric columns filters, sorts and
/compare read, each categorical field as small integer codes (for equality filters and facets),
one row order per sort key (ties by id) and each row's rank in it, genre membership, the
distinct artists strings, and each track's JSON text. Work a request may never need is done on
first use and kept: a genre's sorted feature values (well under a millisecond), and the JSON
text of tracks, encoded by Polars for just the rows a request needs and kept up to a bound.
This module never imports Flask.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contract import CAMELOT_CODES, FEATURES, MOODS, CuratedDatasetError
from service.params import NUMERIC_COLUMNS, SORTS
from service.textsearch import Haystack, build_haystack

ID_WIDTH = 22  # contract.TRACK_ID_PATTERN: 22 letters and digits
# Public track fields in response order: the JSON text of a track has exactly these keys.
TRACK_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "artists",
    "album",
    "genre_id",
    "genre_name",
    "genres",
    "popularity",
    "duration_ms",
    *FEATURES,
    "mood",
    "key",
    "key_name",
    "mode",
    "camelot",
    "time_signature",
    "explicit",
    "source",
)
# Categorical fields and their values in facet order: a row's code is the position of its value.
CATEGORIES: dict[str, tuple[object, ...]] = {
    "mood": MOODS,
    "key": tuple(range(-1, 12)),
    "camelot": (*CAMELOT_CODES, None),  # None: no key detected
    "mode": (0, 1),
    "time_signature": tuple(range(0, 8)),
    "explicit": (False, True),
}
TEXTS_KEPT = 262_144  # tracks' JSON texts kept: all of the real dataset, a bound at 1M rows


@dataclass(frozen=True)
class TrackTexts:
    """Each track's JSON text, encoded on first use from the curated frames and kept."""

    tracks: pl.DataFrame  # in row order
    track_genres: pl.DataFrame
    catalogue: pl.DataFrame
    frame: list[pl.DataFrame] = field(default_factory=list)  # TRACK_FIELDS, once joined
    cache: dict[int, str] = field(default_factory=dict)  # row -> JSON text
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards building `frame`


@dataclass(frozen=True)
class TrackIndex:
    """Everything a track query reads; see the module docstring."""

    ids: np.ndarray  # S22 ids, sorted: row order
    values: dict[str, np.ndarray]  # params.NUMERIC_COLUMNS in row order
    codes: dict[str, np.ndarray]  # CATEGORIES: each row's code (int8) in row order
    genre_ids: tuple[str, ...]  # catalogue order
    genre_codes: dict[str, int]  # genre id -> its position in the catalogue
    genre_rows: np.ndarray  # member rows grouped by genre code, ascending within a genre
    genre_bounds: np.ndarray  # genre code c: genre_rows[bounds[c]:bounds[c + 1]]
    texts: TrackTexts
    # Built on first use (or by warm()), so a worker answers sooner after it starts:
    orders: dict[str, np.ndarray] = field(default_factory=dict)  # sort -> every row, in order
    ranks: dict[str, np.ndarray] = field(default_factory=dict)  # sort -> each row's position
    artists: list[tuple[np.ndarray, Haystack]] = field(default_factory=list)  # row codes, texts
    genre_values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def build_track_index(
    tracks: pl.DataFrame, track_genres: pl.DataFrame, genres: pl.DataFrame
) -> TrackIndex:
    """Index the curated tracks (ids must match contract.TRACK_ID_PATTERN)."""
    tracks = tracks if tracks["id"].is_sorted() else tracks.sort("id")
    catalogue = genres.sort("position")
    genre_ids = tuple(catalogue["id"].to_list())
    ids = fixed_width_ids(tracks["id"])
    rows = np.searchsorted(ids, fixed_width_ids(track_genres["track_id"]))
    codes = (
        track_genres["genre_id"]
        .replace_strict(list(genre_ids), list(range(len(genre_ids))), return_dtype=pl.Int64)
        .to_numpy()
    )
    by_genre = np.argsort(codes * len(ids) + rows)
    return TrackIndex(
        ids=ids,
        values={column: tracks[column].to_numpy() for column in NUMERIC_COLUMNS},
        codes={name: category_codes(tracks[name], values) for name, values in CATEGORIES.items()},
        genre_ids=genre_ids,
        genre_codes={genre: code for code, genre in enumerate(genre_ids)},
        genre_rows=rows[by_genre].astype(np.int32),
        genre_bounds=np.searchsorted(codes[by_genre], np.arange(len(genre_ids) + 1)),
        texts=TrackTexts(tracks, track_genres, catalogue),
    )


def category_codes(column: pl.Series, values: tuple[object, ...]) -> np.ndarray:
    """Each row's position in `values` (int8); a value outside them is a CuratedDatasetError."""
    known = [value for value in values if value is not None]
    codes = column.replace_strict(
        known, list(range(len(known))), default=None, return_dtype=pl.Int8
    )
    unknown = codes.is_null() & column.is_not_null()
    if unknown.any():
        bad = column.filter(unknown).head(3).to_list()
        raise CuratedDatasetError(f"tracks.{column.name} has values outside {values}: {bad}")
    if None in values:
        codes = codes.fill_null(values.index(None))
    elif codes.null_count():
        raise CuratedDatasetError(f"tracks.{column.name} has nulls")
    return codes.to_numpy()


def sort_order(index: TrackIndex, sort: str) -> np.ndarray:
    """Every row in one sort's order (ties by id); built on first use."""
    order = index.orders.get(sort)
    if order is None:
        order = _order(index.texts.tracks, *SORTS[sort])
        index.ranks[sort] = _rank(order)
        index.orders[sort] = order
    return order


def sort_rank(index: TrackIndex, sort: str) -> np.ndarray:
    """Each row's position in one sort's order; built on first use."""
    sort_order(index, sort)
    return index.ranks[sort]


def artist_search(index: TrackIndex) -> tuple[np.ndarray, Haystack]:
    """Each row's code into the distinct artists strings, and those strings to search."""
    if not index.artists:
        artists = index.texts.tracks["artists"].fill_null("")
        codes = (artists.rank("dense").to_numpy() - 1).astype(np.int32)
        index.artists.append((codes, build_haystack(artists.unique().sort().to_list())))
    return index.artists[0]


def fixed_width_ids(ids: pl.Series) -> np.ndarray:
    """Track ids as a numpy S22 array (binary search compares bytes, as Polars sorts strings)."""
    return np.frombuffer(ids.str.join("").item().encode("ascii"), dtype=f"S{ID_WIDTH}")


def _order(tracks: pl.DataFrame, column: str, descending: bool) -> np.ndarray:
    """Row numbers sorted by one column (names ignoring case), ties by row (= id) ascending."""
    if column != "name":
        values = tracks[column].to_numpy()
        return np.argsort(-values if descending else values, kind="stable").astype(np.int32)
    return (
        tracks.select(pl.col("name").str.to_lowercase().alias("key"))
        .with_row_index("row")
        .sort("key", descending=descending, maintain_order=True, nulls_last=descending)
        .get_column("row")
        .to_numpy()
        .astype(np.int32)
    )


def _rank(order: np.ndarray) -> np.ndarray:
    """Position of every row in an order."""
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank


def _text_frame(
    tracks: pl.DataFrame, track_genres: pl.DataFrame, catalogue: pl.DataFrame
) -> pl.DataFrame:
    """The public fields of every track, in row order: genre name and genres list joined in."""
    names = catalogue.select(pl.col("id").alias("genre_id"), pl.col("name").alias("genre_name"))
    genres_of = (
        track_genres.join(
            catalogue.select(pl.col("id").alias("genre_id"), "position"), on="genre_id"
        )
        .sort("track_id", "position")
        .group_by("track_id", maintain_order=True)
        .agg(pl.col("genre_id").alias("genres"))
    )
    return (
        tracks.join(names, on="genre_id", how="left", maintain_order="left")
        .join(genres_of, left_on="id", right_on="track_id", how="left", maintain_order="left")
        .select(TRACK_FIELDS)
    )


def row_of(index: TrackIndex, track_id: str) -> int | None:
    """The row of a track id, or None."""
    key = track_id.encode()
    if len(key) != ID_WIDTH:
        return None
    row = int(np.searchsorted(index.ids, key))
    return row if row < len(index.ids) and index.ids[row] == key else None


def track_texts(index: TrackIndex, rows: list[int]) -> list[str]:
    """The JSON text of each row's track, in order; rows not seen before are encoded now."""
    texts = index.texts
    missing = [row for row in dict.fromkeys(rows) if row not in texts.cache]
    if missing:
        if len(texts.cache) + len(missing) > TEXTS_KEPT:
            # A bound on memory, reached only by datasets far larger than today's (warm-up never
            # fills past it). Start again with just this request's rows.
            texts.cache.clear()
            missing = list(dict.fromkeys(rows))
        _encode(texts, missing)
    return [texts.cache[row] for row in rows]


def _encode(texts: TrackTexts, rows: list[int]) -> None:
    """Encode just these rows in one Polars call (random access stays cheap at 1M tracks)."""
    encoded = (
        _joined(texts)
        .select(pl.struct(TRACK_FIELDS).gather(rows).struct.json_encode())
        .to_series()
        .to_list()
    )
    texts.cache.update(zip(rows, encoded, strict=True))


def _joined(texts: TrackTexts) -> pl.DataFrame:
    with texts.lock:
        if not texts.frame:
            texts.frame.append(_text_frame(texts.tracks, texts.track_genres, texts.catalogue))
        return texts.frame[0]


def warm(index: TrackIndex, block: int = 8192) -> None:
    """Do now the work requests would do on first use: sort orders, the artist search, every
    genre's sorted values, and (when they all fit in the cache) every track's JSON text.

    Meant for a background thread started once the worker is ready: Polars does the heavy part
    without holding the GIL, and whatever a request needs before it is done, it builds itself.
    """
    for sort in SORTS:
        sort_order(index, sort)
    artist_search(index)
    for genre in index.genre_ids:
        genre_values(index, genre)
    total = len(index.ids)
    if total > TEXTS_KEPT:
        return
    texts = index.texts
    for start in range(0, total, block):
        rows = [row for row in range(start, min(start + block, total)) if row not in texts.cache]
        if rows:
            _encode(texts, rows)
    with texts.lock:
        texts.frame.clear()  # every text is cached: the joined frame is not needed any more


def genre_values(index: TrackIndex, genre: str) -> dict[str, np.ndarray] | None:
    """A genre's members' values of every feature, sorted (None for an unknown genre)."""
    entry = index.genre_values.get(genre)
    if entry is None:
        members = genre_members(index, genre)
        if members is None:
            return None
        entry = {feature: np.sort(index.values[feature][members]) for feature in FEATURES}
        index.genre_values[genre] = entry
    return entry


def genre_members(index: TrackIndex, genre: str) -> np.ndarray | None:
    """The rows of a genre's member tracks, ascending (None for an unknown genre)."""
    code = index.genre_codes.get(genre)
    if code is None:
        return None
    return index.genre_rows[index.genre_bounds[code] : index.genre_bounds[code + 1]]
