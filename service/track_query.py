"""A track listing's request: filters, facets, sort, page and format, parsed into a TrackQuery;
and a batch of ids.

/tracks and /genres/{genre}/tracks take the same parameters (the genre listing takes its genre
from the path); /tracks?ids=… is a batch and takes nothing else. Never imports Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract import TRACK_ID_PATTERN
from contract.fields import FACETS
from service import cursor
from service.filters import FILTER_PARAMS, GENRE_PARAM, given_filters
from service.params import EXAMPLE_TRACK, FORMAT_PARAM, PAGE_PARAMS, Param, ParamError, parse
from service.projection import FIELDS_PARAM, chosen_fields
from service.variety import MAX_PER_ARTIST_PARAM

MAX_BATCH = 100
FACETS_PARAM = Param(
    "facets",
    "string",
    "Comma-separated fields to count among all matching tracks (not just the page), returned "
    f"in meta.facets: {', '.join(FACETS)}.",
    choices=FACETS,
    many=True,
    example=("mood", "camelot"),
)
# Issue 18's parameters come last, so the earlier ones keep their places in the OpenAPI document.
LISTING_EXTRAS: tuple[Param, ...] = (cursor.CURSOR_PARAM, FIELDS_PARAM, MAX_PER_ARTIST_PARAM)
TRACKS_PARAMS: tuple[Param, ...] = (
    GENRE_PARAM,
    *FILTER_PARAMS,
    FACETS_PARAM,
    *PAGE_PARAMS,
    FORMAT_PARAM,
    *LISTING_EXTRAS,
)
GENRE_TRACKS_PARAMS: tuple[Param, ...] = (
    *FILTER_PARAMS,
    FACETS_PARAM,
    *PAGE_PARAMS,
    FORMAT_PARAM,
    *LISTING_EXTRAS,
)
IDS_PARAM = Param(
    "ids",
    "string",
    f"A batch: 1-{MAX_BATCH} comma-separated track ids, answered in the order asked (null for "
    "an id not in the dataset); no other parameter may be given with it.",
    pattern=TRACK_ID_PATTERN,
    many=True,
    max_items=MAX_BATCH,
    distinct=False,
    example=(EXAMPLE_TRACK, "3FVy3aVs0TFzLv6FEiLqC2"),
)


@dataclass(frozen=True)
class TrackQuery:
    """A parsed track listing: its genre (from the path or the filter), filters, facets, page."""

    genre: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)  # only the filters given
    facets: tuple[str, ...] = ()
    sort: str = "popularity"
    limit: int = 20
    offset: int = 0
    format: str = "json"
    after: tuple[Any, str] | None = None  # a cursor's (sort key, track id)
    fields: tuple[str, ...] | None = None  # None: every field
    max_per_artist: int | None = None


def track_query(query: Mapping[str, list[str]], genre: str | None = None) -> TrackQuery:
    """Parse /tracks (or, given a path genre, /genres/<genre>/tracks) into a TrackQuery."""
    values = parse(TRACKS_PARAMS if genre is None else GENRE_TRACKS_PARAMS, query)
    cursor.refuse_with_offset(dict(query))
    filters = given_filters(values)
    if values["facets"] and values["format"] != "json":
        raise ParamError(
            f"'facets' cannot be combined with format={values['format']}: facet counts are "
            "only in the JSON meta; leave out facets or ask for format=json"
        )
    return TrackQuery(
        genre=genre if genre is not None else values["genre"],
        filters=filters,
        facets=values["facets"] or (),
        sort=values["sort"],
        limit=values["limit"],
        offset=values["offset"],
        format=values["format"],
        after=None if values["cursor"] is None else cursor.decode(values["cursor"], values["sort"]),
        fields=chosen_fields(values["fields"]),
        max_per_artist=values["max_per_artist"],
    )


def batch_ids(query: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The ids of a batch request (`ids` alone), or ParamError."""
    others = sorted(name for name in query if name != "ids")
    if others:
        raise ParamError(
            f"'ids' cannot be combined with other parameters, got {', '.join(others)}; "
            "ask for a batch with ids alone"
        )
    ids: tuple[str, ...] = parse((IDS_PARAM,), query)["ids"]
    return ids
