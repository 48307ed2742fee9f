"""Explicit parsing of every query parameter: a typed value, or a ParamError naming what is allowed.

Each endpoint declares its parameters as a tuple of `Param`. Parsing rejects unknown and repeated
parameters, wrong types, values out of range and unknown choices; it never falls back to a default
on bad input. The same declarations generate the OpenAPI parameter list, so docs and checks agree.
This module never imports Flask: it takes the query as (name, values) pairs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract import RANGES, TRACK_ID_PATTERN


class ParamError(ValueError):
    """A query parameter is missing, repeated, unknown or invalid; the message says what is allowed."""


@dataclass(frozen=True)
class Param:
    """One query parameter: its type, bounds or choices, default and description."""

    name: str
    kind: str  # "string", "integer" or "number"
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    pattern: str | None = None


@dataclass(frozen=True)
class TrackQuery:
    """Filters, sort and page of a track listing; None means "no filter"."""

    genre: str | None = None
    artist: str | None = None
    min_energy: float | None = None
    max_energy: float | None = None
    min_tempo: float | None = None
    max_tempo: float | None = None
    key: int | None = None
    mode: int | None = None
    sort: str = "popularity"
    limit: int = 20
    offset: int = 0


# Sort keys: name -> (column, descending). Ties are always broken by track id ascending.
SORTS: dict[str, tuple[str, bool]] = {
    "popularity": ("popularity", True),
    "energy": ("energy", True),
    "energy_asc": ("energy", False),
    "tempo": ("tempo", True),
    "tempo_asc": ("tempo", False),
    "valence": ("valence", True),
    "name": ("name", False),
}
MAX_LIMIT = 100
DEFAULT_LIMIT = 20

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

_SORT_TEXT = (
    "Sort order; ties are broken by track id ascending. popularity, energy, tempo and valence "
    "sort highest first, energy_asc and tempo_asc lowest first, name A-Z ignoring case."
)
PAGE_PARAMS: tuple[Param, ...] = (
    Param("sort", "string", _SORT_TEXT, choices=tuple(SORTS), default="popularity"),
    Param("limit", "integer", "Tracks per page.", 1, MAX_LIMIT, default=DEFAULT_LIMIT),
    Param("offset", "integer", "Number of matching tracks to skip.", 0, None, default=0),
)
TRACK_FILTER_PARAMS: tuple[Param, ...] = (
    Param("genre", "string", "Only tracks that belong to this genre id (any of their genres)."),
    Param("artist", "string", "Only tracks whose artists contain this text, ignoring case."),
    Param("min_energy", "number", "Minimum energy, inclusive.", *RANGES["energy"]),
    Param("max_energy", "number", "Maximum energy, inclusive.", *RANGES["energy"]),
    Param("min_tempo", "number", "Minimum tempo in BPM, inclusive.", *RANGES["tempo"]),
    Param("max_tempo", "number", "Maximum tempo in BPM, inclusive.", *RANGES["tempo"]),
    Param(
        "key", "integer", "Musical key: 0=C, 1=C#, ... 11=B, -1=no key detected.", *RANGES["key"]
    ),
    Param("mode", "integer", "0 = minor, 1 = major.", *RANGES["mode"]),
)
TRACKS_PARAMS = TRACK_FILTER_PARAMS + PAGE_PARAMS
GENRE_TRACKS_PARAMS = PAGE_PARAMS
COMPARE_PARAMS: tuple[Param, ...] = (
    Param("track_id", "string", "Spotify track id.", required=True, pattern=TRACK_ID_PATTERN),
    Param("genre", "string", "Genre id to compare against.", required=True),
)
NO_PARAMS: tuple[Param, ...] = ()


def parse(specs: tuple[Param, ...], query: Mapping[str, list[str]]) -> dict[str, Any]:
    """Parse a query (name -> list of values) against specs; absent optional ones get defaults."""
    by_name = {spec.name: spec for spec in specs}
    for name, values in query.items():
        if name not in by_name:
            allowed = ", ".join(by_name) if by_name else "none"
            raise ParamError(f"unknown query parameter '{name}'; allowed parameters: {allowed}")
        if len(values) != 1:
            raise ParamError(f"query parameter '{name}' is given {len(values)} times; give it once")
    parsed: dict[str, Any] = {}
    for spec in specs:
        if spec.name in query:
            parsed[spec.name] = parse_value(spec, query[spec.name][0])
        elif spec.required:
            raise ParamError(f"query parameter '{spec.name}' is required: {spec.description}")
        else:
            parsed[spec.name] = spec.default
    return parsed


def parse_value(spec: Param, text: str) -> Any:
    """Convert one raw value according to its spec, or raise ParamError."""
    if text == "":
        raise ParamError(f"'{spec.name}' must not be empty; {describe(spec)}")
    value: Any
    if spec.kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise ParamError(f"'{spec.name}' must be an integer, got '{text}'; {describe(spec)}")
        value = int(text)
    elif spec.kind == "number":
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            raise ParamError(f"'{spec.name}' must be a number, got '{text}'; {describe(spec)}")
        value = float(text)
    else:
        value = text
    _check_value(spec, value, text)
    return value


def _check_value(spec: Param, value: Any, text: str) -> None:
    too_low = spec.minimum is not None and value < spec.minimum
    too_high = spec.maximum is not None and value > spec.maximum
    if too_low or too_high:
        raise ParamError(f"'{spec.name}' is out of range, got {text}; {describe(spec)}")
    if spec.choices and value not in spec.choices:
        raise ParamError(f"'{spec.name}' is not a known value, got '{text}'; {describe(spec)}")
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        raise ParamError(f"'{spec.name}' is malformed, got '{text}'; {describe(spec)}")


def describe(spec: Param) -> str:
    """What a parameter accepts, in words (used in error messages)."""
    if spec.choices:
        return f"allowed values: {', '.join(spec.choices)}"
    if spec.pattern == TRACK_ID_PATTERN:
        return "expected a 22-character Spotify id of letters and digits"
    if spec.kind == "string":
        return "expected a non-empty string"
    kind = "an integer" if spec.kind == "integer" else "a number"
    if spec.maximum is None:
        return f"expected {kind} >= {_number(spec.minimum)}"
    return f"expected {kind} from {_number(spec.minimum)} to {_number(spec.maximum)}"


def _number(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


def track_query(query: Mapping[str, list[str]], genre: str | None = None) -> TrackQuery:
    """Parse /tracks (or, given a path genre, /genres/<genre>/tracks) into a TrackQuery."""
    specs = TRACKS_PARAMS if genre is None else GENRE_TRACKS_PARAMS
    values = parse(specs, query)
    if genre is not None:
        values["genre"] = genre
    for low, high in (("min_energy", "max_energy"), ("min_tempo", "max_tempo")):
        floor, ceiling = values.get(low), values.get(high)
        if floor is not None and ceiling is not None and floor > ceiling:
            raise ParamError(
                f"'{low}' ({floor:g}) is greater than '{high}' ({ceiling:g}); "
                f"'{low}' must be at most '{high}'"
            )
    return TrackQuery(**values)
