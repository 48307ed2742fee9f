"""Validate raw genre CSVs against the raw contract: file checks, typed rows, one GX suite.

Values that do not parse as their type are found here in Polars; Great Expectations then runs the
suite once over every typed row and its counts are cross-checked against a Polars mirror of each
expectation, which also names the failing rows. Great Expectations is imported only in this module,
and only when a suite runs: it costs seconds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contract import (
    RANGES,
    RAW_INDEX_COLUMN,
    RAW_OPTIONAL_COLUMNS,
    RAW_REQUIRED_COLUMNS,
    TRACK_ID_PATTERN,
)
from pipeline.errors import PipelineError, RawFileError, ValidationRefused

log = logging.getLogger(__name__)

SOURCE_ROW = "source_row"
UPSTREAM_ROW = "upstream_row"  # the upstream's unnamed index column, as output
NAME_COLUMNS = ("artists", "album_name", "track_name")
PARSE_CHECK = "parse_as_type"  # a Polars-side check, not a GX expectation type
EXAMPLE_ROWS = 5
_RAW = "raw:"  # prefix of each column's untouched text in the working frame
_DELIMITERS = (";", "\t", "|")
_BLANK = r"^[ \t\n\r\f\v]*$"  # an explicit class: Python's and Rust's \s differ on rare characters
_RAW_COLUMNS = (RAW_INDEX_COLUMN, *RAW_REQUIRED_COLUMNS, *RAW_OPTIONAL_COLUMNS)
_RAW_COLUMNS = tuple(dict.fromkeys(_RAW_COLUMNS))  # the index column once, first
_EXPECTED = (
    f"expected exactly the columns {', '.join(RAW_REQUIRED_COLUMNS)}, optionally preceded by an "
    f"unnamed row-index column and followed by {', '.join(c for c in RAW_OPTIONAL_COLUMNS if c)}"
)


@dataclass(frozen=True)
class RawFile:
    """One genre's raw CSV: every column as text, plus a 1-based `source_row`."""

    genre_id: str
    path: Path
    frame: pl.DataFrame


@dataclass(frozen=True)
class GenreCounts:
    """Rows read, passed and quarantined for one genre file."""

    rows_read: int
    valid: int
    quarantined: int


@dataclass(frozen=True)
class ExpectationResult:
    """One check's verdict; `expectation` is a GX type, or PARSE_CHECK for the Polars type check."""

    expectation: str
    column: str | None
    description: str
    success: bool
    unexpected_count: int


@dataclass(frozen=True)
class ValidationOutcome:
    """Typed rows that passed, quarantined rows with their reasons, and the counts."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    counts: dict[str, GenreCounts]
    expectations: list[ExpectationResult]


@dataclass(frozen=True)
class _Rule:
    """A row rule: the GX expectation (or the parse check) and the Polars mirror of it."""

    expectation: str
    column: str
    description: str
    kwargs: dict[str, Any]  # the GX expectation's arguments besides `column`
    unexpected: pl.Expr  # true on failing rows of the working frame (typed and raw columns)
    reason: pl.Expr  # what to tell about a failing row

    @property
    def in_gx(self) -> bool:
        return self.expectation != PARSE_CHECK


# ---------------------------------------------------------------- file level
def check_columns(frame: pl.DataFrame, path: Path) -> None:
    """Refuse a file with no header, a wrong delimiter, wrong columns or no data rows."""
    columns = [column for column in frame.columns if column != SOURCE_ROW]
    if not columns:
        raise RawFileError(f"{path}: empty file (no header, no rows); {_EXPECTED}")
    if len(columns) == 1 and any(mark in columns[0] for mark in _DELIMITERS):
        found = next(mark for mark in _DELIMITERS if mark in columns[0])
        raise RawFileError(
            f"{path}: wrong delimiter: the header is one field {columns[0][:80]!r} containing "
            f"{found!r}; the file must be comma-separated and {_EXPECTED}"
        )
    missing = [column for column in RAW_REQUIRED_COLUMNS if column not in columns]
    unexpected = [column for column in columns if column not in _RAW_COLUMNS]
    if missing or unexpected:
        found = "; ".join(
            part
            for part in (
                f"missing {len(missing)}: {', '.join(missing)}" if missing else "",
                f"unexpected {len(unexpected)}: {', '.join(map(repr, unexpected))}"
                if unexpected
                else "",
            )
            if part
        )
        raise RawFileError(f"{path}: wrong columns ({found}); {_EXPECTED}")
    if frame.height == 0:
        raise RawFileError(f"{path}: no data rows (header only); expected one row per track")


# ---------------------------------------------------------------- the rules
def _say(before: str, value: pl.Expr, after: str) -> pl.Expr:
    return pl.concat_str([pl.lit(before), value, pl.lit(after)])


def _number(value: float) -> str:
    return f"{value:g}"


def _typed(column: str, dtype: pl.DataType) -> pl.Expr:
    """The column parsed from its text; null where the text is missing or does not parse."""
    raw = pl.col(_RAW + column)
    if dtype == pl.Int64:
        return raw.cast(pl.Int64, strict=False)
    if dtype == pl.Float64:
        number = raw.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if dtype == pl.Boolean:
        return pl.when(raw.is_in(["True", "true"])).then(True).when(raw.is_in(["False", "false"])).then(False)
    return raw


_KINDS = {pl.Int64: "an integer", pl.Float64: "a finite number", pl.Boolean: "True or False"}


def _parse_rule(column: str, dtype: pl.DataType, name: str, required: bool = True) -> _Rule:
    raw, kind = pl.col(_RAW + column), _KINDS[type(dtype)]
    unparsed = pl.col(name).is_null() if required else raw.is_not_null() & pl.col(name).is_null()
    return _Rule(
        PARSE_CHECK,
        name,
        f"{name} is {kind}",
        {},
        unparsed,
        pl.when(raw.is_null()).then(pl.lit(f"{name} is missing")).otherwise(
            _say(f"{name} '", raw, f"' is not {kind}")
        ),
    )


def _present_rule(column: str) -> _Rule:
    return _Rule(
        "expect_column_values_to_not_be_null",
        column,
        f"{column} present",
        {},
        pl.col(column).is_null(),
        pl.lit(f"{column} is missing"),
    )


def _regex_rule(column: str, regex: str, *, match: bool) -> _Rule:
    value, raw = pl.col(column), pl.col(_RAW + column)
    if match:
        return _Rule(
            "expect_column_values_to_match_regex",
            column,
            f"{column} matches {regex}",
            {"regex": regex},
            value.is_not_null() & ~value.str.contains(regex),
            _say(f"{column} '", raw, f"' does not match {regex}"),
        )
    return _Rule(
        "expect_column_values_to_not_match_regex",
        column,
        f"{column} not blank",
        {"regex": regex},
        value.is_not_null() & value.str.contains(regex),
        _say(f"{column} '", raw, "' is blank"),
    )


def _between_rule(column: str, low: float, high: float) -> _Rule:
    value, bounds = pl.col(column), f"[{_number(low)}, {_number(high)}]"
    return _Rule(
        "expect_column_values_to_be_between",
        column,
        f"{column} between {_number(low)} and {_number(high)}",
        {"min_value": low, "max_value": high},
        value.is_not_null() & ~value.is_between(low, high),
        _say(f"{column} ", pl.col(_RAW + column), f" is outside {bounds}"),
    )


def _positive_rule(column: str) -> _Rule:
    value = pl.col(column)
    return _Rule(
        "expect_column_values_to_be_between",
        column,
        f"{column} above 0",
        {"min_value": 0, "strict_min": True},
        value.is_not_null() & (value <= 0),
        _say(f"{column} ", pl.col(_RAW + column), " is not above 0"),
    )


def _rules() -> list[_Rule]:
    """The raw contract's row rules, in column order (so reasons read in column order)."""
    index_dtype = RAW_OPTIONAL_COLUMNS[RAW_INDEX_COLUMN]
    rules = [_parse_rule(RAW_INDEX_COLUMN, index_dtype, UPSTREAM_ROW, required=False)]
    for column, dtype in RAW_REQUIRED_COLUMNS.items():
        if dtype == pl.String:
            rules.append(_present_rule(column))
        else:
            rules.append(_parse_rule(column, dtype, column))
        if column == "track_id":
            rules.append(_regex_rule(column, TRACK_ID_PATTERN, match=True))
        if column in NAME_COLUMNS:
            rules.append(_regex_rule(column, _BLANK, match=False))
        if column in RANGES:
            rules.append(_between_rule(column, *RANGES[column]))
        if column == "duration_ms":
            rules.append(_positive_rule(column))
    return rules
