"""Variety: max_per_artist, the rule that thins a ranked list so no artist fills it.

Two tracks share an artist when their artist lists intersect (an artist is one name of the
`;`-separated list: service/artist_tables.py). Walking the list best-ranked first, a track is
kept when each of its artists is on fewer than N tracks kept so far; so no artist is on more
than N tracks of the result, and of two tracks that would break that, the better-ranked stays.
The rule reads the list from its first track, so a page's position counts kept tracks only.
Never imports Flask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from service.index import TrackIndex
from service.params import Param

MAX_PER_ARTIST = 100
MAX_PER_ARTIST_PARAM = Param(
    "max_per_artist",
    "integer",
    "Variety: at most this many tracks of the list share an artist (two tracks share one when "
    "their ';'-separated artist lists intersect); the best-ranked are kept. Positions (offset, "
    "cursor) count the tracks kept; meta.total counts the matches before thinning.",
    1,
    MAX_PER_ARTIST,
)


def varied(index: TrackIndex, blocks: Iterable[np.ndarray], per_artist: int) -> Iterator[int]:
    """The rows of the ranked blocks (best first) that the max_per_artist rule keeps."""
    counts: dict[int, int] = {}
    credits, starts, stops = index.credits, index.credit_start, index.credit_stop
    for block in blocks:
        for row in block.tolist():
            names = credits[starts[row] : stops[row]].tolist()
            if all(counts.get(name, 0) < per_artist for name in names):
                for name in names:
                    counts[name] = counts.get(name, 0) + 1
                yield row
