"""The serving arrays (contract/serving.py): everything the API's queries read, computed once here.

Curated tables in, numpy arrays out: row order is the tracks' id order. Sort orders break ties
by id; the artist search text and each track's JSON text are built exactly as the service sends
and searches them, so a worker only maps files and never builds a private copy.
"""

from __future__ import annotations

import numpy as np
import polars as pl

import contract as c
from contract import serving as s


def serving_arrays(tables: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
    """Every serving array of a dataset, keyed by contract.serving.ARRAYS names."""
    tracks = tables[c.TRACKS].sort("id")
    catalogue = tables[c.GENRES].sort("position")
    ids = fixed_width_ids(tracks["id"])
    genre_rows, genre_bounds = memberships(ids, tables[c.TRACK_GENRES], catalogue)
    orders = np.stack([sort_order(tracks, *s.SORTS[name]) for name in s.SORTS])
    matrix = similarity_matrix(tracks, tables[c.FEATURE_STATS])
    texts, offsets = track_texts(tracks, tables[c.TRACK_GENRES], catalogue)
    artist_codes, artist_text, artist_starts = artist_search(tracks["artists"])
    return {
        "ids": ids,
        **{
            f"value_{col}": tracks[col].to_numpy().astype(s.ARRAYS[f"value_{col}"].dtype)
            for col in s.NUMERIC_COLUMNS
        },
        "codes": np.stack(
            [category_codes(tracks[name], values) for name, values in s.CATEGORIES.items()]
        ),
        "genre_rows": genre_rows,
        "genre_bounds": genre_bounds,
        "orders": orders,
        "ranks": np.stack([ranks(order) for order in orders]),
        "artist_codes": artist_codes,
        "artist_text": artist_text,
        "artist_starts": artist_starts,
        "texts": texts,
        "text_offsets": offsets,
        "similarity": matrix,
        "norms": np.einsum("ij,ij->i", matrix, matrix),
        "recording": tracks.select(pl.struct("name", "artists").rank("dense"))
        .to_series()
        .to_numpy()
        .astype(np.int32),
        "centroids": centroids(matrix, genre_rows, genre_bounds),
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


def sort_order(tracks: pl.DataFrame, column: str, descending: bool) -> np.ndarray:
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


def ranks(order: np.ndarray) -> np.ndarray:
    """Position of every row in an order."""
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
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
) -> tuple[np.ndarray, np.ndarray]:
    """Every track's JSON text (contract.serving.TRACK_FIELDS) in one UTF-8 blob, and offsets."""
    names = catalogue.select(pl.col("id").alias("genre_id"), pl.col("name").alias("genre_name"))
    genres_of = (
        track_genres.join(
            catalogue.select(pl.col("id").alias("genre_id"), "position"), on="genre_id"
        )
        .sort("track_id", "position")
        .group_by("track_id", maintain_order=True)
        .agg(pl.col("genre_id").alias("genres"))
    )
    encoded = (
        tracks.join(names, on="genre_id", how="left", maintain_order="left")
        .join(genres_of, left_on="id", right_on="track_id", how="left", maintain_order="left")
        .select(pl.struct(s.TRACK_FIELDS).struct.json_encode().alias("json"))
        .get_column("json")
    )
    # As an Arrow large_string array, the texts already are one data buffer plus offsets: take
    # them as they are, with no Python string per track (a million of them at 1M tracks).
    arrow = encoded.rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    _, offsets_buffer, data = arrow.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        arrow.offset : arrow.offset + len(arrow) + 1
    ]
    blob = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    return blob, (offsets - offsets[0]).astype(np.int64)


def similarity_matrix(tracks: pl.DataFrame, stats: pl.DataFrame) -> np.ndarray:
    """Every row's z-scores in the similarity space (contract.SIMILARITY_FEATURES order)."""
    columns = []
    for feature, transform, mean, std in stats.iter_rows():
        values = tracks[feature].to_numpy().astype(np.float64)
        values = np.sqrt(values) if transform == "sqrt" else values
        columns.append((values - mean) / std if std > 0 else np.zeros_like(values))
    return np.ascontiguousarray(np.column_stack(columns))


def centroids(matrix: np.ndarray, genre_rows: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each genre's mean z-scores (NaN for a genre without tracks)."""
    out = np.full((len(bounds) - 1, matrix.shape[1]), np.nan)
    for code in range(len(bounds) - 1):
        members = genre_rows[bounds[code] : bounds[code + 1]]
        if len(members):
            out[code] = matrix[members].mean(axis=0)
    return out
