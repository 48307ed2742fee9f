"""Explicit parsing of every query parameter: a typed value, or a ParamError naming what is allowed.

Each endpoint declares its parameters as a tuple of `Param`. Parsing rejects unknown parameters,
repeated single-valued ones, wrong types, values out of range and unknown choices; it never falls
back to a default on bad input. The same declarations generate the OpenAPI parameter list, so docs and checks agree.
This module never imports Flask: it takes the query as (name, values) pairs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract import TRACK_ID_PATTERN
from contract.fields import FIELD, SORTS


class ParamError(ValueError):
    """A query parameter is missing, repeated, unknown or invalid; the message says what is allowed."""


class NotFoundError(LookupError):
    """A genre or track id that is not in the dataset; the message names it."""


class UnprocessableError(ValueError):
    """A well-formed request the data cannot answer (no track fits a step of a mix path); the
    message says which part and why."""


def genre_not_found(genre: str) -> NotFoundError:
    """The error for an unknown genre id."""
    return NotFoundError(f"Genre not found: '{genre[:100]}' (see /api/v1/genres)")


def track_not_found(track_id: str, where: str = "") -> NotFoundError:
    """The error for an unknown track id (`where` names the parameter that gave it)."""
    return NotFoundError(f"Track not found: '{track_id[:100]}'{where}")


@dataclass(frozen=True)
class Param:
    """One query parameter: its type, bounds or choices, default and description.

    A `many` parameter takes a comma-separated list of up to `max_items` values (distinct unless
    `distinct` is false), each checked like a single value; it parses to a tuple.
    """

    name: str
    kind: str  # "string", "integer", "number" or "boolean"
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    default: Any = None
    required: bool = False
    pattern: str | None = None
    many: bool = False
    max_items: int | None = None
    distinct: bool = True  # a `many` parameter refuses repeated values
    expected: str | None = None  # what one value must be, in words, where a pattern is too terse
    example: Any = None  # for the OpenAPI document (a tuple for a `many` parameter)


EXAMPLE_TRACK = "0yc6Gst2xkRu0eMLeRMGCX"  # Apocalypse, Cigarettes After Sex (ambient)
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}

_SORT_TEXT = (
    "Sort order; ties are broken by track id ascending. A numeric column's name sorts highest "
    "first and <column>_asc lowest first ("
    + ", ".join(dict.fromkeys(c for c, _ in SORTS.values() if FIELD[c].type != "string"))
    + "); name sorts A-Z ignoring case and name_desc Z-A."
)
SORT_PARAM = Param("sort", "string", _SORT_TEXT, choices=tuple(SORTS), default="popularity")
PAGE_PARAMS: tuple[Param, ...] = (
    SORT_PARAM,
    Param("limit", "integer", "Tracks per page.", 1, MAX_LIMIT, default=DEFAULT_LIMIT),
    Param("offset", "integer", "Number of matching tracks to skip.", 0, None, default=0),
)
# Response formats of a track listing: the JSON envelope, or the page's tracks as a file.
FORMATS: tuple[str, ...] = ("json", "csv", "ndjson", "spreadsheet")
SPREADSHEET_TEXT = (
    "spreadsheet: the same CSV made for people to open in a spreadsheet, where a text cell "
    "starting with =, +, -, @, a tab or a carriage return gets a leading ' so that it is shown, "
    "never run as a formula (csv stays exact, for data tools)"
)
FORMAT_PARAM = Param(
    "format",
    "string",
    "json: the usual envelope; csv: the page's tracks as CSV (a header row, RFC 4180 quoting, "
    f"genres joined by ';'); ndjson: one track object per line; {SPREADSHEET_TEXT}. Files come "
    "with a Content-Disposition and cannot be combined with facets.",
    choices=FORMATS,
    default="json",
)
EXPORT_FORMAT_PARAM = Param(
    "format",
    "string",
    "csv (a header row, RFC 4180 quoting, genres joined by ';'), ndjson (one track object "
    f"per line), or {SPREADSHEET_TEXT}.",
    choices=FORMATS[1:],
    default="csv",
)
COMPARE_PARAMS: tuple[Param, ...] = (
    Param(
        "track_id",
        "string",
        "Spotify track id.",
        required=True,
        pattern=TRACK_ID_PATTERN,
        example=EXAMPLE_TRACK,
    ),
    Param("genre", "string", "Genre id to compare against.", required=True, example="ambient"),
)
NO_PARAMS: tuple[Param, ...] = ()


def parse(specs: tuple[Param, ...], query: Mapping[str, list[str]]) -> dict[str, Any]:
    """Parse a query (name -> list of values) against specs; absent optional ones get defaults."""
    by_name = {spec.name: spec for spec in specs}
    for name, values in query.items():
        if name not in by_name:
            allowed = ", ".join(by_name) if by_name else "none"
            raise ParamError(f"unknown query parameter '{name}'; allowed parameters: {allowed}")
        if len(values) != 1 and not by_name[name].many:
            raise ParamError(f"query parameter '{name}' is given {len(values)} times; give it once")
    parsed: dict[str, Any] = {}
    for spec in specs:
        if spec.name in query:
            # A list comes comma-separated, or repeated (mood=calm&mood=happy: how generated
            # clients send an array, whatever `explode: false` says), or both: one list, so the
            # same checks (empty items, repeats, max_items) hold whichever form is used.
            parsed[spec.name] = parse_value(spec, ",".join(query[spec.name]))
        elif spec.required:
            raise ParamError(f"query parameter '{spec.name}' is required: {spec.description}")
        else:
            parsed[spec.name] = spec.default
    return parsed


def parse_value(spec: Param, text: str) -> Any:
    """Convert one raw value (a list of them, for a `many` parameter), or raise ParamError."""
    if text == "":
        raise ParamError(f"'{spec.name}' must not be empty; {describe(spec)}")
    if not spec.many:
        return _parse_one(spec, text)
    items = text.split(",")
    if "" in items:
        raise ParamError(f"'{spec.name}' has an empty item in '{text[:200]}'; {describe(spec)}")
    if spec.max_items is not None and len(items) > spec.max_items:
        raise ParamError(f"'{spec.name}' has {len(items)} items; {describe(spec)}")
    values = tuple(_parse_one(spec, item) for item in items)
    repeated = sorted({item for item, value in zip(items, values, strict=True)
                       if spec.distinct and values.count(value) > 1})  # fmt: skip
    if repeated:
        raise ParamError(f"'{spec.name}' repeats {', '.join(repeated)}; give each value once")
    return values


def _parse_one(spec: Param, text: str) -> Any:
    value: Any
    if spec.kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise ParamError(f"'{spec.name}' must be an integer, got '{text}'; {describe(spec)}")
        value = int(text)
    elif spec.kind == "number":
        if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
            raise ParamError(f"'{spec.name}' must be a number, got '{text}'; {describe(spec)}")
        value = float(text)
    elif spec.kind == "boolean":
        if text not in _BOOLEANS:
            raise ParamError(f"'{spec.name}' must be true or false, got '{text}'")
        value = _BOOLEANS[text]
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
        raise ParamError(f"'{spec.name}' is malformed, got '{text[:100]}'; {describe(spec)}")


def describe(spec: Param) -> str:
    """What a parameter accepts, in words (used in error messages)."""
    if spec.choices:
        allowed = ", ".join(map(str, spec.choices))
        if not spec.many:
            return f"allowed values: {allowed}"
        return f"expected a comma-separated list of distinct values from: {allowed}"
    one = _describe_one(spec)
    if not spec.many:
        return f"expected {one}"
    most = f"1 to {spec.max_items} " if spec.max_items else ""
    distinct = "distinct " if spec.distinct else ""
    return f"expected a comma-separated list of {most}{distinct}values, each {one}"


def _describe_one(spec: Param) -> str:
    if spec.expected:
        return spec.expected
    if spec.pattern == TRACK_ID_PATTERN:
        return "a 22-character Spotify id of letters and digits"
    if spec.kind == "boolean":
        return "true or false"
    if spec.kind == "string":
        return "a non-empty string"
    kind = "an integer" if spec.kind == "integer" else "a number"
    if spec.maximum is None:
        return f"{kind} >= {_number(spec.minimum)}"
    return f"{kind} from {_number(spec.minimum)} to {_number(spec.maximum)}"


def _number(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""
