"""Validate raw genre CSVs against the raw contract: file checks, then every row rule at once.

Each row is parsed to its types and checked against every rule of pipeline/expectations.py in
one Polars pass per file, streamed batch by batch: with a work folder, each file's checked rows
go to a Parquet file there and only the counts (per rule, per file) stay in memory, whatever
the number of rows. A failing row is quarantined with every reason it failed. A file is refused
with every problem found in one run: its own (header, columns, lines), then its rows. The same
rules and counts become the run's Great Expectations suite and Data Docs (pipeline/gx_suite.py).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from contract.fields import RAW_FIELDS
from pipeline.errors import PipelineError, RawFileError, ValidationRefused
from pipeline.expectations import (
    RAW,
    RAW_COLUMNS,
    RAW_INDEX_COLUMN,
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
from pipeline.progress import Progress, Stage
from pipeline.refusal import RAW_FILE_COLUMNS, file_problems, file_reports

SOURCE_ROW = "source_row"
EMPTY_ROW_REASON = "every field is empty"
ROW_GROUP_ROWS = 100_000  # checked rows written at a time (one Parquet row group)
_KINDS = {str(f.raw): f.type for f in RAW_FIELDS}


@dataclass(frozen=True)
class GenreCounts:
    """Rows read, passed and quarantined for one genre file."""

    rows_read: int
    valid: int
    quarantined: int


@dataclass(frozen=True)
class ValidationOutcome:
    """Typed rows that passed and quarantined rows with their reasons (lazy: read from the
    checked rows when asked for), and the counts."""

    valid: pl.LazyFrame
    quarantined: pl.LazyFrame
    counts: dict[str, GenreCounts]
    expectations: list[ExpectationResult]

    @property
    def quarantined_rows(self) -> int:
        return sum(count.quarantined for count in self.counts.values())


# ---------------------------------------------------------------- row level
def _flag(index: int) -> str:
    return f"_fails_{index}"


@dataclass(frozen=True)
class _Checked:
    """One file's totals: rows, bad rows, failures of each rule."""

    file: RawFile
    read: int
    bad: int
    failures: tuple[int, ...]


def _check_plan(file: RawFile, rules: list[Rule]) -> pl.LazyFrame:
    """A file's rows with provenance, each raw column's text, the typed columns, one failure
    flag per rule, and the row flags `_parsed` and `_bad`.

    A rule of a column the file lacks does not apply to its rows: the missing column is told
    once, as a problem of the file, not once per row.
    """
    columns = file.columns
    lacking = {column for column in RAW_COLUMNS if column not in columns}
    typed = [typed_column(column, _KINDS[column]).alias(column) for column in RAW_COLUMNS]
    parse_flags = [pl.col(_flag(i)) for i, rule in enumerate(rules) if not rule.in_gx]
    flags = [
        (pl.lit(False) if rule.column in lacking else unexpected(rule)).alias(_flag(i))
        for i, rule in enumerate(rules)
    ]
    return (
        file.frame.lazy()
        .select(
            pl.lit(file.genre_id, pl.String).alias("genre_id"),
            pl.lit(file.path.name, pl.String).alias("source_file"),
            pl.col(SOURCE_ROW).cast(pl.Int64),
            *[
                (pl.col(column) if column in columns else pl.lit(None)).cast(pl.String)
                .alias(RAW + column)
                for column in RAW_FILE_COLUMNS
            ],
        )
        .with_columns(typed_column(RAW_INDEX_COLUMN, "integer").alias(UPSTREAM_ROW), *typed)
        .with_columns(flags)
        .with_columns(
            (~pl.any_horizontal(parse_flags)).alias("_parsed"),
            pl.any_horizontal(pl.col(_flag(i)) for i in range(len(rules))).alias("_bad"),
        )
    )  # fmt: skip


def _check_files(
    files: list[RawFile], rules: list[Rule], target: Path | None, stage: Stage | None
) -> tuple[pl.LazyFrame, dict[str, _Checked]]:
    """Check every file's rows in one pass: into memory, or (with a target) streamed batch by
    batch into one Parquet file, keeping only each file's counts."""
    empty = _check_plan(RawFile("", Path(""), pl.DataFrame({SOURCE_ROW: []})), rules).head(0)
    plan = pl.concat([empty, *(_check_plan(file, rules) for file in files)], how="vertical_relaxed")
    if target is None:
        checked = plan.collect().lazy()
    else:
        with pq.ParquetWriter(target, _arrow(empty.collect()).schema, compression="zstd") as out:
            waiting: list[pl.DataFrame] = []  # small batches (a small file's) make one row group
            for batch in plan.collect_batches(engine="streaming"):
                waiting.append(batch)
                if sum(part.height for part in waiting) >= ROW_GROUP_ROWS:
                    out.write_table(_arrow(pl.concat(waiting)))
                    waiting = []
                if stage:
                    stage.advance(batch.height)
            if waiting:
                out.write_table(_arrow(pl.concat(waiting)))
        checked = pl.scan_parquet(target)
    flags = [pl.col(_flag(i)).sum() for i in range(len(rules))]
    totals = [pl.len().alias("_read"), pl.col("_bad").sum().alias("_bad"), *flags]
    per_file = checked.group_by("genre_id").agg(totals).collect(engine="streaming")
    sums = {genre: values for genre, *values in per_file.iter_rows()}
    if target is None and stage:
        stage.advance(sum(values[0] for values in sums.values()))
    found = {}
    for file in files:
        read, bad, *failures = sums.get(file.genre_id, [0] * (2 + len(rules)))
        found[file.genre_id] = _Checked(file, read, bad, tuple(failures))
    return checked, found


def _arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def _valid(rows: pl.LazyFrame) -> pl.LazyFrame:
    return rows.filter(~pl.col("_bad")).select("genre_id", SOURCE_ROW, UPSTREAM_ROW, *RAW_COLUMNS)


def _quarantined(rows: pl.LazyFrame, rules: list[Rule]) -> pl.LazyFrame:
    """The bad rows with every reason, then their text (reasons are built for bad rows only).

    A line of empty fields (`,,,`) gets the one reason "every field is empty" rather than a
    "missing" for each column.
    """
    reasons = [pl.when(pl.col(_flag(i))).then(reason(rule)) for i, rule in enumerate(rules)]
    raw = [pl.col(RAW + c).alias(c) for c in RAW_FILE_COLUMNS if c != RAW_INDEX_COLUMN]
    empty = pl.all_horizontal(
        pl.col(RAW + c).is_null() | (pl.col(RAW + c) == "") for c in RAW_FILE_COLUMNS
    )
    return rows.filter(pl.col("_bad")).select(
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


def _results(
    checked: list[_Checked], rows: pl.LazyFrame, rules: list[Rule], docs_dir: Path | None
) -> list[ExpectationResult]:
    """Every rule's result in rule order, from the files' failure counts; with `docs_dir`, the
    same results as Great Expectations Data Docs."""
    totals = [sum(file.failures[i] for file in checked) for i in range(len(rules))]
    results = [
        ExpectationResult(rule.expectation, rule.column, rule.description, not total, total)
        for rule, total in zip(rules, totals, strict=True)
    ]
    if docs_dir is not None:
        from pipeline.gx_suite import write_data_docs

        examples = [_examples(rows, i, rule) if total else [] for i, (rule, total)
                    in enumerate(zip(rules, totals, strict=True))]  # fmt: skip
        height = sum(file.read for file in checked)
        write_data_docs(rules, results, height, examples, docs_dir)
    return results


def _examples(rows: pl.LazyFrame, index: int, rule: Rule, limit: int = 20) -> list[str | None]:
    """Up to `limit` failing values of a rule, as their text (for the Data Docs)."""
    failing = rows.filter(pl.col(_flag(index))).select(raw_text(rule)).head(limit)
    return failing.collect().to_series().to_list()


# ---------------------------------------------------------------- the stage
def validate_files(
    files: list[RawFile],
    *,
    max_bad_share: float = 0.05,
    docs_dir: Path | None = None,
    work_dir: Path | None = None,
    progress: Progress | None = None,
) -> ValidationOutcome:
    """Check every raw file and row against the raw contract; quarantine bad rows, refuse bad files.

    Every problem is found in one run: those of each file itself (what reading found, its
    columns), and the rows of every readable file, checked as if its header were right. With
    `work_dir`, the checked rows are streamed into Parquet files there (which the outcome's
    frames read); without, they are kept in memory.
    """
    if not 0 <= max_bad_share <= 1:
        raise ValueError(f"max_bad_share must be between 0 and 1, got {max_bad_share}")
    repeated = sorted(genre for genre, n in Counter(f.genre_id for f in files).items() if n > 1)
    if repeated:
        raise PipelineError(f"more than one raw file for genre(s) {', '.join(repeated)}")
    readable = [file for file in files if file.unreadable is None]
    rules = row_rules()
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    total = sum(file.height for file in readable)
    with contextlib.ExitStack() as stack:
        stage = stack.enter_context(progress.stage("validating", total)) if progress else None
        target = work_dir / "checked.parquet" if work_dir else None
        rows, checked = _check_files(readable, rules, target, stage)
    expectations = _results(list(checked.values()), rows, rules, docs_dir) if readable else []
    counts = {g: GenreCounts(c.read, c.read - c.bad, c.bad) for g, c in checked.items()}
    quarantined = _quarantined(rows, rules)
    outcome = ValidationOutcome(_valid(rows), quarantined, counts, expectations)
    reports = file_reports(files, checked, quarantined, counts, rules, max_bad_share)
    if reports:
        broken = any(file.unreadable or file_problems(file) for file in files)
        message = f"{len(reports)} of {len(files)} raw files refused:\n\n" + "\n\n".join(reports)
        error = (RawFileError if broken else ValidationRefused)(message)
        error.findings = outcome  # for the run's report
        raise error
    return outcome
