"""Artists: /artists (search by a fragment of a name, most tracks first) and /artists/related.

An artist is one name of a track's `;`-separated artists list (service/artist_tables.py, which
also precomputes each artist's JSON object: name, track count, genres, average features).

Related artists are counted in service/related.py. Never imports Flask.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from service import cursor
from service.arrow_files import numeric, text_buffers
from service.index import DamagedData
from service.params import PAGE_PARAMS, Param
from service.queries import ranked_slice
from service.textsearch import Haystack, contains_mask, haystack_of

ARTISTS_PARAMS: tuple[Param, ...] = (
    Param("q", "string", "Only artists whose name contains this text, ignoring case.",
          example="einaudi"),
    *(p for p in PAGE_PARAMS if p.name != "sort"),  # always most tracks first, ties by name
    cursor.CURSOR_PARAM,
)  # fmt: skip


@dataclass(frozen=True)
class ArtistIndex:
    """The artist tables a worker maps (service/artist_tables.py)."""

    names: tuple[np.ndarray, np.ndarray]  # the names' UTF-8 bytes and offsets, sorted: code order
    search: Haystack  # the names lowercased, for q
    start: np.ndarray  # code c's tracks: tracks[start[c]:stop[c]]
    stop: np.ndarray
    tracks: np.ndarray  # track rows grouped by code, ascending within a code
    order: np.ndarray  # codes, most tracks first, ties by name
    rank: np.ndarray  # each code's place in order
    texts: tuple[np.ndarray, np.ndarray]  # each artist's JSON object (bytes, offsets)
    text_crcs: np.ndarray  # each JSON object's CRC-32, checked whenever it is sent


def artist_index(tables: Mapping[str, pa.RecordBatch]) -> ArtistIndex:
    """The artist index over a version's mapped serving tables."""
    names = tables["names.arrow"]
    return ArtistIndex(
        names=text_buffers(names, "name"),
        search=haystack_of(*text_buffers(names, "lowered")),
        start=numeric(names, "start"),
        stop=numeric(names, "stop"),
        tracks=numeric(tables["name_tracks.arrow"], "row"),
        order=numeric(names, "order"),
        rank=numeric(names, "rank"),
        texts=text_buffers(names, "json"),
        text_crcs=numeric(names, "json_crc32"),
    )


def _text(buffers: tuple[np.ndarray, np.ndarray], code: int) -> str:
    data, offsets = buffers
    return data[offsets[code] : offsets[code + 1]].tobytes().decode()


def artist_text(artists: ArtistIndex, code: int) -> str:
    """An artist's JSON object, checked against its CRC-32 (as track texts are: bytes changed
    in the mapped file after it was verified are never sent)."""
    data, offsets = artists.texts
    text = data[offsets[code] : offsets[code + 1]].tobytes()
    if zlib.crc32(text) != artists.text_crcs[code]:
        raise DamagedData(f"the JSON text of artist {code} does not match its CRC-32")
    return text.decode()


def name_of(artists: ArtistIndex, code: int) -> str:
    """An artist's name."""
    return _text(artists.names, code)


def code_of(artists: ArtistIndex, name: str) -> int | None:
    """The code of an exact artist name, or None (names are sorted: a bisection)."""
    low, high = 0, len(artists.start)
    while low < high:
        middle = (low + high) // 2
        if name_of(artists, middle) < name:
            low = middle + 1
        else:
            high = middle
    return low if low < len(artists.start) and name_of(artists, low) == name else None


def track_count(artists: ArtistIndex, code: int) -> int:
    """How many tracks credit an artist."""
    return int(artists.stop[code] - artists.start[code])


@dataclass(frozen=True)
class ArtistPage:
    """One page of /artists: the artists' JSON texts, the match count, the page's place, and
    the cursor of the next page (None on the last)."""

    texts: list[str]
    total: int
    offset: int
    next_cursor: str | None


def list_artists(artists: ArtistIndex, values: Mapping[str, Any]) -> ArtistPage:
    """A page of the artists whose name contains `q` (all if None), most tracks first."""
    q, limit, skip = values["q"], values["limit"], values["offset"]
    start = 0
    if values["cursor"] is not None:
        (count, name), _ = cursor.decode(values["cursor"], "artists")
        start = _position_after(artists, count, name)
    needed = skip + limit + 1
    if q is None:
        codes, total, before = (
            artists.order[start + skip : start + needed],
            len(artists.order),
            start,
        )
    else:
        hits = np.flatnonzero(contains_mask(artists.search, q))
        later = artists.rank[hits] >= start
        total, before = len(hits), int(np.count_nonzero(~later))
        codes = ranked_slice(hits[later], artists.rank, skip, needed)
    page = codes[:limit].tolist()
    following = None
    if len(codes) > limit:
        last = page[-1]
        name = name_of(artists, last)
        following = cursor.encode("artists", [track_count(artists, last), name], name)
    return ArtistPage([artist_text(artists, c) for c in page], total, before + skip, following)


def _position_after(artists: ArtistIndex, count: int, name: str) -> int:
    """The place in the listing order of the first artist after (track count, name)."""
    code = code_of(artists, name)
    if code is not None and track_count(artists, code) == count:
        return int(artists.rank[code]) + 1
    low, high = 0, len(artists.order)
    while low < high:  # the order is by (-track count, name)
        middle = (low + high) // 2
        other = int(artists.order[middle])
        key = (-track_count(artists, other), name_of(artists, other))
        low, high = (middle + 1, high) if key <= (-count, name) else (low, middle)
    return low
