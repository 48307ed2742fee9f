"""Build the curated tables as Parquet files in bounded memory, one range of track ids at a time.

Every rule of pipeline/transform.py reads only rows of one track, except top_n, so the validated
rows are split by track id into parts of about ROWS_PER_PART rows (ranges cut at a sample of the
ids, in one streaming pass), and each part is curated in memory with the same functions as a
small dataset:

1. per part: each track's popularity, the first row of each (genre, track); the capped genres'
   rows are kept aside, narrowed to (genre, row, popularity), to decide top_n for all parts;
2. per part: the rows top_n keeps become members; the part's tracks (sorted by id), its genre
   memberships and its counts (pipeline/aggregates.py) are written or kept;
3. the parts' files are joined in id order (tracks) and in genre-then-id order (track_genres,
   row group by row group), and the summary tables are made from the merged counts.

Memory is one part's rows plus the narrow top_n candidates and the counts, whatever the total.
A dataset of up to ROWS_PER_PART rows is one part: the same computation as curated_tables.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import contract as c
from pipeline import aggregates as agg
from pipeline.catalogue import Genre
from pipeline.errors import writing
from pipeline.progress import Progress, Stage
from pipeline.transform import (
    conform,
    deduplicate_within_genre,
    summary_tables,
    top_n_candidates,
    top_n_cut,
    track_genres,
    unique_tracks,
    with_genre_position,
    with_track_popularity,
    without_cut,
)

ROWS_PER_PART = 1_000_000
GROUP_ROWS = 50_000  # rows of a part written at a time while splitting (a Parquet row group)
SAMPLES_PER_PART = 100  # ids sampled a part, to place the boundaries between parts
_PART = "_part"


@dataclass(frozen=True)
class CuratedFiles:
    """The contract's tables as Parquet files in `folder`, and what was dropped on the way."""

    folder: Path
    duplicates: pl.DataFrame  # rows that repeat a track within its genre, in file order
    cut_by_top_n: dict[str, int]  # per genre, rows cut by its top_n
    members: dict[str, int]  # per genre, its tracks
    parts: int
    files: dict[str, Path] = field(default_factory=dict)


def curate(
    valid: pl.LazyFrame,
    genres: list[Genre],
    updated_at: dict[str, datetime],
    folder: Path,
    rows_per_part: int = ROWS_PER_PART,
    progress: Progress | None = None,
) -> CuratedFiles:
    """Write every curated table of the validated rows into `folder` (a new, empty folder)."""
    scratch = folder / ".parts"
    scratch.mkdir(parents=True)
    try:
        parts, total = split(valid, genres, scratch, rows_per_part)
        return _curate(parts, total, genres, updated_at, folder, progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _curate(
    parts: list[Part],
    total: int,
    genres: list[Genre],
    updated_at: dict[str, datetime],
    folder: Path,
    progress: Progress | None,
) -> CuratedFiles:
    one = len(parts) == 1  # then every part's table is the table: nothing to join
    if progress and not one:
        progress.log(f"  curating {total:,} rows in {len(parts)} parts, by track id")
    scratch = folder / ".parts"
    kept: list[Part] = []
    duplicates, candidates, sizes = [], [], []
    with _stage(progress, f"curating, pass 1 of 2 ({_parts(len(parts))})", total) as stage:
        for number, part in enumerate(parts):
            rows = _in_catalogue_order(_load(part), genres)
            kept_rows, repeats = deduplicate_within_genre(with_track_popularity(rows))
            kept.append(kept_rows if one else _write(kept_rows, scratch / f"kept-{number}.parquet"))
            duplicates.append(repeats)
            candidates.append(top_n_candidates(kept_rows, genres))
            sizes.append(rows.height)
            stage.advance(rows.height)
    cut = top_n_cut(pl.concat(candidates), genres)
    files = {c.TRACKS: folder / c.TRACKS, c.TRACK_GENRES: folder / c.TRACK_GENRES}
    counts, cut_rows, track_parts, member_parts = [], [], [], []
    with _stage(progress, "curating, pass 2 of 2", total) as stage:
        for number, part in enumerate(kept):
            members, over = without_cut(_load(part), cut)
            members = with_genre_position(members, genres)
            tracks, memberships = conform(unique_tracks(members), c.TRACKS), track_genres(members)
            if one:
                _write(tracks, files[c.TRACKS])
                _write(conform(memberships, c.TRACK_GENRES), files[c.TRACK_GENRES])
            else:
                track_parts.append(_write(tracks, scratch / f"tracks-{number}.parquet"))
                member_parts.append(_write_by_genre(memberships, scratch / f"members-{number}"))
            cut_rows.append(over.select("genre_id"))
            counts.append(agg.member_counts(members))
            stage.advance(sizes[number])
    if not one:
        _join_row_groups([(path, None) for path in track_parts], files[c.TRACKS])
        by_genre: list[tuple[Path, str | None]] = [
            (path, genre.id) for genre in genres for path in member_parts
        ]
        _join_row_groups(by_genre, files[c.TRACK_GENRES])
    merged = agg.merge_counts(counts)
    track_count = pq.ParquetFile(files[c.TRACKS]).metadata.num_rows
    summaries = summary_tables(merged, genres, updated_at, _column(files[c.TRACKS]), track_count)
    for name, table in summaries.items():
        files[name] = _write(conform(table, name), folder / name)
    return CuratedFiles(
        folder=folder,
        duplicates=_in_file_order(duplicates, genres),
        cut_by_top_n=_per_genre(pl.concat(cut_rows)),
        members=dict(merged["genres"].select("genre_id", "track_count").iter_rows()),
        parts=len(parts),
        files=files,
    )


def split(
    valid: pl.LazyFrame, genres: list[Genre], scratch: Path, rows_per_part: int
) -> tuple[list[Part], int]:
    """The validated rows in parts by track id range, in id order (one part: in memory; more:
    one Parquet file each), and how many rows there are."""
    total = valid.select(pl.len()).collect(engine="streaming").item()
    count = max(1, math.ceil(total / rows_per_part))
    if count == 1:
        return [valid.collect(engine="streaming")], total
    # About SAMPLES_PER_PART ids a part, evenly through the rows, place the boundaries.
    every = max(1, total // (count * SAMPLES_PER_PART))
    sample = valid.select(pl.col("track_id").gather_every(every)).collect(engine="streaming")
    edges = sample.get_column("track_id").sort()
    bounds = sorted({edges[len(edges) * n // count] for n in range(1, count)})
    part = pl.sum_horizontal([(pl.col("track_id") >= bound).cast(pl.Int32) for bound in bounds])
    # The catalogue order is added per part, later: replace_strict in this stream makes Polars
    # hold every row (3 GB at ten million rows; 0.7 GB without it, measured with bench/scale.py).
    placed = valid.with_columns(part.alias(_PART))
    return _write_parts(placed, len(bounds) + 1, scratch), total


def _write_parts(placed: pl.LazyFrame, count: int, scratch: Path) -> list[Part]:
    """Stream the rows into one Parquet file per part (its rows in their order), holding one
    batch and, per part, under GROUP_ROWS rows waiting to be written."""
    paths = [scratch / f"part-{number}.parquet" for number in range(count)]
    waiting: list[list[pl.DataFrame]] = [[] for _ in paths]
    writers: list[pq.ParquetWriter | None] = [None] * count

    def flush(number: int) -> None:
        table = _arrow(pl.concat(waiting[number]).drop(_PART))
        with writing(paths[number]):
            writer = writers[number] or pq.ParquetWriter(
                paths[number], table.schema, compression="zstd"
            )
            writers[number] = writer
            writer.write_table(table)
        waiting[number] = []

    try:
        for batch in placed.collect_batches(engine="streaming"):
            for (number,), rows in batch.partition_by(_PART, as_dict=True).items():
                waiting[number].append(rows)
                if sum(frame.height for frame in waiting[number]) >= GROUP_ROWS:
                    flush(number)
        for number in range(count):
            if waiting[number]:
                flush(number)
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    return [path for path in paths if path.exists()]


Part = pl.DataFrame | Path  # a part's rows, in memory or in a Parquet file (read, then deleted)


def _load(part: Part) -> pl.DataFrame:
    if isinstance(part, pl.DataFrame):
        return part
    rows = pl.read_parquet(part)
    part.unlink()
    return rows


def _parts(count: int) -> str:
    return "1 part" if count == 1 else f"{count} parts"


@contextlib.contextmanager
def _stage(progress: Progress | None, label: str, total: int) -> Iterator[Stage | _Quiet]:
    if progress is None:
        yield _Quiet()
        return
    with progress.stage(label, total) as stage:
        yield stage


class _Quiet:
    def advance(self, amount: int) -> None:
        pass


def _write(frame: pl.DataFrame, path: Path) -> Path:
    with writing(path):
        frame.write_parquet(path, compression="zstd", statistics=True)
    return path


def _write_by_genre(members: pl.DataFrame, stem: Path) -> Path:
    """Write a part's memberships with each genre's rows in row groups of their own, so the
    final file can take them genre by genre from every part."""
    path = stem.with_suffix(".parquet")
    with pq.ParquetWriter(path, _arrow(members.head(0)).schema, compression="zstd") as writer:
        for genre in members.partition_by("genre_id", maintain_order=True):
            writer.write_table(_arrow(genre))
    return path


def _arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def _join_row_groups(sources: list[tuple[Path, str | None]], target: Path) -> None:
    """Copy row groups into one Parquet file, in the order given: every row group of a file
    (genre None) or those of one genre (each holds one genre: _write_by_genre)."""
    files = {path: pq.ParquetFile(path) for path, _ in sources}
    by_genre = {path for path, genre in sources if genre is not None}
    groups = {path: _groups_by_genre(files[path]) for path in by_genre}
    schema = next(iter(files.values())).schema_arrow
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for path, genre in sources:
            numbers = (
                range(files[path].metadata.num_row_groups)
                if genre is None
                else groups[path].get(genre, [])
            )
            for group in numbers:
                writer.write_table(files[path].read_row_group(group))


def _groups_by_genre(source: pq.ParquetFile) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for group in range(source.metadata.num_row_groups):
        found.setdefault(_genre_of(source, group), []).append(group)
    return found


def _genre_of(source: pq.ParquetFile, group: int) -> str:
    """The genre of a row group written by _write_by_genre (its genre_id's min and max)."""
    column = source.schema_arrow.get_field_index("genre_id")
    stats = source.metadata.row_group(group).column(column).statistics
    if stats is None or not stats.has_min_max or stats.min != stats.max:
        raise ValueError(f"{source}: row group {group} does not hold exactly one genre")
    return str(stats.min)


def _column(path: Path) -> agg.Column:
    """A getter of one column of a Parquet file, read whole, in one chunk."""
    return lambda name: pl.read_parquet(path, columns=[name]).get_column(name).rechunk()


def _in_file_order(parts: list[pl.DataFrame], genres: list[Genre]) -> pl.DataFrame:
    """The parts' rows in file order: genres in catalogue order, rows in file order."""
    return pl.concat(parts) if len(parts) == 1 else _in_catalogue_order(pl.concat(parts), genres)


def _in_catalogue_order(rows: pl.DataFrame, genres: list[Genre]) -> pl.DataFrame:
    positions = {genre.id: place for place, genre in enumerate(genres)}
    order = pl.col("genre_id").replace_strict(positions, return_dtype=pl.Int32)
    return rows.sort(order, "source_row", maintain_order=True)


def _per_genre(rows: pl.DataFrame) -> dict[str, int]:
    return dict(rows.group_by("genre_id").len().iter_rows()) if rows.height else {}
