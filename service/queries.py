"""Track queries over an in-memory index: listing with filters and pages, lookup by id, compare.

The index is built once per worker (`build_track_index`) from the curated frames. Listings never sort
per request: every sort key has a precomputed row order (ties by id ascending), globally and per
genre, and a request only builds a boolean mask over that order. This module never imports Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from contract import FEATURES
from service.params import SORTS, TrackQuery
from service.textsearch import Haystack, build_haystack, contains_mask, contains_mask_of


class NotFoundError(LookupError):
    """A genre or track id that is not in the dataset; the message names it."""


# Public track fields in response order; genre_name and genres follow genre_id in responses.
HEAD_FIELDS: tuple[str, ...] = ("id", "name", "artists", "album", "genre_id")
TAIL_FIELDS: tuple[str, ...] = (
    "popularity",
    "duration_ms",
    *FEATURES,
    "key",
    "mode",
    "time_signature",
    "explicit",
    "source",
)
TRACK_FIELDS = HEAD_FIELDS + TAIL_FIELDS
_LOOP_SEARCH_MAX = 3000  # below this many candidate rows a loop beats the byte search


@dataclass(frozen=True)
class TrackIndex:
    """Column arrays and precomputed orders of the unique tracks, plus genre membership."""

    columns: dict[str, np.ndarray]  # field -> values in row order
    row_of: dict[str, int]  # track id -> row
    genre_names: dict[str, str]  # genre id -> name, catalogue order
    genre_ids: tuple[str, ...]  # genre code -> id
    member_offsets: np.ndarray  # genres of row r: member_codes[offsets[r]:offsets[r + 1]]
    member_codes: np.ndarray
    artist_codes: np.ndarray  # row -> index of its artists string in `artists`
    artists: Haystack  # the distinct artists strings, for the case-insensitive filter
    orders: dict[str, np.ndarray]  # sort -> all rows in that order
    genre_orders: dict[str, dict[str, np.ndarray]]  # genre -> sort -> member rows in that order
    genre_values: dict[str, dict[str, np.ndarray]]  # genre -> feature -> sorted member values


def build_track_index(
    tracks: pl.DataFrame, track_genres: pl.DataFrame, genres: pl.DataFrame
) -> TrackIndex:
    """Index the curated tracks for listing, lookup and percentiles."""
    tracks = tracks if tracks["id"].is_sorted() else tracks.sort("id")  # row order = id order
    catalogue = genres.sort("position")
    genre_ids = tuple(catalogue["id"].to_list())
    columns = {field: tracks[field].to_numpy() for field in TRACK_FIELDS}
    member_rows, member_codes = _membership(tracks, track_genres, catalogue)
    offsets = np.concatenate(([0], np.cumsum(np.bincount(member_rows, minlength=tracks.height))))
    artists = tracks["artists"].fill_null("")
    orders = {sort: _order(tracks, *SORTS[sort]) for sort in SORTS}
    genre_orders = _genre_orders(genre_ids, member_codes, member_rows, orders)
    return TrackIndex(
        columns=columns,
        row_of=dict(zip(columns["id"].tolist(), range(tracks.height), strict=True)),
        genre_names=dict(zip(genre_ids, catalogue["name"].to_list(), strict=True)),
        genre_ids=genre_ids,
        member_offsets=offsets,
        member_codes=member_codes,
        artist_codes=(artists.rank("dense").to_numpy() - 1).astype(np.int32),
        artists=build_haystack(artists.unique().sort().to_list()),
        orders=orders,
        genre_orders=genre_orders,
        genre_values=_genre_values(genre_orders, columns),
    )


def _membership(
    tracks: pl.DataFrame, track_genres: pl.DataFrame, catalogue: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(row, genre code) of every membership, by row then catalogue order (primary genre first)."""
    pairs = (
        track_genres.join(
            tracks.select(pl.col("id").alias("track_id")).with_row_index("row"), on="track_id"
        )
        .join(
            catalogue.select(pl.col("id").alias("genre_id")).with_row_index("code"), on="genre_id"
        )
        .sort("row", "code")
    )
    return pairs["row"].to_numpy().astype(np.int64), pairs["code"].to_numpy().astype(np.int32)


def _order(tracks: pl.DataFrame, column: str, descending: bool) -> np.ndarray:
    """Row numbers sorted by one column (names ignoring case), ties by row (= id) ascending."""
    key = pl.col(column).str.to_lowercase() if column == "name" else pl.col(column)
    return (
        tracks.select(key.alias("key"))
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


def _genre_orders(
    genre_ids: tuple[str, ...], codes: np.ndarray, rows: np.ndarray, orders: dict[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    """For every genre and sort: its member rows in that order (views into one array per sort)."""
    result: dict[str, dict[str, np.ndarray]] = {genre: {} for genre in genre_ids}
    bounds = np.searchsorted(np.sort(codes), np.arange(len(genre_ids) + 1))
    for sort, order in orders.items():
        # one key per membership: genre first, then position in the global order
        by = np.argsort(codes.astype(np.int64) * len(order) + _rank(order)[rows])
        ordered = rows[by].astype(np.int32)
        for code, genre in enumerate(genre_ids):
            result[genre][sort] = ordered[bounds[code] : bounds[code + 1]]
    return result


def _genre_values(
    genre_orders: dict[str, dict[str, np.ndarray]], columns: dict[str, np.ndarray]
) -> dict[str, dict[str, np.ndarray]]:
    """For every genre and feature: its members' values, sorted (for percentiles)."""
    return {
        genre: {feature: np.sort(columns[feature][orders["popularity"]]) for feature in FEATURES}
        for genre, orders in genre_orders.items()
    }


def list_tracks(index: TrackIndex, query: TrackQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of the tracks matching a query, in its sort order, and the number matching."""
    if query.genre is None:
        candidates = index.orders[query.sort]
        mask = _filter_mask(index, query, None)
        mask = None if mask is None else mask[candidates]
    else:
        candidates = genre_orders(index, query.genre)[query.sort]
        mask = _filter_mask(index, query, candidates)
    start, stop = query.offset, query.offset + query.limit
    if mask is None:
        return track_objects(index, candidates[start:stop]), len(candidates)
    hits = np.flatnonzero(mask)
    return track_objects(index, candidates[hits[start:stop]]), len(hits)


def genre_orders(index: TrackIndex, genre: str) -> dict[str, np.ndarray]:
    """A genre's precomputed orders, or NotFoundError."""
    try:
        return index.genre_orders[genre]
    except KeyError:
        raise NotFoundError(f"Genre not found: '{genre[:100]}' (see /api/v1/genres)") from None


def _filter_mask(
    index: TrackIndex, query: TrackQuery, rows: np.ndarray | None
) -> np.ndarray | None:
    """Boolean mask of the rows (all rows if None) matching the query's filters, or None."""
    mask: np.ndarray | None = None
    for column, low, high in (
        ("energy", query.min_energy, query.max_energy),
        ("tempo", query.min_tempo, query.max_tempo),
        ("key", query.key, query.key),
        ("mode", query.mode, query.mode),
    ):
        if low is None and high is None:
            continue
        values = index.columns[column] if rows is None else index.columns[column][rows]
        if low is not None:
            mask = _and(mask, values >= low)
        if high is not None:
            mask = _and(mask, values <= high)
    if query.artist is not None:
        if rows is not None and len(rows) <= _LOOP_SEARCH_MAX:
            matches = contains_mask_of(index.artists, query.artist, index.artist_codes[rows])
        else:
            by_artist = contains_mask(index.artists, query.artist)
            codes = index.artist_codes if rows is None else index.artist_codes[rows]
            matches = by_artist[codes]
        mask = _and(mask, matches)
    return mask


def _and(mask: np.ndarray | None, condition: np.ndarray) -> np.ndarray:
    return condition if mask is None else mask & condition


def track_objects(index: TrackIndex, rows: np.ndarray) -> list[dict[str, Any]]:
    """Public track objects for the given rows, in that order."""
    head = [index.columns[field][rows].tolist() for field in HEAD_FIELDS]
    tail = [index.columns[field][rows].tolist() for field in TAIL_FIELDS]
    return [
        _track(index, row, first, rest)
        for row, first, rest in zip(
            rows.tolist(), zip(*head, strict=True), zip(*tail, strict=True), strict=True
        )
    ]


def _track(index: TrackIndex, row: int, head: tuple[Any, ...], tail: tuple[Any, ...]) -> dict:
    track = dict(zip(HEAD_FIELDS, head, strict=True))
    track["genre_name"] = index.genre_names[track["genre_id"]]
    track["genres"] = [index.genre_ids[code] for code in _codes_of(index, row)]
    track.update(zip(TAIL_FIELDS, tail, strict=True))
    return track


def _codes_of(index: TrackIndex, row: int) -> list[int]:
    return index.member_codes[index.member_offsets[row] : index.member_offsets[row + 1]].tolist()


def track_by_id(index: TrackIndex, track_id: str) -> dict[str, Any]:
    """One public track object, or NotFoundError."""
    row = index.row_of.get(track_id)
    if row is None:
        raise NotFoundError(f"Track not found: '{track_id[:100]}'")
    columns = index.columns
    head = tuple(columns[field].item(row) for field in HEAD_FIELDS)
    return _track(index, row, head, tuple(columns[field].item(row) for field in TAIL_FIELDS))
