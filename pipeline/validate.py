"""Validate raw genre CSVs against the raw contract: file checks, then every row rule at once.

Each row is parsed to its types and checked against every rule of pipeline/expectations.py in
one Polars pass; a failing row is quarantined with every reason it failed. The same rules and
counts become the run's Great Expectations suite and Data Docs (pipeline/gx_suite.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contract.fields import RAW_FIELDS
from pipeline.errors import PipelineError, RawFileError, ValidationRefused
from pipeline.expectations import (
    RAW,
    RAW_COLUMNS,
    RAW_INDEX_COLUMN,
    RAW_OPTIONAL_COLUMNS,
    UPSTREAM_ROW,
    ExpectationResult,
    Rule,
    raw_text,
    reason,
    row_rules,
    typed_column,
    unexpected,
)

SOURCE_ROW = "source_row"
EMPTY_ROW_REASON = "every field is empty"
EXAMPLE_ROWS = 5
# Every column a raw file may have, in file order (RAW_INDEX_COLUMN is one of the optional ones).
_RAW_COLUMNS = tuple(dict.fromkeys((RAW_INDEX_COLUMN, *RAW_COLUMNS, *RAW_OPTIONAL_COLUMNS)))
_EXPECTED = (
    f"expected exactly the columns {', '.join(RAW_COLUMNS)}, optionally preceded by an "
    f"unnamed row-index column and followed by {', '.join(c for c in RAW_OPTIONAL_COLUMNS if c)}"
)
_KINDS = {str(f.raw): f.type for f in RAW_FIELDS}


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
class ValidationOutcome:
    """Typed rows that passed, quarantined rows with their reasons, and the counts."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    counts: dict[str, GenreCounts]
    expectations: list[ExpectationResult]


# ---------------------------------------------------------------- file level
def check_columns(frame: pl.DataFrame, path: Path) -> None:
    """Refuse a file with no header, wrong columns or no data rows (read_raw checks delimiters)."""
    columns = [column for column in frame.columns if column != SOURCE_ROW]
    if not columns:
        raise RawFileError(f"{path}: empty file (no header, no rows); {_EXPECTED}")
    missing = [column for column in RAW_COLUMNS if column not in columns]
    unexpected = [column for column in columns if column not in _RAW_COLUMNS]
    problems = [f"missing {len(missing)}: {', '.join(missing)}"] if missing else []
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {', '.join(map(repr, unexpected))}")
    if problems:
        raise RawFileError(f"{path}: wrong columns ({'; '.join(problems)}); {_EXPECTED}")
    if frame.height == 0:
        raise RawFileError(f"{path}: no data rows (header only); expected one row per track")


# ---------------------------------------------------------------- row level
def _flag(index: int) -> str:
    return f"_fails_{index}"


def _raw_rows(files: list[RawFile]) -> pl.DataFrame:
    """Every file's rows stacked in order: provenance, then each raw column's text."""
    schema: dict[str, pl.DataType] = {"genre_id": pl.String(), "source_file": pl.String()}
    schema |= {SOURCE_ROW: pl.Int64(), **{RAW + column: pl.String() for column in _RAW_COLUMNS}}
    frames = [
        file.frame.select(
            pl.lit(file.genre_id, pl.String).alias("genre_id"),
            pl.lit(file.path.name, pl.String).alias("source_file"),
            pl.col(SOURCE_ROW).cast(pl.Int64),
            *[
                (pl.col(column) if column in file.frame.columns else pl.lit(None))
                .cast(pl.String)
                .alias(RAW + column)
                for column in _RAW_COLUMNS
            ],
        )
        for file in files
    ]
    return pl.concat([pl.DataFrame(schema=schema), *frames])


def _checked_rows(raw: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """Add the typed columns, one failure flag per rule, and the row flags `_parsed` and `_bad`."""
    typed = [typed_column(column, _KINDS[column]).alias(column) for column in RAW_COLUMNS]
    parse_flags = [pl.col(_flag(i)) for i, rule in enumerate(rules) if not rule.in_gx]
    return (
        raw.lazy()
        .with_columns(typed_column(RAW_INDEX_COLUMN, "integer").alias(UPSTREAM_ROW), *typed)
        .with_columns(unexpected(rule).alias(_flag(i)) for i, rule in enumerate(rules))
        .with_columns(
            (~pl.any_horizontal(parse_flags)).alias("_parsed"),
            pl.any_horizontal(pl.col(_flag(i)) for i in range(len(rules))).alias("_bad"),
        )
        .collect()
    )


def _valid(rows: pl.DataFrame) -> pl.DataFrame:
    return (
        rows.lazy()
        .filter(~pl.col("_bad"))
        .select("genre_id", SOURCE_ROW, UPSTREAM_ROW, *RAW_COLUMNS)
        .collect()
    )


def _quarantined(rows: pl.DataFrame, rules: list[Rule]) -> pl.DataFrame:
    """The bad rows with every reason, then their text (reasons are built for bad rows only).

    A line of empty fields (`,,,`) gets the one reason "every field is empty" rather than a
    "missing" for each column.
    """
    reasons = [pl.when(pl.col(_flag(i))).then(reason(rule)) for i, rule in enumerate(rules)]
    raw = [pl.col(RAW + c).alias(c) for c in _RAW_COLUMNS if c != RAW_INDEX_COLUMN]
    empty = pl.all_horizontal(
        pl.col(RAW + c).is_null() | (pl.col(RAW + c) == "") for c in _RAW_COLUMNS
    )
    return (
        rows.lazy()
        .filter(pl.col("_bad"))
        .select(
            "genre_id",
            "source_file",
            SOURCE_ROW,
            pl.when(empty)
            .then(pl.lit(EMPTY_ROW_REASON))
            .otherwise(pl.concat_str(reasons, separator="; ", ignore_nulls=True))
            .alias("reasons"),
            pl.col(RAW + RAW_INDEX_COLUMN).alias(UPSTREAM_ROW),
            *raw,
        )
        .collect()
    )


def _counts(rows: pl.DataFrame) -> dict[str, GenreCounts]:
    per_genre = rows.group_by("genre_id", maintain_order=True).agg(
        pl.len().alias("read"), pl.col("_bad").sum().alias("bad")
    )
    return {genre: GenreCounts(read, read - bad, bad) for genre, read, bad in per_genre.iter_rows()}


def _refusal(
    path: Path, counts: GenreCounts, failed: list[str], examples: pl.DataFrame, limit: float
) -> str:
    """The report on one file with too many bad rows: share, failed checks, example rows."""
    read, bad = counts.rows_read, counts.quarantined
    shown = [
        f"    - row {row}: {why}" for row, why in examples.select(SOURCE_ROW, "reasons").iter_rows()
    ]
    return "\n".join(
        [
            f"{path}: {bad} of {read} rows ({bad / read:.2%}) failed validation, more than the "
            f"{limit:.2%} allowed (max_bad_share={limit}); fix the file or raise the limit.",
            "  failed checks:",
            *failed,
            f"  first {len(shown)} bad rows (1-based data rows):",
            *shown,
        ]
    )


def _failed_checks(rows: pl.DataFrame, genre: str, rules: list[Rule]) -> list[str]:
    """One line per rule that failed in a genre's file, with its failing-row count."""
    mine = rows.filter(pl.col("genre_id") == genre)
    totals = mine.select(pl.col(_flag(i)).sum() for i in range(len(rules))).row(0)
    return [
        f"    - {rule.description} ({rule.expectation}): {total} rows"
        for rule, total in zip(rules, totals, strict=True)
        if total
    ]


def _refusals(
    rows: pl.DataFrame,
    quarantined: pl.DataFrame,
    counts: dict[str, GenreCounts],
    rules: list[Rule],
    paths: dict[str, Path],
    limit: float,
) -> dict[str, str]:
    """A report per file whose share of quarantined rows is above the limit."""
    return {
        genre: _refusal(
            paths[genre],
            count,
            _failed_checks(rows, genre, rules),
            quarantined.filter(pl.col("genre_id") == genre).head(EXAMPLE_ROWS),
            limit,
        )
        for genre, count in counts.items()
        if count.quarantined / count.rows_read > limit
    }


def _results(
    rows: pl.DataFrame, rules: list[Rule], docs_dir: Path | None
) -> list[ExpectationResult]:
    """Every rule's result in rule order, from the rows' failure flags; with `docs_dir`, the
    same results as Great Expectations Data Docs."""
    totals = rows.select(pl.col(_flag(i)).sum() for i in range(len(rules))).row(0)
    results = [
        ExpectationResult(rule.expectation, rule.column, rule.description, not total, total)
        for rule, total in zip(rules, totals, strict=True)
    ]
    if docs_dir is not None:
        from pipeline.gx_suite import write_data_docs

        examples = [_examples(rows, i, rule) if total else [] for i, (rule, total)
                    in enumerate(zip(rules, totals, strict=True))]  # fmt: skip
        write_data_docs(rules, results, rows.height, examples, docs_dir)
    return results


def _examples(rows: pl.DataFrame, index: int, rule: Rule, limit: int = 20) -> list[str | None]:
    """Up to `limit` failing values of a rule, as their text (for the Data Docs)."""
    failing = rows.lazy().filter(pl.col(_flag(index))).select(raw_text(rule)).head(limit)
    return failing.collect().to_series().to_list()


# ---------------------------------------------------------------- the stage
def validate_files(
    files: list[RawFile], *, max_bad_share: float = 0.05, docs_dir: Path | None = None
) -> ValidationOutcome:
    """Check every raw file and row against the raw contract; quarantine bad rows, refuse bad files."""
    if not 0 <= max_bad_share <= 1:
        raise ValueError(f"max_bad_share must be between 0 and 1, got {max_bad_share}")
    repeated = sorted(genre for genre, n in Counter(f.genre_id for f in files).items() if n > 1)
    if repeated:
        raise PipelineError(f"more than one raw file for genre(s) {', '.join(repeated)}")
    problems = _column_problems(files)
    usable = [file for file in files if file.genre_id not in problems]
    rules = row_rules()
    rows = _checked_rows(_raw_rows(usable), rules)
    expectations = _results(rows, rules, docs_dir) if usable else []
    counts, quarantined = _counts(rows), _quarantined(rows, rules)
    paths = {file.genre_id: file.path for file in files}
    outcome = ValidationOutcome(_valid(rows), quarantined, counts, expectations)
    refusals = _refusals(rows, quarantined, counts, rules, paths, max_bad_share)
    message = _refusal_message(files, problems, refusals)
    if message:
        error = (RawFileError if problems else ValidationRefused)(message)
        error.findings = outcome  # for the run's report
        raise error
    return outcome


def _column_problems(files: list[RawFile]) -> dict[str, str]:
    problems = {}
    for file in files:
        try:
            check_columns(file.frame, file.path)
        except RawFileError as error:
            problems[file.genre_id] = str(error)
    return problems


def _refusal_message(
    files: list[RawFile], problems: dict[str, str], refusals: dict[str, str]
) -> str | None:
    """One message listing every refused file in file order, or None if none is refused."""
    reports = [problems.get(f.genre_id) or refusals.get(f.genre_id) for f in files]
    listed = [report for report in reports if report]
    if not listed:
        return None
    return f"{len(listed)} of {len(files)} raw files refused:\n\n" + "\n\n".join(listed)
