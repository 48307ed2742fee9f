"""The track index a worker maps from a version's serving cache (service/cache.py).

Rows are the unique tracks in id order. Everything a query reads was computed once per host
and is mapped read-only from the cache's Arrow files: the sorted ids (fixed-width bytes, for
lookup by binary search), the numeric columns, each categorical field as small integer codes,
one row order per sort key (ties by id) and each row's rank in it, genre membership, the artist
search text, and each track's JSON text. The page cache holds one copy for every worker of a
host; a worker's private memory is the Python objects around the arrays. Never imports Flask.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract import CuratedDatasetError
from contract.fields import CATEGORIES, FEATURES, RANGE_FILTERS, SORTS
from service.arrow_files import fixed_bytes, numeric, text_buffers
from service.serving import ID_WIDTH, NUMERIC_COLUMNS
from service.textsearch import Haystack, haystack_of


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
    genre_sorted: dict[str, np.ndarray]  # FEATURES: the members' values, sorted within a genre
    orders: dict[str, np.ndarray]  # sort -> every row in its order
    ranks: dict[str, np.ndarray]  # sort -> each row's position in its order
    artist_codes: np.ndarray  # each row's artists, as an index into the haystack's strings
    artists: Haystack
    texts: tuple[np.ndarray, ...]  # the tracks' JSON texts, UTF-8, a record batch's per array
    text_offsets: tuple[np.ndarray, ...]  # row r's text: batch b = r // text_batch, i = r % it,
    text_batch: int  # texts[b][text_offsets[b][i]:text_offsets[b][i + 1]]
    text_crcs: tuple[np.ndarray, ...]  # each text's CRC-32 (by batch), checked when it is sent
    name_keys: tuple[np.ndarray, np.ndarray]  # each row's lowercased name (bytes, offsets)
    credits: np.ndarray  # artist name codes (service/artist_tables.py), grouped by row
    credit_start: np.ndarray  # row r's names: credits[credit_start[r]:credit_stop[r]]
    credit_stop: np.ndarray
    # range column -> its projection's columns, each in the column's ascending order
    # (service/scale_tables.py): q_<range column> (uint8 quantiles), code_<categorical field>
    projections: dict[str, dict[str, np.ndarray]]


def track_index(tables: Mapping[str, Any], genre_ids: tuple[str, ...]) -> TrackIndex:
    """The index over a version's mapped serving tables."""
    rows, genres = tables["rows.arrow"], tables["genres.arrow"]
    batches = tables["texts.arrow"].to_batches()
    texts = [text_buffers(batch, "json") for batch in batches]
    crcs = [numeric(batch, "crc32") for batch in batches]
    data, starts = text_buffers(tables["artists.arrow"], "lowered")
    bounds = np.concatenate((numeric(genres, "start")[:1], numeric(genres, "stop")))
    return TrackIndex(
        ids=fixed_bytes(rows, "id", ID_WIDTH),
        values={column: numeric(rows, column) for column in NUMERIC_COLUMNS},
        codes={name: numeric(rows, f"code_{name}") for name in CATEGORIES},
        genre_ids=genre_ids,
        genre_codes={genre: code for code, genre in enumerate(genre_ids)},
        genre_rows=numeric(tables["members.arrow"], "row"),
        genre_bounds=bounds if len(genre_ids) else np.zeros(1, dtype=np.int64),
        genre_sorted={f: numeric(tables["genre_values.arrow"], f) for f in FEATURES},
        orders={sort: numeric(rows, f"order_{sort}") for sort in SORTS},
        ranks={sort: numeric(tables["ranks.arrow"], f"rank_{sort}") for sort in SORTS},
        artist_codes=numeric(rows, "artist_code"),
        artists=haystack_of(data, starts),
        texts=tuple(data for data, _ in texts),
        text_offsets=tuple(offsets for _, offsets in texts),
        text_batch=len(batches[0]) if batches else 0,
        text_crcs=tuple(crcs),
        name_keys=text_buffers(rows, "name_key"),
        credits=numeric(tables["credits.arrow"], "name"),
        credit_start=numeric(rows, "credit_start"),
        credit_stop=numeric(rows, "credit_stop"),
        projections={
            column: {name: numeric(batch, name) for name in batch.schema.names}
            for column, batch in zip(
                RANGE_FILTERS, tables["projections.arrow"].to_batches(), strict=True
            )
        },
    )


def sort_order(index: TrackIndex, sort: str) -> np.ndarray:
    """Every row in one sort's order (ties by id)."""
    return index.orders[sort]


def sort_rank(index: TrackIndex, sort: str) -> np.ndarray:
    """Each row's position in one sort's order."""
    return index.ranks[sort]


def row_of(index: TrackIndex, track_id: str) -> int | None:
    """The row of a track id, or None."""
    key = track_id.encode()
    if len(key) != ID_WIDTH:
        return None
    row = int(np.searchsorted(index.ids, key))
    return row if row < len(index.ids) and index.ids[row] == key else None


class DamagedData(CuratedDatasetError):
    """Bytes of the served dataset changed after they were verified: never to be sent."""


def name_key(index: TrackIndex, row: int) -> str:
    """A row's name as the name sorts compare it (lowercased)."""
    data, offsets = index.name_keys
    return data[offsets[row] : offsets[row + 1]].tobytes().decode()


def artist_codes_of(index: TrackIndex, row: int) -> list[int]:
    """The artist name codes of a row's track, in the order its artists are written."""
    return index.credits[index.credit_start[row] : index.credit_stop[row]].tolist()


def track_texts(index: TrackIndex, rows: list[int]) -> list[str]:
    """The JSON text of each row's track, in order, each checked against its CRC-32."""
    batch = index.text_batch
    found = []
    for row in rows:
        at, i = divmod(row, batch)
        offsets = index.text_offsets[at]
        text = index.texts[at][offsets[i] : offsets[i + 1]].tobytes()
        if zlib.crc32(text) != index.text_crcs[at][i]:
            raise DamagedData(f"the JSON text of row {row} does not match its CRC-32")
        found.append(text.decode())
    return found


def genre_members(index: TrackIndex, genre: str) -> np.ndarray | None:
    """The rows of a genre's member tracks, ascending (None for an unknown genre)."""
    code = index.genre_codes.get(genre)
    if code is None:
        return None
    return index.genre_rows[index.genre_bounds[code] : index.genre_bounds[code + 1]]


def genre_values(index: TrackIndex, genre: str) -> dict[str, np.ndarray] | None:
    """A genre's members' values of every feature, sorted (None for an unknown genre)."""
    code = index.genre_codes.get(genre)
    if code is None:
        return None
    start, stop = index.genre_bounds[code], index.genre_bounds[code + 1]
    return {feature: index.genre_sorted[feature][start:stop] for feature in FEATURES}
