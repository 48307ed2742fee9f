"""What is wrong with a raw file, and the report that refuses it: every problem of the file
itself (what reading found, its columns), then its bad rows with the checks they failed and
the first few of them, so that one round of edits fixes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.errors import RawFileError
from pipeline.expectations import RAW_COLUMNS, RAW_INDEX_COLUMN, RAW_OPTIONAL_COLUMNS, Rule
from pipeline.extract import RawFile

if TYPE_CHECKING:
    from pipeline.validate import GenreCounts, _Checked

SOURCE_ROW = "source_row"
EXAMPLE_ROWS = 5
# Every column a raw file may have, in file order (RAW_INDEX_COLUMN is one of the optional ones).
RAW_FILE_COLUMNS = tuple(dict.fromkeys((RAW_INDEX_COLUMN, *RAW_COLUMNS, *RAW_OPTIONAL_COLUMNS)))
_EXPECTED = (
    f"expected exactly the columns {', '.join(RAW_COLUMNS)}, optionally preceded by an "
    f"unnamed row-index column and followed by {', '.join(c for c in RAW_OPTIONAL_COLUMNS if c)}"
)


def column_problems(columns: list[str], height: int) -> list[str]:
    """What is wrong with a file's columns: none at all, wrong ones, no data rows."""
    columns = [column for column in columns if column != SOURCE_ROW]
    if not columns:
        return [f"empty file (no header, no rows); {_EXPECTED}"]
    missing = [column for column in RAW_COLUMNS if column not in columns]
    unexpected = [column for column in columns if column not in RAW_FILE_COLUMNS]
    wrong = [f"missing {len(missing)}: {', '.join(missing)}"] if missing else []
    if unexpected:
        wrong.append(f"unexpected {len(unexpected)}: {', '.join(map(repr, unexpected))}")
    problems = [f"wrong columns ({'; '.join(wrong)}); {_EXPECTED}"] if wrong else []
    if height == 0:
        problems.append("no data rows (header only); expected one row per track")
    return problems


def check_columns(frame: pl.DataFrame, path: Path) -> None:
    """Refuse a file with no header, wrong columns or no data rows (read_raw checks delimiters)."""
    problems = column_problems(frame.columns, frame.height)
    if problems:
        raise RawFileError("\n".join(f"{path}: {problem}" for problem in problems))


def file_problems(file: RawFile) -> list[str]:
    """Everything wrong with a file itself, header first: what reading found, then columns."""
    if file.unreadable is not None:
        return []
    return [*file.header_problems, *column_problems(file.columns, file.height), *file.line_problems]


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


def _failed_checks(checked: _Checked, rules: list[Rule]) -> list[str]:
    """One line per rule that failed in a file, with its failing-row count."""
    return [
        f"    - {rule.description} ({rule.expectation}): {total} rows"
        for rule, total in zip(rules, checked.failures, strict=True)
        if total
    ]


def file_reports(
    files: list[RawFile],
    checked: dict[str, _Checked],
    quarantined: pl.LazyFrame,
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
            mine = quarantined.filter(pl.col("genre_id") == file.genre_id)
            examples = mine.head(EXAMPLE_ROWS).collect()
            failed = _failed_checks(checked[file.genre_id], rules)
            lines.append(_rows_report(file.path, count, failed, examples, limit))
        if file.unreadable is not None:
            lines = [file.unreadable]
        if lines:
            reports.append("\n".join(lines))
    return reports
