"""GET /mix: a path of `length` tracks from one track to another that a DJ could play in order.

The rule, so anyone can recompute it (docs/api.md, "A mix path"): let P_from and P_to be the two
tracks' points in the similarity space (all nine features). Step 0 is `from`, step length - 1
is `to`. Step i in between aims at P_from + (P_to - P_from) * i / (length - 1) and takes, among
the tracks that pass every /tracks filter given, the nearest to its aim (distances equal to 9
decimals are a tie, broken by id) that
  - is not a track of the path already, nor another release of one (same name and artists),
    `to` included;
  - mixes harmonically with the track before it (the harmonic_to rule on Camelot codes);
  - has a tempo within 6 % of the BPM of the track before it, of its half or of its double
    (the bpm rule), a track with tempo 0 having no BPM to match;
and step length - 2 must also be such a track before `to`. When no track fits a step, the
answer is a 422 naming the step and why. Never imports Flask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract import SIMILARITY_FEATURES, TRACK_ID_PATTERN
from contract.fields import CATEGORIES
from contract.music import harmonic_matches
from service.filters import (
    DEFAULT_BPM_TOLERANCE,
    FILTER_PARAMS,
    GENRE_PARAM,
    TEMPO_MULTIPLES,
    filter_mask,
    given_filters,
    within_tempo,
)
from service.index import TrackIndex, row_of, sort_order, track_texts
from service.params import EXAMPLE_TRACK, Param, UnprocessableError, parse, track_not_found
from service.queries import genre_candidates
from service.similarity import FeatureSpace, in_units, ranking
from service.similarity import first as closest

MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 3, 30, 10
MIX_PARAMS: tuple[Param, ...] = (
    Param("from", "string", "The track the path starts with.", required=True,
          pattern=TRACK_ID_PATTERN, example=EXAMPLE_TRACK),
    Param("to", "string", "The track the path ends with.", required=True,
          pattern=TRACK_ID_PATTERN, example="1SBu6rtv2LOFsG1ABZ5Cwt"),
    Param("length", "integer", "Tracks in the path, from and to included.", MIN_LENGTH,
          MAX_LENGTH, default=DEFAULT_LENGTH),
    GENRE_PARAM,
    *FILTER_PARAMS,
)  # fmt: skip
TEMPO_WORDS = {0.5: "half time", 1.0: "same tempo", 2.0: "double time"}


@dataclass(frozen=True)
class MixQuery:
    """A parsed /mix request."""

    start: str
    end: str
    length: int = DEFAULT_LENGTH
    genre: str | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)


def mix_query(query: Mapping[str, list[str]]) -> MixQuery:
    """Parse /mix: from, to, length and every /tracks filter."""
    values = parse(MIX_PARAMS, query)
    filters = given_filters(values)
    return MixQuery(values["from"], values["to"], values["length"], values["genre"], filters)


def mix_path(index: TrackIndex, space: FeatureSpace, query: MixQuery) -> dict[str, Any]:
    """The path's steps and its meta (NotFoundError for an unknown track, UnprocessableError
    when no track fits a step)."""
    start, end = _row(index, query.start, "from"), _row(index, query.end, "to")
    candidates = genre_candidates(index, query.genre)
    mask = filter_mask(index, query.filters, candidates)
    allowed: np.ndarray | None = None  # None: every track passes
    if candidates is not None or mask is not None:
        allowed = np.zeros(len(index.ids), dtype=bool)
        if candidates is None:
            allowed[:] = mask
        else:
            allowed[candidates if mask is None else candidates[mask]] = True
    first, last = (
        np.array([space.columns[f][r] for f in SIMILARITY_FEATURES]) for r in (start, end)
    )
    tempos = Tempos(index)
    used = (space.recording == space.recording[start]) | (space.recording == space.recording[end])
    path, distances = [start], [0.0]
    for step in range(1, query.length - 1):
        rows = _following(index, tempos, path[-1])
        if allowed is not None:
            rows = rows[allowed[rows]]
        rows = rows[~used[rows]]
        if step == query.length - 2:
            rows = rows[_before(index, end, rows)]
        if len(rows) == 0:
            raise _no_track(index, query, step, path[-1], end, allowed, used)
        aim = first + (last - first) * step / (query.length - 1)
        point = dict(zip(SIMILARITY_FEATURES, aim.tolist(), strict=True))
        # the nearest to the aim, exactly (ties by id), as /similar finds its first track
        nearest, distance = closest(ranking(space, point, np.sort(rows), None, []), 1)
        path.append(int(nearest[0]))
        distances.append(float(distance[0]))
        used |= space.recording == space.recording[nearest[0]]
    path.append(end)
    distances.append(0.0)
    return _payload(index, space, query, path, distances, first, last)


class Tempos:
    """The tracks in tempo order, so the tracks near a BPM are a slice (found by bisection)."""

    def __init__(self, index: TrackIndex) -> None:
        self.values = index.values["tempo"]
        self.order = sort_order(index, "tempo_asc")
        self.sorted = self.values[self.order]

    def near(self, bpm: float) -> np.ndarray:
        """The rows within the tolerance of the BPM, of its half or of its double (exactly the
        rule of service/filters.py: a slice a little wider, then the rule itself)."""
        found = []
        for multiple in TEMPO_MULTIPLES:
            target = bpm * multiple
            reach = target * DEFAULT_BPM_TOLERANCE / 100
            low = np.searchsorted(self.sorted, (target - reach) * (1 - 1e-9), "left")
            high = np.searchsorted(self.sorted, (target + reach) * (1 + 1e-9), "right")
            rows = self.order[low:high]
            found.append(rows[np.abs(self.values[rows] - target) <= reach])
        return np.concatenate(found)


def _row(index: TrackIndex, track_id: str, parameter: str) -> int:
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id, f" ({parameter})")
    return row


def _camelot(index: TrackIndex, row: int) -> str | None:
    code = CATEGORIES["camelot"][index.codes["camelot"][row]]
    return None if code is None else str(code)


def _harmonic(code: str) -> np.ndarray:
    """Which camelot codes (by position in the field's values) mix with `code`."""
    table = np.zeros(len(CATEGORIES["camelot"]), dtype=bool)
    table[[CATEGORIES["camelot"].index(c) for c in harmonic_matches(code)]] = True
    return table


def _following(index: TrackIndex, tempos: Tempos, before: int) -> np.ndarray:
    """The rows that may follow `before`: in tempo and harmonically (none if it has no key or
    no beat)."""
    code, tempo = _camelot(index, before), float(index.values["tempo"][before])
    if code is None or tempo <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = tempos.near(tempo)
    return rows[_harmonic(code)[index.codes["camelot"][rows]]]


def _before(index: TrackIndex, after: int, rows: np.ndarray) -> np.ndarray:
    """Mask over rows: the tracks `after` may follow (it mixes with them, and its tempo is
    within the tolerance of theirs, of their half or of their double)."""
    code = _camelot(index, after)
    if code is None:
        return np.zeros(len(rows), dtype=bool)
    target, bpms = float(index.values["tempo"][after]), index.values["tempo"][rows]
    fits = np.zeros(len(rows), dtype=bool)
    for multiple in TEMPO_MULTIPLES:
        bpm = bpms * multiple
        fits |= np.abs(target - bpm) <= bpm * DEFAULT_BPM_TOLERANCE / 100
    return fits & (bpms > 0) & _harmonic(code)[index.codes["camelot"][rows]]


def _no_track(
    index: TrackIndex,
    query: MixQuery,
    step: int,
    before: int,
    end: int,
    allowed: np.ndarray | None,
    used: np.ndarray,
) -> UnprocessableError:
    """The 422 of a step no track fits, with the counts that say why."""
    code, tempo = _camelot(index, before), float(index.values["tempo"][before])
    name = _brief(index, before)["name"]
    if code is None or tempo <= 0:
        lacks = "no key" if code is None else "tempo 0 (no beat)"
        why = f"the track before it, '{name}', has {lacks}, so no track can follow it"
    else:
        left = ~used & (True if allowed is None else allowed)
        harmonic = left & _harmonic(code)[index.codes["camelot"]]
        both = harmonic & within_tempo(index.values["tempo"], tempo, DEFAULT_BPM_TOLERANCE)
        why = (
            f"of the {int(left.sum()):,} tracks left (filters passed, not in the path yet), "
            f"{int(harmonic.sum()):,} mix harmonically with '{name}' ({code}: "
            f"{', '.join(harmonic_matches(code))}) and {int(both.sum()):,} of those are within "
            f"{DEFAULT_BPM_TOLERANCE:g} % of {tempo:g} BPM, its half or its double"
        )
        if step == query.length - 2:
            last = _brief(index, end)["name"]
            why += f", and none of those can go before the last track, '{last}'"
    return UnprocessableError(
        f"no track fits step {step} of the path (0 is 'from', {query.length - 1} is 'to'): "
        f"{why}; try another length, fewer filters, or other tracks"
    )


def _brief(index: TrackIndex, row: int) -> dict[str, Any]:
    track = json.loads(track_texts(index, [row])[0])
    return {key: track[key] for key in ("id", "name", "artists")}


def _payload(
    index: TrackIndex,
    space: FeatureSpace,
    query: MixQuery,
    path: list[int],
    distances: list[float],
    first: np.ndarray,
    last: np.ndarray,
) -> dict[str, Any]:
    texts = track_texts(index, path)
    steps = []
    for step, (row, text) in enumerate(zip(path, texts, strict=True)):
        aim = first + (last - first) * step / (query.length - 1)
        point = dict(zip(SIMILARITY_FEATURES, aim.tolist(), strict=True))
        steps.append(
            {
                "step": step,
                "track": json.loads(text),
                "aim": in_units(space, point),
                "distance": round(distances[step], 4),
                **_why(index, path[step - 1] if step else None, row),
            }
        )
    meta = {
        "from": _brief(index, path[0]),
        "to": _brief(index, path[-1]),
        "length": query.length,
        "features": list(SIMILARITY_FEATURES),
        "bpm_tolerance": DEFAULT_BPM_TOLERANCE,
    }
    return {"data": steps, "meta": meta}


def _why(index: TrackIndex, before: int | None, row: int) -> dict[str, Any]:
    """Why a step follows the one before: its key and its tempo (null for the first)."""
    if before is None:
        return {"key": None, "tempo": None}
    was, now = _camelot(index, before), _camelot(index, row)
    was_tempo, now_tempo = (float(index.values["tempo"][r]) for r in (before, row))
    multiple = next(
        (m for m in TEMPO_MULTIPLES
         if abs(now_tempo - was_tempo * m) <= was_tempo * m * DEFAULT_BPM_TOLERANCE / 100),
        None,
    )  # fmt: skip
    tempo: dict[str, Any] = {
        "from": was_tempo,
        "to": now_tempo,
        "relation": None,
        "change_percent": None,
    }
    if multiple is not None:
        target = was_tempo * multiple
        tempo |= {"relation": TEMPO_WORDS[multiple],
                  "change_percent": round(100 * (now_tempo - target) / target, 2)}  # fmt: skip
    return {"key": {"from": was, "to": now, "relation": key_relation(was, now)}, "tempo": tempo}


def key_relation(was: str | None, now: str | None) -> str | None:
    """How one Camelot code moves to the next, in a DJ's words (None if they do not mix)."""
    if was is None or now is None or now not in harmonic_matches(was):
        return None
    if was == now:
        return "same key"
    if was[-1] != now[-1]:
        return "relative major" if now.endswith("B") else "relative minor"
    up = int(was[:-1]) % 12 + 1 == int(now[:-1])
    return "one step up the wheel (+1)" if up else "one step down the wheel (-1)"
