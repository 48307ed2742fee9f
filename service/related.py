"""GET /artists/related: the artists whose tracks sit nearest to one artist's tracks.

The rule, exactly: for each of the artist's tracks, its RELATED_NEIGHBOURS nearest tracks in the
similarity space (all nine features; distances equal to 9 decimals are a tie, broken by id, as
/similar) among the tracks that do not credit the artist; every artist credited on those
tracks gets one vote per appearance; the related artists are ranked by votes, ties by name.
Counting who sits near the artist's tracks finds its neighbours in sound (Cigarettes After Sex:
Zero 7, Bonobo, Portishead) where the distance between artists' mean points found orchestras.

Each of the artist's tracks is one exact scan, as /similar's (service/similarity.py), so the
cost grows with the artist's track count: about 0.3 ms a track at 114 genres. Measuring a
batch of tracks with one matrix product was tried and was no faster (the scan is bound by
reading the keys, not by arithmetic). Never imports Flask.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from contract import SIMILARITY_FEATURES
from service.artists import ArtistIndex, artist_text, code_of
from service.index import TrackIndex
from service.params import DEFAULT_LIMIT, MAX_LIMIT, NotFoundError, Param
from service.similarity import FeatureSpace, first, point_of, ranking

RELATED_NEIGHBOURS = 20
RELATED_PARAMS: tuple[Param, ...] = (
    Param("name", "string", "The artist's exact name (one name of a track's ';'-separated "
          "artists, as /artists lists it).", required=True, example="Cigarettes After Sex"),
    Param("limit", "integer", "Related artists to send, most votes first.", 1, MAX_LIMIT,
          default=DEFAULT_LIMIT),
)  # fmt: skip


def related_artists(
    index: TrackIndex, space: FeatureSpace, artists: ArtistIndex, name: str, limit: int
) -> tuple[list[str], dict[str, Any]]:
    """The artists related to one (NotFoundError if unknown): their JSON objects with their
    votes, most votes first (ties by name), and the meta (the artist's object as JSON text)."""
    code = code_of(artists, name)
    if code is None:
        raise NotFoundError(f"Artist not found: '{name[:100]}' (see /api/v1/artists?q=…)")
    own = artists.tracks[artists.start[code] : artists.stop[code]]
    neighbours = nearest_others(space, own, RELATED_NEIGHBOURS)
    votes = _votes(index, neighbours, len(artists.start))
    voted = np.flatnonzero(votes)
    ranked = voted[np.lexsort((voted, -votes[voted]))]  # codes are in name order
    texts = [
        f'{artist_text(artists, c)[:-1]},"votes":{int(votes[c])}}}' for c in ranked[:limit].tolist()
    ]
    meta = {
        "artist": artist_text(artists, code),
        "neighbours_per_track": RELATED_NEIGHBOURS,
        "total": len(ranked),
        "limit": limit,
    }
    return texts, meta


def nearest_others(space: FeatureSpace, own: np.ndarray, k: int) -> np.ndarray:
    """For each row of `own`, its k nearest rows that are not in `own` (fewer if there are not
    so many), nearest first, ties by id, as /similar finds them: all one after another."""
    found = []
    for row in own.tolist():
        ranked = ranking(space, point_of(space, row, SIMILARITY_FEATURES), None, None, [])
        ranked.keys[own] = np.inf  # a fresh array: the artist's tracks are left out
        found.append(first(dataclasses.replace(ranked, total=ranked.total - len(own)), k)[0])
    return np.concatenate(found) if found else own[:0]


def _votes(index: TrackIndex, rows: np.ndarray, names: int) -> np.ndarray:
    """Each artist code's number of appearances among the tracks at `rows` (with repeats)."""
    starts, stops = index.credit_start[rows], index.credit_stop[rows]
    lengths = (stops - starts).astype(np.int64)
    positions = np.repeat(starts.astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    positions += np.arange(len(positions))
    return np.bincount(index.credits[positions], minlength=names)
