"""Validate raw genre CSVs against the raw contract: file checks, then every row rule at once.

Each row is parsed to its types and checked against every rule of pipeline/expectations.py in
one Polars pass; a failing row is quarantined with every reason it failed. A file is refused
with every problem found in one run: its own (header, columns, lines), then its rows. The same
rules and counts become the run's Great Expectations suite and Data Docs (pipeline/gx_suite.py).
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
from pipeline.extract import RawFile

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
def column_problems(frame: pl.DataFrame) -> list[str]:
    """What is wrong with a file's columns: none at all, wrong ones, no data rows."""
    columns = [column for column in frame.columns if column != SOURCE_ROW]
    if not columns:
        return [f"empty file (no header, no rows); {_EXPECTED}"]
    missing = [column for column in RAW_COLUMNS if column not in columns]
    unexpected = [column for column in columns if column not in _RAW_COLUMNS]
    wrong = [f"missing {len(missing)}: {', '.join(missing)}"] if missing else []
    if unexpected:
        wrong.append(f"unexpected {len(unexpected)}: {', '.join(map(repr, unexpected))}")
    problems = [f"wrong columns ({'; '.join(wrong)}); {_EXPECTED}"] if wrong else []
    if frame.height == 0:
        problems.append("no data rows (header only); expected one row per track")
    return problems


def check_columns(frame: pl.DataFrame, path: Path) -> None:
    """Refuse a file with no header, wrong columns or no data rows (read_raw checks delimiters)."""
    problems = column_problems(frame)
    if problems:
        raise RawFileError("\n".join(f"{path}: {problem}" for problem in problems))


def file_problems(file: RawFile) -> list[str]:
    """Everything wrong with a file itself, header first: what reading found, then columns."""
    if file.unreadable is not None:
        return []
    return [*file.header_problems, *column_problems(file.frame), *file.line_problems]


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


def _checked_rows(raw: pl.DataFrame, rules: list[Rule], files: list[RawFile]) -> pl.DataFrame:
    """Add the typed columns, one failure flag per rule, and the row flags `_parsed` and `_bad`.

    A rule of a column a file lacks does not apply to its rows: the missing column is told once,
    as a problem of the file, not once per row.
    """
    typed = [typed_column(column, _KINDS[column]).alias(column) for column in RAW_COLUMNS]
    parse_flags = [pl.col(_flag(i)) for i, rule in enumerate(rules) if not rule.in_gx]

    def lacking(column: str) -> list[str]:  # the upstream index column may be absent
        return [
            f.genre_id for f in files if column in RAW_COLUMNS and column not in f.frame.columns
        ]

    flags = [
        (unexpected(rule) & ~pl.col("genre_id").is_in(lacking(rule.column))).alias(_flag(i))
        for i, rule in enumerate(rules)
    ]
    return (
        raw.lazy()
        .with_columns(typed_column(RAW_INDEX_COLUMN, "integer").alias(UPSTREAM_ROW), *typed)
        .with_columns(flags)
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


def _rows_report(
    path: Path, counts: GenreCounts, failed: list[str], examples: pl.DataFrame, limit: float
) -> str:
    """The report on a file's bad rows: their share against the limit, checks, example rows."""
    read, bad = counts.rows_read, counts.quarantined
    verdict = (
        f"more than the {limit:.2%} allowed (max_bad_share={limit}); fix the file or raise the "
        "limit."
        if bad / read > limit
        else f"within the {limit:.2%} allowed (max_bad_share={limit}): they would be quarantined."
    )
    shown = [
        f"    - row {row}: {why}" for row, why in examples.select(SOURCE_ROW, "reasons").iter_rows()
    ]
    return "\n".join(
        [
            f"{path}: {bad} of {read} rows ({bad / read:.2%}) failed validation, {verdict}",
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


def _file_reports(
    files: list[RawFile],
    rows: pl.DataFrame,
    quarantined: pl.DataFrame,
    counts: dict[str, GenreCounts],
    rules: list[Rule],
    limit: float,
) -> list[str]:
    """A report per refused file, in file order: every problem of the file itself, one line
    each, then its bad rows (if they are too many, or the file is refused anyway), so that one
    round of edits fixes it."""
    reports = []
    for file in files:
        lines = [f"{file.path}: {problem}" for problem in file_problems(file)]
        count = counts.get(file.genre_id)
        if count and count.quarantined and (lines or count.quarantined / count.rows_read > limit):
            failed = _failed_checks(rows, file.genre_id, rules)
            examples = quarantined.filter(pl.col("genre_id") == file.genre_id).head(EXAMPLE_ROWS)
            lines.append(_rows_report(file.path, count, failed, examples, limit))
        if file.unreadable is not None:
            lines = [file.unreadable]
        if lines:
            reports.append("\n".join(lines))
    return reports


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
    """Check every raw file and row against the raw contract; quarantine bad rows, refuse bad files.

    Every problem is found in one run: those of each file itself (what reading found, its
    columns), and the rows of every readable file, checked as if its header were right.
    """
    if not 0 <= max_bad_share <= 1:
        raise ValueError(f"max_bad_share must be between 0 and 1, got {max_bad_share}")
    repeated = sorted(genre for genre, n in Counter(f.genre_id for f in files).items() if n > 1)
    if repeated:
        raise PipelineError(f"more than one raw file for genre(s) {', '.join(repeated)}")
    readable = [file for file in files if file.unreadable is None]
    rules = row_rules()
    rows = _checked_rows(_raw_rows(readable), rules, readable)
    expectations = _results(rows, rules, docs_dir) if readable else []
    counts, quarantined = _counts(rows), _quarantined(rows, rules)
    outcome = ValidationOutcome(_valid(rows), quarantined, counts, expectations)
    reports = _file_reports(files, rows, quarantined, counts, rules, max_bad_share)
    if reports:
        broken = any(file.unreadable or file_problems(file) for file in files)
        message = f"{len(reports)} of {len(files)} raw files refused:\n\n" + "\n\n".join(reports)
        error = (RawFileError if broken else ValidationRefused)(message)
        error.findings = outcome  # for the run's report
        raise error
    return outcome
