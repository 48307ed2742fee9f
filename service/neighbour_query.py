"""The parameters of /tracks/{id}/similar and /recommendations, parsed into a NeighbourQuery.

Both take every /tracks filter, the features of the space, a page (no sort: always nearest
first), a format, and issue 18's avoid_tracks, max_per_artist, cursor and fields;
recommendations also take seeds and targets. Never imports Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contract import RANGES, SIMILARITY_FEATURES, TRACK_ID_PATTERN
from service.cursor import CURSOR_PARAM, decode, refuse_with_offset
from service.filters import FILTER_PARAMS, GENRE_PARAM, given_filters
from service.params import EXAMPLE_TRACK, FORMAT_PARAM, PAGE_PARAMS, Param, parse
from service.projection import FIELDS_PARAM, chosen_fields
from service.variety import MAX_PER_ARTIST_PARAM

MAX_SEEDS = 5
FEATURES_PARAM = Param(
    "features",
    "string",
    "The features the distance is measured over, comma-separated (default: all nine of the "
    "space: " + ", ".join(SIMILARITY_FEATURES) + ").",
    choices=SIMILARITY_FEATURES,
    many=True,
    example=("energy", "valence", "acousticness"),
)
_PAGE = tuple(p for p in PAGE_PARAMS if p.name != "sort")  # always nearest first
SEED_PARAMS: tuple[Param, ...] = (
    Param(
        "seed_tracks",
        "string",
        f"Up to {MAX_SEEDS} track ids, comma-separated: the target point starts at their mean.",
        pattern=TRACK_ID_PATTERN,
        many=True,
        max_items=MAX_SEEDS,
        example=(EXAMPLE_TRACK,),
    ),
    Param(
        "seed_genres",
        "string",
        f"Up to {MAX_SEEDS} genre ids, comma-separated; a genre's point is the mean of its tracks'.",
        many=True,
        max_items=MAX_SEEDS,
        example=("ambient",),
    ),
)
TARGET_PARAMS: tuple[Param, ...] = tuple(
    Param(f"target_{f}", "number", f"The {f} to be near, in its own units.", *RANGES[f])
    for f in SIMILARITY_FEATURES
)
AVOID_PARAM = Param(
    "avoid_tracks",
    "string",
    f"Up to {MAX_SEEDS} track ids, comma-separated: negative seeds. A candidate nearer (in the "
    "same features) to any of them than to the point asked about is left out, and so are the "
    "avoided tracks and their other releases.",
    pattern=TRACK_ID_PATTERN,
    many=True,
    max_items=MAX_SEEDS,
    example=("4WfV1CNg91SBp8oG0VY0VB",),
)
# Issue 18's parameters come last, so the earlier ones keep their places in the OpenAPI document.
EXTRAS: tuple[Param, ...] = (AVOID_PARAM, MAX_PER_ARTIST_PARAM, CURSOR_PARAM, FIELDS_PARAM)
SIMILAR_PARAMS: tuple[Param, ...] = (
    GENRE_PARAM,
    *FILTER_PARAMS,
    FEATURES_PARAM,
    *_PAGE,
    FORMAT_PARAM,
    *EXTRAS,
)
RECOMMEND_PARAMS: tuple[Param, ...] = (
    *SEED_PARAMS,
    *TARGET_PARAMS,
    FEATURES_PARAM,
    GENRE_PARAM,
    *FILTER_PARAMS,
    *_PAGE,
    FORMAT_PARAM,
    *EXTRAS,
)


@dataclass(frozen=True)
class NeighbourQuery:
    """A parsed similar or recommendations request."""

    genre: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] | None = None  # None: not given
    seed_tracks: tuple[str, ...] = ()
    seed_genres: tuple[str, ...] = ()
    targets: Mapping[str, float] = field(default_factory=dict)  # feature -> value in its units
    limit: int = 20
    offset: int = 0
    format: str = "json"  # or a file: csv, ndjson (service/exports.py)
    avoid: tuple[str, ...] = ()
    max_per_artist: int | None = None
    after: tuple[int, str] | None = None  # a cursor's (distance in ticks, track id)
    fields: tuple[str, ...] | None = None


def neighbour_query(specs: tuple[Param, ...], query: Mapping[str, list[str]]) -> NeighbourQuery:
    """Parse a similar (SIMILAR_PARAMS) or recommendations (RECOMMEND_PARAMS) query."""
    values = parse(specs, query)
    refuse_with_offset(dict(query))
    filters = given_filters(values)
    return NeighbourQuery(
        genre=values["genre"],
        filters=filters,
        features=values["features"],
        seed_tracks=values.get("seed_tracks") or (),
        seed_genres=values.get("seed_genres") or (),
        targets={
            f: values[f"target_{f}"]
            for f in SIMILARITY_FEATURES
            if values.get(f"target_{f}") is not None
        },
        limit=values["limit"],
        offset=values["offset"],
        format=values["format"],
        avoid=values["avoid_tracks"] or (),
        max_per_artist=values["max_per_artist"],
        after=None if values["cursor"] is None else decode(values["cursor"], "distance"),
        fields=chosen_fields(values["fields"]),
    )
