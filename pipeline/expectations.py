"""The raw contract's row rules, derived from the field catalogue, and how each kind is checked.

Every raw column of the catalogue (contract/fields.py) gives its rules: its type (parsed from
the text), present and not blank for names, the track id's pattern, the allowed range. Each
rule is declared once, as a Great Expectations expectation type with its arguments, and checked
once, by the Polars expression for that type below (`unexpected`): Polars is the engine, and
Great Expectations is the report (pipeline/gx_suite.py renders the same rules and these counts
as its suite and Data Docs). bench/validation.py measured the choice (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from contract.fields import RAW_FIELDS, Field
from contract.text import CONTROL_PATTERN, INVISIBLE_PATTERN, UNSAFE_CODES, escape_code

UPSTREAM_ROW = "upstream_row"  # the upstream's unnamed index column, as output
RAW_INDEX_COLUMN = ""  # the upstream file's unnamed first column
RAW_OPTIONAL_COLUMNS = (RAW_INDEX_COLUMN, "track_genre")  # allowed, kept as provenance
PARSE_CHECK = "parse_as_type"  # a check of the text's type, not a GX expectation type
RAW = "raw:"  # prefix of each column's untouched text in the working frame
# The polars type each raw column parses to, by catalogue type.
RAW_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(), "integer": pl.Int64(), "number": pl.Float64(), "boolean": pl.Boolean(),
}  # fmt: skip
RAW_COLUMNS: dict[str, pl.DataType] = {f.raw: RAW_TYPES[f.type] for f in RAW_FIELDS if f.raw}
_KINDS = {"integer": "an integer", "number": "a finite number", "boolean": "True or False"}


@dataclass(frozen=True)
class ExpectationResult:
    """One check's verdict; `expectation` is a GX type, or PARSE_CHECK for a type check."""

    expectation: str
    column: str | None
    description: str
    success: bool
    unexpected_count: int


@dataclass(frozen=True)
class Rule:
    """A row rule: an expectation type, the column it checks and its arguments."""

    expectation: str
    column: str
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: str = "string"  # the column's catalogue type (for the type check)
    required: bool = True  # a missing value fails the type check

    @property
    def in_gx(self) -> bool:
        return self.expectation != PARSE_CHECK


def _number(value: float) -> str:
    return f"{value:g}"


def field_rules(field: Field) -> list[Rule]:
    """The rules one raw column of the catalogue gives, in the order reasons are told."""
    column = str(field.raw)
    if field.type == "string":
        rules = [Rule("expect_column_values_to_not_be_null", column, f"{column} present")]
    else:
        rules = [Rule(PARSE_CHECK, column, f"{column} is {_KINDS[field.type]}", kind=field.type)]
    if field.pattern:
        rules.append(Rule("expect_column_values_to_match_regex", column,
                          f"{column} matches {field.pattern}", {"regex": field.pattern}))  # fmt: skip
    elif field.type == "string":
        rules.append(
            Rule(
                "expect_column_values_to_not_match_regex",
                column,
                f"{column} has no control character",
                {"regex": CONTROL_PATTERN},
            )
        )
        rules.append(Rule("expect_column_values_to_not_match_regex", column, f"{column} not blank",
                          {"regex": INVISIBLE_PATTERN}))  # fmt: skip
    if field.minimum is not None and field.maximum is not None:
        low, high = field.minimum, field.maximum
        rules.append(Rule("expect_column_values_to_be_between", column,
                          f"{column} between {_number(low)} and {_number(high)}",
                          {"min_value": low, "max_value": high}))  # fmt: skip
    elif field.minimum is not None and field.exclusive_minimum:
        rules.append(Rule("expect_column_values_to_be_between", column,
                          f"{column} above {_number(field.minimum)}",
                          {"min_value": field.minimum, "strict_min": True}))  # fmt: skip
    return rules


def row_rules() -> list[Rule]:
    """The raw contract's row rules: the upstream index column's type, then each raw column's."""
    index = Rule(PARSE_CHECK, UPSTREAM_ROW, f"{UPSTREAM_ROW} is an integer", kind="integer",
                 required=False)  # fmt: skip
    return [index, *(rule for field in RAW_FIELDS for rule in field_rules(field))]


def raw_text(rule: Rule) -> pl.Expr:
    """The untouched text of the column a rule checks."""
    return pl.col(RAW + (RAW_INDEX_COLUMN if rule.column == UPSTREAM_ROW else rule.column))


def typed_column(column: str, kind: str) -> pl.Expr:
    """The column parsed from its text; null where the text is missing or does not parse."""
    raw = pl.col(RAW + column)
    if kind == "integer":
        return raw.cast(pl.Int64, strict=False)
    if kind == "number":
        number = raw.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    if kind == "boolean":
        return (
            pl.when(raw.is_in(["True", "true"]))
            .then(True)
            .when(raw.is_in(["False", "false"]))
            .then(False)
        )
    return raw


def unexpected(rule: Rule) -> pl.Expr:
    """True on the rows that fail a rule (over the typed and raw columns): the one check of
    each expectation type, with GX's meaning (a null is left to the not-null expectation)."""
    value, kwargs = pl.col(rule.column), rule.kwargs
    if rule.expectation == PARSE_CHECK:
        return value.is_null() if rule.required else raw_text(rule).is_not_null() & value.is_null()
    if rule.expectation == "expect_column_values_to_not_be_null":
        return value.is_null()
    if rule.expectation == "expect_column_values_to_match_regex":
        return value.is_not_null() & ~value.str.contains(kwargs["regex"])
    if rule.expectation == "expect_column_values_to_not_match_regex":
        return value.is_not_null() & value.str.contains(kwargs["regex"])
    if rule.expectation == "expect_column_values_to_be_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        outside = (value <= low) if kwargs.get("strict_min") else (value < low)
        if high is not None:
            outside = outside | (value > high)
        return value.is_not_null() & outside
    raise ValueError(f"no check for expectation type {rule.expectation!r}")


def escaped(text: pl.Expr) -> pl.Expr:
    """The text with control characters written as escapes (contract/text.py), for reasons that
    quote it: a value holding ESC [2J must not clear the terminal that prints the refusal."""
    for code in UNSAFE_CODES:
        text = text.str.replace_all(chr(code), escape_code(code), literal=True)
    return text


def reason(rule: Rule) -> pl.Expr:
    """What to tell about a row that fails a rule, quoting its text (control characters
    escaped)."""
    text = escaped(raw_text(rule))
    name, kwargs = rule.column, rule.kwargs

    def say(before: str, after: str) -> pl.Expr:
        return pl.concat_str([pl.lit(before), text, pl.lit(after)])

    if rule.expectation == PARSE_CHECK:
        missing = pl.lit(f"{name} is missing")
        return (
            pl.when(text.is_null())
            .then(missing)
            .otherwise(say(f"{name} '", f"' is not {_KINDS[rule.kind]}"))
        )
    if rule.expectation == "expect_column_values_to_not_be_null":
        return pl.lit(f"{name} is missing")
    if rule.expectation == "expect_column_values_to_match_regex":
        return say(f"{name} '", f"' does not match {kwargs['regex']}")
    if rule.expectation == "expect_column_values_to_not_match_regex":
        if kwargs["regex"] == CONTROL_PATTERN:
            return say(f"{name} '", "' holds a control character")
        return say(f"{name} '", "' is blank (only spaces or invisible characters)")
    if kwargs.get("strict_min"):
        return say(f"{name} ", f" is not above {_number(kwargs['min_value'])}")
    bounds = f"[{_number(kwargs['min_value'])}, {_number(kwargs['max_value'])}]"
    return say(f"{name} ", f" is outside {bounds}")
