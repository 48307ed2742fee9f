"""The serving tables of one version: everything the API's queries read, computed from its data.

Rows are the unique tracks in id order (the order of tracks.parquet). Sort orders break ties by
id; the artist search text and each track's JSON text are built exactly as the service sends
and searches them. service/cache.py writes these tables once per host and every worker maps
them; the columns follow the field catalogue (contract/fields.py).

A build reads the tracks a few columns at a time (the texts in blocks of rows) and yields each
table as soon as it is made, so it holds about one table at a time: the largest is rows.arrow,
whose columns a worker needs whole (about 360 bytes a track). Arrays go to Arrow without a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa

import contract as c
from contract.fields import CATEGORIES, FEATURES, RANGE_FILTERS, SORTS
from contract.space import z_scores
from service import scale_tables as scale
from service.artist_tables import artist_tables, credit_bounds, credits_of
from service.serving_texts import text_batches

ID_WIDTH = 22  # contract.TRACK_ID_PATTERN: 22 letters and digits, read as fixed-width bytes
# Numeric columns a query reads: the range filters, the numeric sorts and the averaged features.
NUMERIC_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys([*RANGE_FILTERS, *(col for col, _ in SORTS.values() if col != "name"), *FEATURES])
)
Table: TypeAlias = pa.RecordBatch | Iterator[pa.RecordBatch]  # one batch, or batches in order


@dataclass(frozen=True)
class Version:
    """A version's tables as a build reads them: the tracks a few columns at a time (`columns`)
    or a block of rows (`rows`: columns, start, length), the memberships, the small tables."""

    height: int
    columns: Callable[[Sequence[str]], pl.DataFrame]
    rows: Callable[[tuple[str, ...], int, int], pl.DataFrame]
    track_genres: Callable[[], pl.DataFrame]
    catalogue: pl.DataFrame  # genres.parquet in catalogue order
    stats: pl.DataFrame  # feature_stats.parquet

    def values(self, name: str) -> np.ndarray:
        """One column of every track, in row order, as numpy."""
        return self.columns([name])[name].to_numpy()


def serving_tables(folder: Path) -> Iterator[tuple[str, Table]]:
    """Each serving table of the version in `folder`, by file name, one at a time."""
    tracks = folder / c.TRACKS

    def rows(names: tuple[str, ...], start: int, length: int) -> pl.DataFrame:
        return pl.scan_parquet(tracks).select(names).slice(start, length).collect()

    version = Version(
        height=pl.scan_parquet(tracks).select(pl.len()).collect().item(),
        columns=lambda names: pl.read_parquet(tracks, columns=list(names)),
        rows=rows,
        track_genres=lambda: pl.read_parquet(
            folder / c.TRACK_GENRES, columns=["genre_id", "track_id"]
        ),
        catalogue=pl.read_parquet(folder / c.GENRES).sort("position"),
        stats=pl.read_parquet(folder / c.FEATURE_STATS),
    )
    yield from tables_of(version)


def frames_version(frames: dict[str, pl.DataFrame]) -> Version:
    """A Version over a dataset's frames held in memory."""
    tracks = frames[c.TRACKS]
    return Version(
        height=tracks.height,
        columns=lambda names: tracks.select(names),
        rows=lambda names, start, length: tracks.select(names).slice(start, length),
        track_genres=lambda: frames[c.TRACK_GENRES],
        catalogue=frames[c.GENRES].sort("position"),
        stats=frames[c.FEATURE_STATS],
    )


def in_memory(frames: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Every serving table of a small dataset's frames as a worker maps them (one record batch
    each, or a pa.Table of batches for texts.arrow), for tests and tools."""
    from service.arrow_files import record_batches
    from service.cache import BATCHED

    mapped: dict[str, Any] = {}
    for name, table in tables_of(frames_version(frames)):
        batches = list(record_batches(table))
        mapped[name] = pa.Table.from_batches(batches) if name in BATCHED else batches[0]
    return mapped


def tables_of(version: Version) -> Iterator[tuple[str, Table]]:
    """Each serving table of a version, by file name, one at a time."""
    ids = fixed_width_ids(version.columns(["id"])["id"])
    member_rows, member_codes = memberships(ids, version.track_genres(), version.catalogue)
    genre_rows, genre_bounds = by_genre(member_rows, member_codes, version.catalogue.height)
    yield "members.arrow", batch({"row": genre_rows})
    csr = by_row(member_rows, member_codes, len(ids))
    yield "texts.arrow", text_batches(version.rows, version.height, csr, version.catalogue)
    del csr  # a generator's locals live on: each large one goes when it is no longer needed
    features = version.stats["feature"].to_list()
    space = similarity_matrix(version.columns(features), version.stats)
    yield "genres.arrow", genres_table(version.catalogue, genre_rows, genre_bounds, features, space)
    values = {feature: version.values(feature) for feature in FEATURES}
    yield "genre_values.arrow", scale.genre_values(values, genre_rows, genre_bounds)
    del genre_rows, values
    z32 = space.astype(np.float32)
    yield "space.arrow", space_table(features, space, z32)
    norms = np.einsum("ij,ij->j", space, space).astype(np.float32)
    cell_rows, cell_starts, cell_z32 = scale.cell_order(z32)
    del z32
    yield "cells.arrow", scale.cell_tables(space, cell_rows, cell_starts)
    del space
    yield "cell_space.arrow", scale.cell_space(cell_z32)
    del cell_z32
    artists = version.columns(["artists"])["artists"]
    artist_codes, distinct = artist_search(artists)
    yield "artists.arrow", batch({"lowered": pl.Series("lowered", distinct, dtype=pl.String)})
    credits = credits_of(artists)
    del artists
    bounds = credit_bounds(credits, len(ids))
    members = (member_rows, member_codes)
    yield from artist_tables(version.values, members, version.catalogue, credits)
    del credits, members, member_rows, member_codes
    head, codes = rows_columns(version, ids, bounds), code_columns(version, artist_codes)
    numeric = version.columns(NUMERIC_COLUMNS)
    name_rank = head["name_key"].rank("dense").to_numpy().astype(np.int64)
    orders = dict(sort_orders(numeric, name_rank))
    del name_rank
    ranks = {sort: rank_of(order) for sort, order in orders.items()}
    yield "ranks.arrow", batch({f"rank_{sort}": rank for sort, rank in ranks.items()})
    categories = {name: codes[f"code_{name}"] for name in CATEGORIES}
    yield "projections.arrow", scale.projection_batches(orders, ranks, categories)
    del ranks
    numbers = {name: numeric[name] for name in NUMERIC_COLUMNS}
    ordered = {f"order_{sort}": order for sort, order in orders.items()}
    ordered["order_cells"] = cell_rows
    ordered["order_recording"] = np.argsort(codes["recording"], kind="stable").astype(np.int32)
    yield "rows.arrow", batch(head | numbers | codes | ordered | {"norm32": norms})


def batch(columns: dict[str, Any]) -> pa.RecordBatch:
    """A record batch of numpy arrays (not copied), Polars series (as the oldest compatible
    Arrow types: large_string) and Arrow arrays, in the order given."""
    arrays = []
    for values in columns.values():
        if isinstance(values, pl.Series):
            values = values.to_arrow(compat_level=pl.CompatLevel.oldest())
        elif isinstance(values, np.ndarray):
            values = pa.array(values)
        arrays.append(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def rows_columns(
    version: Version, ids: np.ndarray, credits: tuple[np.ndarray, np.ndarray]
) -> dict[str, Any]:
    """rows.arrow's first columns: id, the name as the name sorts compare it, and where the
    track's artist names are in credits.arrow."""
    columns: dict[str, Any] = {"id": id_strings(ids)}
    # A cursor of a name sort holds this key (service/cursor.py): the text the sort compares.
    columns["name_key"] = version.columns(["name"])["name"].str.to_lowercase()
    columns["credit_start"], columns["credit_stop"] = credits
    return columns


def code_columns(version: Version, artist_codes: np.ndarray) -> dict[str, np.ndarray]:
    """rows.arrow's codes: each categorical field's, the artists string's and the recording
    (shared by the tracks with the same name and artists)."""
    categorical = version.columns(list(CATEGORIES))
    codes = {f"code_{name}": category_codes(categorical[name], values)
             for name, values in CATEGORIES.items()}  # fmt: skip
    del categorical
    codes["artist_code"] = artist_codes
    recording = version.columns(["name", "artists"]).select(
        pl.struct("name", "artists").rank("dense")
    )
    codes["recording"] = recording.to_series().to_numpy().astype(np.int32)
    return codes


def space_table(features: list[str], z: np.ndarray, z32: np.ndarray) -> pa.RecordBatch:
    """One row per feature of the similarity space, in its order: every track's z-score, as
    float64 and as float32, so each feature's values lie one after another (feature-major):
    a scan over all nine reads the float32 matrix once (3.6 times faster than track-major)."""
    tracks = z.shape[1]
    return pa.RecordBatch.from_arrays(
        [
            pa.array(features, pa.large_string()),
            pa.FixedSizeListArray.from_arrays(pa.array(z.ravel()), tracks),
            pa.FixedSizeListArray.from_arrays(pa.array(z32.ravel()), tracks),
        ],
        names=["feature", "z", "z32"],
    )


def fixed_width_ids(ids: pl.Series) -> np.ndarray:
    """Track ids as a numpy S22 array (binary search compares bytes, as Polars sorts strings)."""
    arrow = ids.to_arrow(compat_level=pl.CompatLevel.oldest())
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    _, offsets_buffer, data = arrow.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64)[arrow.offset : arrow.offset + len(arrow) + 1]
    if len(arrow) and (arrow.null_count or np.any(np.diff(offsets) != ID_WIDTH)):
        raise ValueError(f"track ids must be {ID_WIDTH} characters")
    if not len(arrow):
        return np.zeros(0, dtype=f"S{ID_WIDTH}")
    start = int(offsets[0])
    return np.frombuffer(data, dtype=f"S{ID_WIDTH}", count=len(arrow), offset=start).copy()


def id_strings(ids: np.ndarray) -> pa.Array:
    """The S22 ids as an Arrow large_string array over the same bytes."""
    offsets = np.arange(0, ID_WIDTH * (len(ids) + 1), ID_WIDTH, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), len(ids), [None, pa.py_buffer(offsets), pa.py_buffer(ids)]
    )


def memberships(
    ids: np.ndarray, track_genres: pl.DataFrame, catalogue: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each (genre, track) row's track row and genre code (its catalogue position)."""
    genre_ids = catalogue["id"].to_list()
    members = fixed_width_ids(track_genres["track_id"])
    rows = np.minimum(np.searchsorted(ids, members), max(len(ids) - 1, 0)).astype(np.int32)
    if len(members) and not bool(np.all(ids[rows] == members)):
        raise ValueError("every member of a genre must be a track")
    codes = (
        track_genres["genre_id"]
        .replace_strict(genre_ids, list(range(len(genre_ids))), return_dtype=pl.Int32)
        .to_numpy()
    )
    return rows, codes


def by_genre(rows: np.ndarray, codes: np.ndarray, genres: int) -> tuple[np.ndarray, np.ndarray]:
    """Member rows grouped by genre in catalogue order (ascending within a genre), and bounds."""
    order = np.lexsort((rows, codes))
    bounds = np.searchsorted(codes[order], np.arange(genres + 1))
    return rows[order].astype(np.int32), bounds.astype(np.int64)


def by_row(rows: np.ndarray, codes: np.ndarray, tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """Each track row's genre codes, ascending, as offsets (int64, one more than the rows) and
    codes: the genres of row r are codes[offsets[r]:offsets[r + 1]]."""
    order = np.lexsort((codes, rows))
    offsets = np.zeros(tracks + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=tracks), out=offsets[1:])
    return offsets, codes[order].astype(np.int32)


def category_codes(column: pl.Series, values: tuple[object, ...]) -> np.ndarray:
    """Each row's position in `values` (int8); null goes to the position of None."""
    known = [value for value in values if value is not None]
    codes = column.replace_strict(
        known, list(range(len(known))), default=None, return_dtype=pl.Int8
    )
    if None in values:
        codes = codes.fill_null(values.index(None))
    if codes.null_count():  # validation keeps every value inside the catalogue's ranges
        raise ValueError(f"tracks.{column.name} has values outside {values}")
    return codes.to_numpy()


def sort_orders(numeric: pl.DataFrame, name_rank: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Every row in each sort's order (contract.fields.SORTS), ties by row (= id) ascending.
    Names compare lowercased: they are ranked once (the one string sort), then ordered by rank."""
    for sort, (column, descending) in SORTS.items():
        values = name_rank if column == "name" else numeric[column].to_numpy()
        yield sort, np.argsort(-values if descending else values, kind="stable").astype(np.int32)


def rank_of(order: np.ndarray) -> np.ndarray:
    """Each row's position in an order."""
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order), dtype=order.dtype)
    return rank


def artist_search(artists: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's code into the distinct artists strings, and those strings lowercased
    (Python's str.lower, as the service lowercases the needle), sorted."""
    filled = artists.fill_null("")
    codes = (filled.rank("dense").to_numpy() - 1).astype(np.int32)
    return codes, [text.lower() for text in filled.unique().sort().to_list()]


def similarity_matrix(tracks: pl.DataFrame, stats: pl.DataFrame) -> np.ndarray:
    """Every row's z-score per similarity feature: one row of the matrix per feature, in the
    order of feature_stats.parquet (service/similarity.py checks that it is the space's)."""
    z = np.empty((stats.height, tracks.height))
    for at, (feature, transform, mean, std) in enumerate(stats.iter_rows()):
        z[at] = z_scores(tracks[feature].to_numpy(), transform, mean, std)
    return z


def genres_table(
    catalogue: pl.DataFrame,
    rows: np.ndarray,
    bounds: np.ndarray,
    features: list[str],
    space: np.ndarray,
) -> pa.RecordBatch:
    """One row per genre in catalogue order: its members' bounds and mean z-scores (NaN for a
    genre without tracks)."""
    columns: dict[str, Any] = {"id": catalogue["id"], "start": bounds[:-1], "stop": bounds[1:]}
    spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    for feature, z in zip(features, space, strict=True):
        means = [z[rows[a:b]].mean() if b > a else np.nan for a, b in spans]
        columns[f"z_{feature}"] = np.array(means, dtype=np.float64)
    return batch(columns)
