"""The serving arrays (contract/serving.py): everything the API's queries read, computed once here.

Curated tables in, numpy arrays out: row order is the tracks' id order. Sort orders break ties
by id; the artist search text and each track's JSON text are built exactly as the service sends
and searches them, so a worker only maps files and never builds a private copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

import contract as c
from contract import serving as s

TEXT_BLOCK = 65_536  # tracks encoded to JSON at a time


Part = np.ndarray | list[np.ndarray]  # an array, or the pieces of one, to write one after another


def serving_arrays(tables: dict[str, pl.DataFrame]) -> Iterator[tuple[str, Part]]:
    """Every serving array of a dataset as (contract.serving.ARRAYS name, array or its pieces),
    one at a time, so a writer saves each and lets it go (at a million tracks the texts alone
    are 0.5 GB: they come in pieces, never joined in memory)."""
    tracks = tables[c.TRACKS]  # the transform writes it sorted by id; sorting a copy costs 0.5 GB
    tracks = tracks if tracks["id"].is_sorted() else tracks.sort("id")  # at a million tracks
    catalogue = tables[c.GENRES].sort("position")
    ids = fixed_width_ids(tracks["id"])
    yield "ids", ids
    for column in s.NUMERIC_COLUMNS:
        yield f"value_{column}", tracks[column].to_numpy().astype(s.ARRAYS[f"value_{column}"].dtype)
    codes = [category_codes(tracks[name], values) for name, values in s.CATEGORIES.items()]
    yield "codes", np.stack(codes)
    genre_rows, genre_bounds = memberships(ids, tables[c.TRACK_GENRES], catalogue)
    yield "genre_rows", genre_rows
    yield "genre_bounds", genre_bounds
    orders = sort_orders(tracks)
    yield "orders", orders
    yield "ranks", ranks(orders)
    del orders
    artist_codes, artist_text, artist_starts = artist_search(tracks["artists"])
    yield "artist_codes", artist_codes
    yield "artist_text", artist_text
    yield "artist_starts", artist_starts
    texts, offsets = track_texts(tracks, tables[c.TRACK_GENRES], catalogue)
    yield "texts", texts
    yield "text_offsets", offsets
    del texts[:]
    matrix = similarity_matrix(tracks, tables[c.FEATURE_STATS])
    yield "similarity", matrix
    yield "similarity32", matrix.astype(np.float32)
    yield "norms32", np.einsum("ij,ij->j", matrix, matrix).astype(np.float32)
    recording = tracks.select(pl.struct("name", "artists").rank("dense")).to_series()
    yield "recording", recording.to_numpy().astype(np.int32)
    yield "centroids", centroids(matrix, genre_rows, genre_bounds)


def in_memory(tables: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
    """Every serving array of a small dataset, whole, in memory (for tests and tools)."""
    return {
        name: np.concatenate(part) if isinstance(part, list) else part
        for name, part in serving_arrays(tables)
    }


def fixed_width_ids(ids: pl.Series) -> np.ndarray:
    """Track ids as a numpy S22 array (binary search compares bytes, as Polars sorts strings)."""
    return np.frombuffer(ids.str.join("").item().encode("ascii"), dtype=f"S{s.ID_WIDTH}").copy()


def memberships(
    ids: np.ndarray, track_genres: pl.DataFrame, catalogue: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Member rows grouped by genre in catalogue order (ascending within a genre), and bounds."""
    genre_ids = catalogue["id"].to_list()
    rows = np.searchsorted(ids, fixed_width_ids(track_genres["track_id"]))
    codes = (
        track_genres["genre_id"]
        .replace_strict(genre_ids, list(range(len(genre_ids))), return_dtype=pl.Int64)
        .to_numpy()
    )
    by_genre = np.argsort(codes * len(ids) + rows, kind="stable")
    bounds = np.searchsorted(codes[by_genre], np.arange(len(genre_ids) + 1))
    return rows[by_genre].astype(np.int32), bounds.astype(np.int64)


def category_codes(column: pl.Series, values: tuple[object, ...]) -> np.ndarray:
    """Each row's position in `values` (int8); null goes to the position of None."""
    known = [value for value in values if value is not None]
    codes = column.replace_strict(
        known, list(range(len(known))), default=None, return_dtype=pl.Int8
    )
    if None in values:
        codes = codes.fill_null(values.index(None))
    if codes.null_count():  # validation keeps every value inside the contract's ranges
        raise ValueError(f"tracks.{column.name} has values outside {values}")
    return codes.to_numpy()


def sort_orders(tracks: pl.DataFrame) -> np.ndarray:
    """Every row in each sort's order (contract.serving.SORTS), ties by row (= id) ascending."""
    orders = np.empty((len(s.SORTS), tracks.height), dtype=np.int32)
    # Names compare lowercased: rank them once (the one string sort), then order by the rank.
    name_rank = tracks["name"].str.to_lowercase().rank("dense").to_numpy().astype(np.int64)
    for position, (column, descending) in enumerate(s.SORTS.values()):
        values = name_rank if column == "name" else tracks[column].to_numpy()
        orders[position] = np.argsort(-values if descending else values, kind="stable")
    return orders


def ranks(orders: np.ndarray) -> np.ndarray:
    """Each row's position in each order."""
    rank = np.empty_like(orders)
    positions = np.arange(orders.shape[1], dtype=orders.dtype)
    for order, row_ranks in zip(orders, rank, strict=True):
        row_ranks[order] = positions
    return rank


def artist_search(artists: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's code into the distinct artists strings, and those strings lowercased (Python's
    str.lower, as the service lowercases the needle), UTF-8, joined by NUL, with their starts."""
    filled = artists.fill_null("")
    codes = (filled.rank("dense").to_numpy() - 1).astype(np.int32)
    encoded = [text.lower().encode() for text in filled.unique().sort().to_list()]
    lengths = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded))
    starts = np.cumsum(lengths) - lengths  # each string's first byte
    return codes, np.frombuffer(b"\x00".join(encoded), dtype=np.uint8).copy(), starts


def track_texts(
    tracks: pl.DataFrame, track_genres: pl.DataFrame, catalogue: pl.DataFrame
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every track's JSON text (contract.serving.TRACK_FIELDS), UTF-8, in pieces to be written
    one after another, and each text's offset in the whole.

    Encoded in blocks, so the strings Polars makes exist for one block at a time (at a million
    tracks, encoding all at once doubled the run's peak memory).
    """
    genre_ids, genre_names = catalogue["id"].to_list(), catalogue["name"].to_list()
    # One row per track, in id order like `tracks` (every track is in at least one genre), so
    # the lists line up with the tracks by position: no join, no copy of the tracks.
    genres_of = (
        track_genres.with_columns(
            pl.col("genre_id").replace_strict(genre_ids, list(range(len(genre_ids)))).alias("_at")
        )
        .sort("track_id", "_at")
        .group_by("track_id", maintain_order=True)
        .agg(pl.col("genre_id").alias("genres"))
    )
    if not genres_of["track_id"].equals(tracks["id"]):
        raise ValueError("every track must be in a genre, and every member a track")
    public = tracks.with_columns(
        pl.col("genre_id").replace_strict(genre_ids, genre_names).alias("genre_name"),
        genres_of["genres"],
    ).select(s.TRACK_FIELDS)
    blobs, lengths = [], [np.zeros(1, dtype=np.int64)]
    for start in range(0, public.height, TEXT_BLOCK):
        encoded = (
            public.slice(start, TEXT_BLOCK)
            .select(pl.struct(s.TRACK_FIELDS).struct.json_encode().alias("json"))
            .get_column("json")
        )
        # As an Arrow large_string array the texts already are one buffer plus offsets: take
        # them as they are, with no Python string per track.
        arrow = encoded.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
        _, offsets_buffer, data = arrow.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
            arrow.offset : arrow.offset + len(arrow) + 1
        ]
        blobs.append(np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].copy())
        lengths.append(np.diff(offsets))
    pieces = blobs or [np.zeros(0, dtype=np.uint8)]  # no tracks: an empty blob
    return pieces, np.cumsum(np.concatenate(lengths)).astype(np.int64)


def similarity_matrix(tracks: pl.DataFrame, stats: pl.DataFrame) -> np.ndarray:
    """Every row's z-scores in the similarity space: one row per feature (SIMILARITY_FEATURES
    order), one column per track, so a scan reads each feature's values one after another."""
    columns = []
    for feature, transform, mean, std in stats.iter_rows():
        values = tracks[feature].to_numpy().astype(np.float64)
        values = np.sqrt(values) if transform == "sqrt" else values
        columns.append((values - mean) / std if std > 0 else np.zeros_like(values))
    return np.ascontiguousarray(np.vstack(columns))


def centroids(matrix: np.ndarray, genre_rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each genre's mean z-scores (NaN for a genre without tracks)."""
    out = np.full((len(bounds) - 1, matrix.shape[0]), np.nan)
    for code in range(len(bounds) - 1):
        members = genre_rows[bounds[code] : bounds[code + 1]]
        if len(members):
            out[code] = matrix[:, members].mean(axis=1)
    return out
