"""The track filters: one declarative table drives parsing, querying and the OpenAPI document.

Every track listing takes the same filters. Each entry of FILTERS declares its query parameters
(service.params.Param, which parse them and document them) and how it narrows the rows: a boolean
mask over the candidate rows (every track, or a genre's members). A filter that was not asked for
gives no mask. Ranges are inclusive; a list (key, mood, camelot) matches any of its values.
This module never imports Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from contract import CAMELOT_CODES, MOODS, RANGES, TRACK_ID_PATTERN
from contract.serving import CATEGORIES, NUMERIC_COLUMNS
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
CAMELOT_PATTERN = r"(?:[1-9]|1[0-2])[AB]"


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
    """min_<column> and max_<column>: inclusive bounds on a numeric column."""

    column: str
    what: str  # the column and its unit, for descriptions
    kind: str = "number"

    @property
    def params(self) -> tuple[Param, ...]:
        low, high = RANGES.get(self.column, (0, None))
        return tuple(
            Param(f"{end}_{self.column}", self.kind, f"{label} {self.what}, inclusive.", low, high)
            for end, label in (("min", "Minimum"), ("max", "Maximum"))
        )

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        low, high = values.get(f"min_{self.column}"), values.get(f"max_{self.column}")
        if low is None and high is None:
            return None
        column = _take(index.values[self.column], rows)
        if high is None:
            return column >= low
        return column <= high if low is None else (column >= low) & (column <= high)


@dataclass(frozen=True)
class Category:
    """<name>=<value> (or a comma-separated list when `many`): the field is one of the values."""

    name: str
    kind: str
    description: str
    many: bool = False
    choices: tuple[Any, ...] = ()
    pattern: str | None = None
    expected: str | None = None

    @property
    def params(self) -> tuple[Param, ...]:
        low, high = RANGES.get(self.name, (None, None))
        return (
            Param(
                self.name,
                self.kind,
                self.description,
                low,
                high,
                choices=self.choices,
                pattern=self.pattern,
                many=self.many,
                expected=self.expected,
            ),
        )

    def mask(self, index: TrackIndex, values: Values, rows: np.ndarray | None) -> np.ndarray | None:
        chosen = values.get(self.name)
        if chosen is None:
            return None
        wanted = chosen if self.many else (chosen,)
        return code_mask(index, self.name, [CATEGORIES[self.name].index(v) for v in wanted], rows)


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


def harmonic_matches(code: str) -> tuple[str, ...]:
    """The Camelot codes that mix harmonically with `code`, in wheel order: the code itself,
    one step either way round the wheel with the same letter, and the same number with the
    other letter (its relative major or minor)."""
    number, letter = int(code[:-1]), code[-1]
    other = "B" if letter == "A" else "A"
    near = {f"{number}{letter}", f"{number % 12 + 1}{letter}", f"{(number - 2) % 12 + 1}{letter}"}
    return tuple(c for c in CAMELOT_CODES if c in near | {f"{number}{other}"})


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
        return code_mask(index, "camelot", [CATEGORIES["camelot"].index(c) for c in matches], rows)


_RANGE_UNITS = {
    "tempo": "tempo in BPM",
    "loudness": "loudness in dB",
    "popularity": "popularity (0-100)",
    "duration_ms": "duration in milliseconds",
}
FILTERS: tuple[Filter, ...] = (
    Artist(),
    *(
        Range(column, _RANGE_UNITS.get(column, f"{column} (0-1)"), "number")
        if column not in ("popularity", "duration_ms")
        else Range(column, _RANGE_UNITS[column], "integer")
        for column in NUMERIC_COLUMNS
    ),
    Category(
        "key",
        "integer",
        "Musical key: 0=C, 1=C#, ... 11=B, -1=no key detected; a comma-separated list matches "
        "any of them.",
        many=True,
    ),
    Category("mode", "integer", "0 = minor, 1 = major."),
    Category("time_signature", "integer", "Estimated beats per bar (0-7; 0 and 1 occur)."),
    Category("explicit", "boolean", "true: only explicit tracks; false: only the others."),
    Category(
        "mood",
        "string",
        "Mood quadrant (valence x energy, split at 0.5): happy, tense, sad or calm; a "
        "comma-separated list matches any of them.",
        many=True,
        choices=MOODS,
    ),
    Category(
        "camelot",
        "string",
        "Camelot key code, 1A-12A (minor) or 1B-12B (major); a comma-separated list matches any "
        "of them.",
        many=True,
        pattern=CAMELOT_PATTERN,
        expected="a Camelot code: 1A-12A (minor) or 1B-12B (major)",
    ),
    Harmonic(),
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
    for column in NUMERIC_COLUMNS:
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
