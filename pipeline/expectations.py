"""The raw contract's row rules: each GX expectation beside the Polars expression that mirrors it.

A rule's `unexpected` expression flags exactly the rows its Great Expectations expectation counts
as unexpected, so the rows GX only counts can be named and quarantined with a reason. Keeping the
two side by side means they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from contract import (
    RANGES,
    RAW_INDEX_COLUMN,
    RAW_OPTIONAL_COLUMNS,
    RAW_REQUIRED_COLUMNS,
    TRACK_ID_PATTERN,
)

UPSTREAM_ROW = "upstream_row"  # the upstream's unnamed index column, as output
NAME_COLUMNS = ("artists", "album_name", "track_name")
PARSE_CHECK = "parse_as_type"  # a Polars-side check, not a GX expectation type
RAW = "raw:"  # prefix of each column's untouched text in the working frame
_BLANK = r"^[ \t\n\r\f\v]*$"  # an explicit class: Python's and Rust's \s differ on rare characters


@dataclass(frozen=True)
class ExpectationResult:
    """One check's verdict; `expectation` is a GX type, or PARSE_CHECK for the Polars type check."""

    expectation: str
    column: str | None
    description: str
    success: bool
    unexpected_count: int


@dataclass(frozen=True)
class Rule:
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


def _say(before: str, value: pl.Expr, after: str) -> pl.Expr:
    return pl.concat_str([pl.lit(before), value, pl.lit(after)])


def _number(value: float) -> str:
    return f"{value:g}"


def typed_column(column: str, dtype: pl.DataType) -> pl.Expr:
    """The column parsed from its text; null where the text is missing or does not parse."""
    raw = pl.col(RAW + column)
    if dtype == pl.Int64:
        return raw.cast(pl.Int64, strict=False)
    if dtype == pl.Float64:
        number = raw.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if dtype == pl.Boolean:
        return (
            pl.when(raw.is_in(["True", "true"]))
            .then(True)
            .when(raw.is_in(["False", "false"]))
            .then(False)
        )
    return raw


_KINDS = {pl.Int64: "an integer", pl.Float64: "a finite number", pl.Boolean: "True or False"}


def _parse_rule(column: str, dtype: pl.DataType, name: str, required: bool = True) -> Rule:
    raw, kind = pl.col(RAW + column), _KINDS[type(dtype)]
    unparsed = pl.col(name).is_null() if required else raw.is_not_null() & pl.col(name).is_null()
    return Rule(
        PARSE_CHECK,
        name,
        f"{name} is {kind}",
        {},
        unparsed,
        pl.when(raw.is_null())
        .then(pl.lit(f"{name} is missing"))
        .otherwise(_say(f"{name} '", raw, f"' is not {kind}")),
    )


def _present_rule(column: str) -> Rule:
    return Rule(
        "expect_column_values_to_not_be_null",
        column,
        f"{column} present",
        {},
        pl.col(column).is_null(),
        pl.lit(f"{column} is missing"),
    )


def _regex_rule(column: str, regex: str, *, match: bool) -> Rule:
    value, raw = pl.col(column), pl.col(RAW + column)
    if match:
        return Rule(
            "expect_column_values_to_match_regex",
            column,
            f"{column} matches {regex}",
            {"regex": regex},
            value.is_not_null() & ~value.str.contains(regex),
            _say(f"{column} '", raw, f"' does not match {regex}"),
        )
    return Rule(
        "expect_column_values_to_not_match_regex",
        column,
        f"{column} not blank",
        {"regex": regex},
        value.is_not_null() & value.str.contains(regex),
        _say(f"{column} '", raw, "' is blank"),
    )


def _between_rule(column: str, low: float, high: float) -> Rule:
    value, bounds = pl.col(column), f"[{_number(low)}, {_number(high)}]"
    return Rule(
        "expect_column_values_to_be_between",
        column,
        f"{column} between {_number(low)} and {_number(high)}",
        {"min_value": low, "max_value": high},
        value.is_not_null() & ~value.is_between(low, high),
        _say(f"{column} ", pl.col(RAW + column), f" is outside {bounds}"),
    )


def _positive_rule(column: str) -> Rule:
    value = pl.col(column)
    return Rule(
        "expect_column_values_to_be_between",
        column,
        f"{column} above 0",
        {"min_value": 0, "strict_min": True},
        value.is_not_null() & (value <= 0),
        _say(f"{column} ", pl.col(RAW + column), " is not above 0"),
    )


def row_rules() -> list[Rule]:
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
