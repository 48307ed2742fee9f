"""The track filters: one declarative table drives parsing, querying and the OpenAPI document.

Every track listing takes the same filters. Each entry of FILTERS declares its query parameters
(service.params.Param, which parse them and document them) and how it narrows the rows: a boolean
mask over the candidate rows (every track, or a genre's members). A filter that was not asked for
gives no mask. Ranges are inclusive; a list (key, mood, camelot) matches any of its values. The
range and value filters come from the field catalogue (contract/fields.py: `filter`); the text
search on artists, the harmonic match and the DJ's tempo match (bpm) are declared here. This
module never imports Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from contract import TRACK_ID_PATTERN
from contract.fields import CATEGORIES, FIELDS, RANGE_FILTERS, Field
from contract.music import harmonic_matches
from service.index import TrackIndex, row_of
from service.params import (
    EXAMPLE_TRACK,
    Param,
    ParamError,
    track_not_found,
)
from service.textsearch import contains_mask, contains_mask_of

Values = Mapping[str, Any]  # parsed query parameters, by name
LOOP_SEARCH_MAX = 3000  # below this many candidate rows a loop beats the byte search


class Filter(Protocol):
    """A filter: the query parameters it reads and the mask it makes of them."""

    @property
    def params(self) -> tuple[Param, ...]: ...

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        """Boolean mask over `rows` (every row if None), or None when the filter is not used."""
        ...


def _take(array: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return array if rows is None else array[rows]


@dataclass(frozen=True)
class Range:
    """min_<column> and max_<column>: inclusive bounds on a numeric field."""

    field: Field

    @property
    def params(self) -> tuple[Param, ...]:
        field = self.field
        low = field.minimum if field.minimum is not None else 0
        kind = "integer" if field.type == "integer" else "number"
        return tuple(
            Param(f"{end}_{field.name}", kind, f"{label} {field.what}, inclusive.", low,
                  field.maximum)
            for end, label in (("min", "Minimum"), ("max", "Maximum"))
        )  # fmt: skip

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        column_name = self.field.name
        low, high = values.get(f"min_{column_name}"), values.get(f"max_{column_name}")
        if low is None and high is None:
            return None
        column = _take(index.values[column_name], rows)
        if high is None:
            return column >= low
        return column <= high if low is None else (column >= low) & (column <= high)


@dataclass(frozen=True)
class Category:
    """<name>=<value> (or a comma-separated list of values, for an "any" filter): the field is
    one of the values."""

    field: Field

    @property
    def params(self) -> tuple[Param, ...]:
        field, many = self.field, self.field.filter == "any"
        kind = {"integer": "integer", "boolean": "boolean"}.get(field.type, "string")
        hint = "; a comma-separated list matches any of them." if many else ""
        enumerated = field.enum if field.enum and not field.pattern else ()
        return (
            Param(
                field.name,
                kind,
                field.description.removesuffix(".") + (hint or "."),
                field.minimum,
                field.maximum,
                choices=enumerated,
                pattern=field.pattern,
                many=many,
                expected=field.expected,
            ),
        )

    def allowed(self, index: TrackIndex, values: Values) -> tuple[str, list[int]] | None:
        """The field and the codes it may have, or None when the filter is not used."""
        name = self.field.name
        chosen = values.get(name)
        if chosen is None:
            return None
        wanted = chosen if self.field.filter == "any" else (chosen,)
        return name, [CATEGORIES[name].index(v) for v in wanted]

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        found = self.allowed(index, values)
        return None if found is None else code_mask(index, *found, rows)


def code_mask(
    index: TrackIndex, name: str, codes: list[int], rows: np.ndarray | None
) -> np.ndarray:
    """Rows whose code of a categorical field is one of `codes`."""
    column = _take(index.codes[name], rows)
    if len(codes) == 1:
        return column == codes[0]
    allowed = np.zeros(len(CATEGORIES[name]), dtype=bool)
    allowed[codes] = True
    return allowed[column]


@dataclass(frozen=True)
class Artist:
    """artist=<text>: the artists string contains the text, ignoring case."""

    params: tuple[Param, ...] = (
        Param("artist", "string", "Only tracks whose artists contain this text, ignoring case."),
    )

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        artist = values.get("artist")
        if artist is None:
            return None
        codes = index.artist_codes
        if rows is not None and len(rows) <= LOOP_SEARCH_MAX:
            return contains_mask_of(index.artists, artist, codes[rows])
        return contains_mask(index.artists, artist)[_take(codes, rows)]


@dataclass(frozen=True)
class Harmonic:
    """harmonic_to=<track id>: the Camelot code mixes harmonically with that track's."""

    params: tuple[Param, ...] = (
        Param(
            "harmonic_to",
            "string",
            "Only tracks whose Camelot code mixes harmonically with this track's: the same code, "
            "one step round the wheel with the same letter, or the same number with the other "
            "letter (the track itself matches too). Unknown track: 404.",
            pattern=TRACK_ID_PATTERN,
            example=EXAMPLE_TRACK,
        ),
    )

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        found = self.allowed(index, values)
        return None if found is None else code_mask(index, *found, rows)

    def allowed(self, index: TrackIndex, values: Values) -> tuple[str, list[int]] | None:
        """The Camelot codes that mix with the track's, or None when the filter is not used."""
        track_id = values.get("harmonic_to")
        if track_id is None:
            return None
        row = row_of(index, track_id)
        if row is None:
            raise track_not_found(track_id, " (harmonic_to)")
        code = CATEGORIES["camelot"][index.codes["camelot"][row]]
        if code is None:
            raise ParamError(
                f"'harmonic_to' track {track_id} has no detected key (key -1), so it has no "
                "Camelot code to match; choose a track with a key"
            )
        matches = harmonic_matches(str(code))
        return "camelot", [CATEGORIES["camelot"].index(c) for c in matches]


DEFAULT_BPM_TOLERANCE = 6.0  # per cent: what DJs call "within range" of a pitch fader
TEMPO_MULTIPLES = (0.5, 1.0, 2.0)  # half time, the tempo, double time


def within_tempo(tempo: np.ndarray, bpm: float, tolerance: float) -> np.ndarray:
    """Tempos within `tolerance` per cent of the BPM, of half of it or of double it:
    |tempo - x| <= x * tolerance / 100 for x in BPM / 2, BPM, 2 * BPM."""
    mask = np.zeros(len(tempo), dtype=bool)
    for multiple in TEMPO_MULTIPLES:
        target = bpm * multiple
        mask |= np.abs(tempo - target) <= target * tolerance / 100
    return mask


@dataclass(frozen=True)
class Tempo:
    """bpm=<BPM> or bpm_of=<track id>, with bpm_tolerance=<per cent>: the tempo is within the
    tolerance of the BPM, of half of it or of double it (Spotify's tempo is often off by
    exactly that factor). With harmonic_to, "mixable with"."""

    params: tuple[Param, ...] = (
        Param("bpm", "number", "Only tracks whose tempo is within bpm_tolerance of this BPM, "
              "of half of it or of double it.", 1.0, 250.0, example=94.5),
        Param("bpm_of", "string", "As bpm, with this track's tempo as the BPM (a track with "
              "tempo 0, no beat detected, is refused). Unknown track: 404.",
              pattern=TRACK_ID_PATTERN, example=EXAMPLE_TRACK),
        Param("bpm_tolerance", "number", "Per cent either side of the BPM (and of its half and "
              f"double) for bpm or bpm_of; default {DEFAULT_BPM_TOLERANCE:g}.", 0.0, 50.0),
    )  # fmt: skip

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        bpm, track_id = values.get("bpm"), values.get("bpm_of")
        tolerance = values.get("bpm_tolerance")
        if bpm is None and track_id is None:
            if tolerance is not None:
                raise ParamError("'bpm_tolerance' needs 'bpm' or 'bpm_of': give the BPM to be near")
            return None
        if bpm is not None and track_id is not None:
            raise ParamError("give 'bpm' or 'bpm_of', not both")
        target = bpm_of(index, track_id, "bpm_of") if track_id is not None else float(bpm or 0)
        chosen = DEFAULT_BPM_TOLERANCE if tolerance is None else tolerance
        return within_tempo(_take(index.values["tempo"], rows), target, chosen)


def bpm_of(index: TrackIndex, track_id: str, parameter: str) -> float:
    """A track's tempo as a BPM to match (404 if unknown, 400 if it has no beat)."""
    row = row_of(index, track_id)
    if row is None:
        raise track_not_found(track_id, f" ({parameter})")
    tempo = float(index.values["tempo"][row])
    if tempo <= 0:
        raise ParamError(
            f"'{parameter}' track {track_id} has tempo 0 (no beat was detected), so it has no "
            "BPM to match; choose a track with a beat, or give bpm"
        )
    return tempo


def _catalogue_filter(field: Field) -> Filter:
    return Range(field) if field.filter == "range" else Category(field)


FILTERS: tuple[Filter, ...] = (
    Artist(),
    *(_catalogue_filter(field) for field in FIELDS if field.filter),
    Harmonic(),
    Tempo(),
)
GENRE_PARAM = Param(
    "genre",
    "string",
    "Only tracks that belong to this genre id (any of their genres).",
    example="ambient",
)
FILTER_PARAMS: tuple[Param, ...] = tuple(p for f in FILTERS for p in f.params)


_FILTER_NAMES = frozenset(p.name for p in FILTER_PARAMS)


def given_filters(values: Values) -> Values:
    """The filters a parsed query gives (those not None), after refusing a min above its max."""
    _check_ranges(values)
    return {
        name: value for name, value in values.items() if name in _FILTER_NAMES and value is not None
    }


def _check_ranges(values: Values) -> None:
    """Refuse a min_<column> above its max_<column>."""
    for column in RANGE_FILTERS:
        low, high = values.get(f"min_{column}"), values.get(f"max_{column}")
        if low is not None and high is not None and low > high:
            raise ParamError(
                f"'min_{column}' ({low:g}) is greater than 'max_{column}' ({high:g}); "
                f"'min_{column}' must be at most 'max_{column}'"
            )


def filter_mask(index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
    """The rows (every row if None) that pass every filter given, or None if none is given."""
    mask: np.ndarray | None = None
    for entry in FILTERS:
        condition = entry.mask(index, values, rows)
        if condition is not None:
            mask = condition if mask is None else mask & condition
    return mask
