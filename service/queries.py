"""Track queries over the in-memory index: listings with filters, facets and pages; lookups by id.

Listings never sort the catalogue per request: every sort key has a precomputed row order (ties
by id ascending) and each row's rank in it. A request builds a boolean mask of the matching rows,
then either scans the sort order until the page is full (when matches are common) or ranks just
the matching rows (when they are few, or the page is deep). A cursor (service/cursor.py) names a
place in the order, found from its (key, id) by the row's rank, or by bisection when a new
version moved or dropped that track; the page starts there, so it costs what a first page
costs. Every page reads one row more than it sends, to know whether there is a next page.
Tracks come back as their JSON text, so views never re-serialise them. Never imports Flask.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.fields import CATEGORIES, SORTS
from service import cursor
from service.filters import filter_mask
from service.index import (
    TrackIndex,
    genre_members,
    name_key,
    row_of,
    sort_order,
    sort_rank,
    track_texts,
)
from service.params import genre_not_found, track_not_found
from service.projection import projected
from service.projections import facet_counts as projected_facets
from service.projections import (
    matches,
    uses_projections,
    walk_budget,
    walk_hits,
    worth_scanning,
)
from service.serving import ID_WIDTH
from service.track_query import TrackQuery
from service.variety import varied

Facets = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Listing:
    """One page of a listing: the tracks' JSON texts, the match count, facet counts, the page's
    place among the matches and the cursor of the next page (None on the last)."""

    texts: list[str]
    total: int
    facets: Facets | None = None
    offset: int = 0
    next_cursor: str | None = None


def list_tracks(index: TrackIndex, query: TrackQuery) -> Listing:
    """One page of the tracks matching a query, how many match, and the facets asked for."""
    candidates = genre_candidates(index, query.genre)
    found = None
    if uses_projections(index, query.genre, query.filters):  # millions of tracks
        found = matches(index, query.filters)
        candidates, mask = found.rows, None
    else:
        mask = filter_mask(index, query.filters, candidates)
    start = 0 if query.after is None else position_after(index, query.sort, *query.after)
    if query.max_per_artist is None:
        rows, total, before = page_rows(index, query, candidates, mask, start, found is not None)
    else:
        rows, total, before = varied_page(index, query, candidates, mask, start)
    facets = None
    if query.facets and found is not None:
        facets = projected_facets(index, tuple(f for f in query.facets if f != "genre"), found)
        if "genre" in query.facets:
            facets |= facet_counts(index, ("genre",), candidates, None)
        facets = {name: facets[name] for name in query.facets}
    elif query.facets:
        facets = facet_counts(index, query.facets, candidates, mask)
    page = rows[: query.limit].tolist()
    following = None
    if len(rows) > query.limit:
        following = cursor.encode(
            query.sort, sort_key(index, query.sort, page[-1]), _id(index, page[-1])
        )
    texts = projected(track_texts(index, page), query.fields)
    return Listing(texts, total, facets, before, following)


def _id(index: TrackIndex, row: int) -> str:
    return bytes(index.ids[row]).decode()


def sort_key(index: TrackIndex, sort: str, row: int) -> Any:
    """A row's key in a sort: its value of the sort's column (the lowercased name for name)."""
    column = SORTS[sort][0]
    return name_key(index, row) if column == "name" else index.values[column][row].item()


def position_after(index: TrackIndex, sort: str, key: Any, track_id: str) -> int:
    """The place in a sort's order of the first row that comes after (key, track id)."""
    row = row_of(index, track_id)
    if row is not None and sort_key(index, sort, row) == key:  # the track is there, unmoved
        return int(sort_rank(index, sort)[row]) + 1
    order, descending = sort_order(index, sort), SORTS[sort][1]
    ident = track_id.encode()
    low, high = 0, len(order)
    while low < high:  # bisection: the order is sorted by (key, id), so it is monotone
        middle = (low + high) // 2
        row = int(order[middle])
        value = sort_key(index, sort, row)
        if value == key:
            at_or_before = bytes(index.ids[row]) <= ident
        else:
            at_or_before = value > key if descending else value < key
        low, high = (middle + 1, high) if at_or_before else (low, middle)
    return low


def genre_candidates(index: TrackIndex, genre: str | None) -> np.ndarray | None:
    """A genre's member rows (None: every row, when no genre is given); NotFoundError if unknown."""
    if genre is None:
        return None
    members = genre_members(index, genre)
    if members is None:
        raise genre_not_found(genre)
    return members


def matching_rows(index: TrackIndex, query: TrackQuery) -> np.ndarray:
    """Every row matching the query's genre and filters, in its sort order (no page)."""
    candidates = genre_candidates(index, query.genre)
    mask = filter_mask(index, query.filters, candidates)
    order = sort_order(index, query.sort)
    if candidates is not None:
        selected = np.zeros(len(order), dtype=bool)
        selected[candidates if mask is None else candidates[mask]] = True
    elif mask is not None:
        selected = mask
    else:
        return order
    return order[selected[order]]


def page_rows(
    index: TrackIndex,
    query: TrackQuery,
    candidates: np.ndarray | None,
    mask: np.ndarray | None,
    start: int = 0,
    matched: bool = False,
) -> tuple[np.ndarray, int, int]:
    """The rows of the page in sort order and one more (if there is one), the number of
    matches, and the number of matches before the page. The page begins `offset` matches after
    place `start` of the sort's order. `matched`: the candidates are every match of the
    query's filters (service/projections.py), so a walk of the order may find the page."""
    skip, needed = query.offset, query.offset + query.limit + 1
    order, rank = sort_order(index, query.sort), sort_rank(index, query.sort)
    if matched and candidates is not None and not start:
        total = len(candidates)
        if worth_scanning(index, query.filters, total, needed):
            budget = walk_budget(query.filters, total)
            walked = walk_hits(index, query.filters, order, needed, budget)
            if walked is not None:  # else the matches lie deep in the order: ranked below
                return walked[skip:needed], total, skip
    if candidates is None:
        if mask is None:
            return order[start + skip : start + needed], len(order), start + skip
        total = int(np.count_nonzero(mask))
        later = total * (len(order) - start) // max(len(order), 1)  # matches after start, about
        if 4 * needed <= later:  # common matches: the page is near the start of the scan
            before = int(np.count_nonzero(mask & (rank < start))) if start else 0
            return first_hits(mask, order[start:], needed)[skip:needed], total, before + skip
        hits = np.flatnonzero(mask)
    else:
        hits = candidates if mask is None else candidates[mask]
    total, before = len(hits), 0
    if start:
        after = rank[hits] >= start
        hits = hits[after]
        before = total - len(hits)
    return ranked_slice(hits, rank, skip, needed), total, before + skip


def ranked_matches(
    index: TrackIndex, sort: str, candidates: np.ndarray | None, mask: np.ndarray | None
) -> Iterator[np.ndarray]:
    """Every matching row in the sort's order, in blocks (doubling, so a short walk is short)."""
    order, rank = sort_order(index, sort), sort_rank(index, sort)
    if candidates is not None:
        hits = candidates if mask is None else candidates[mask]
        yield hits[np.argsort(rank[hits])]
        return
    begin, size = 0, 1024
    while begin < len(order):
        block = order[begin : begin + size]
        yield block if mask is None else block[mask[block]]
        begin, size = begin + size, size * 2


def varied_page(
    index: TrackIndex,
    query: TrackQuery,
    candidates: np.ndarray | None,
    mask: np.ndarray | None,
    start: int,
) -> tuple[np.ndarray, int, int]:
    """page_rows under max_per_artist: the walk starts at the first match, whatever the page
    (service/variety.py), so a deep page costs the walk to it."""
    total = len(candidates) if candidates is not None else len(sort_order(index, query.sort))
    if mask is not None:
        total = int(np.count_nonzero(mask))
    per_artist = query.max_per_artist or 1
    kept: Iterator[int] = varied(
        index, ranked_matches(index, query.sort, candidates, mask), per_artist
    )
    before = 0
    if start:  # the kept rows before the cursor's place count, and are not sent
        rank = sort_rank(index, query.sort)
        for row in kept:
            if rank[row] >= start:
                kept = itertools.chain([row], kept)
                break
            before += 1
    rows = list(itertools.islice(kept, query.offset, query.offset + query.limit + 1))
    return np.array(rows, dtype=np.int64), total, before + query.offset


def first_hits(mask: np.ndarray, order: np.ndarray, needed: int) -> np.ndarray:
    """The first `needed` rows of `order` whose mask (in row order) is set, or all of them.

    Scans the order in doubling blocks, so a shallow page of a broad filter reads a few
    thousand rows instead of gathering the mask for every row.
    """
    found: list[np.ndarray] = []
    count, start, size = 0, 0, 1024
    while count < needed and start < len(order):
        block = order[start : start + size]
        hits = block[mask[block]]
        found.append(hits)
        count += len(hits)
        start, size = start + size, size * 2
    return np.concatenate(found) if found else order[:0]


def ranked_slice(rows: np.ndarray, rank: np.ndarray, start: int, stop: int) -> np.ndarray:
    """rows[start:stop] in the order of their rank (ranks are distinct: no ties to break)."""
    if start >= len(rows):
        return rows[:0]
    keys = rank[rows]
    if stop < len(rows):
        nearest = np.argpartition(keys, stop - 1)[:stop]
        rows, keys = rows[nearest], keys[nearest]
    return rows[np.argsort(keys)][start:stop]


def facet_counts(
    index: TrackIndex,
    fields: tuple[str, ...],
    candidates: np.ndarray | None,
    mask: np.ndarray | None,
) -> Facets:
    """For each field, every value with its count among all matching tracks, in value order.

    Counts of a one-valued field sum to the total; `genre` counts memberships, so a track in
    two genres counts in both.
    """
    selected = candidates if mask is None else (np.flatnonzero(mask) if candidates is None
                                                else candidates[mask])  # fmt: skip
    facets: Facets = {}
    for name in fields:
        if name == "genre":
            counts = _genre_counts(index, selected)
            values: tuple[Any, ...] = index.genre_ids
        else:
            codes = index.codes[name] if selected is None else index.codes[name][selected]
            values = CATEGORIES[name]
            counts = np.bincount(codes, minlength=len(values))
        facets[name] = [
            {"value": value, "count": int(count)}
            for value, count in zip(values, counts.tolist(), strict=True)
        ]
    return facets


def _genre_counts(index: TrackIndex, selected: np.ndarray | None) -> np.ndarray:
    """Each genre's number of members among the selected rows (every row if None)."""
    if selected is None:
        return np.diff(index.genre_bounds)
    chosen = np.zeros(len(index.ids), dtype=bool)
    chosen[selected] = True
    running = np.concatenate(([0], np.cumsum(chosen[index.genre_rows])))
    return running[index.genre_bounds[1:]] - running[index.genre_bounds[:-1]]


def tracks_by_ids(index: TrackIndex, ids: tuple[str, ...]) -> tuple[list[str | None], int]:
    """Each id's track JSON text in the order asked (None where unknown), and how many exist."""
    keys = np.array([track_id.encode() for track_id in ids], dtype=f"S{ID_WIDTH}")
    places = np.minimum(np.searchsorted(index.ids, keys), len(index.ids) - 1)
    found = index.ids[places] == keys
    texts = iter(track_texts(index, places[found].tolist()))
    return [next(texts) if hit else None for hit in found.tolist()], int(found.sum())


def track_by_id(index: TrackIndex, track_id: str) -> str:
    """One track's JSON text, or NotFoundError."""
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id)
    return track_texts(index, [row])[0]
