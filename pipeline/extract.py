"""Find the upstream Spotify tracks file, split it into raw genre CSVs, and read raw CSVs."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from contract import file_sha256
from pipeline.catalogue import Genre
from pipeline.errors import RawFileError, UpstreamError
from pipeline.raw_lines import Header, Lines, line_problems, read_header, read_lines, utf8_problem

PROJECT_ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_ENV = "KAPIKO_UPSTREAM"
# The local mirror every developer and CI machine has beside the project.
MIRROR_PATH = PROJECT_ROOT.parent / "shared" / "data" / "spotify_tracks" / "dataset.csv"
DOWNLOAD_URL = (
    "https://huggingface.co/datasets/maharshipandya/spotify-tracks-dataset/resolve/main/dataset.csv"
)
UPSTREAM_SHA256 = "b202fa49909b2d5cef71a04b1d21243cfeb36414535f2ca9272aa646721177bd"
GENRE_COLUMN = "track_genre"


def find_upstream(
    download_dir: Path, *, url: str | None = None, sha256: str = UPSTREAM_SHA256
) -> Path:
    """Locate the upstream file: $KAPIKO_UPSTREAM, else the ../shared mirror, else download it."""
    explicit = os.environ.get(UPSTREAM_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UpstreamError(
                f"{UPSTREAM_ENV}={explicit} is not a file: point it at a copy of the upstream "
                "dataset.csv, or unset it"
            )
        return path
    if MIRROR_PATH.is_file():
        return MIRROR_PATH
    return download_upstream(download_dir / "dataset.csv", url=url, sha256=sha256)


def download_upstream(
    target: Path, *, url: str | None = None, sha256: str = UPSTREAM_SHA256
) -> Path:
    """Download the upstream file once (from DOWNLOAD_URL by default), check its sha256."""
    url = url or DOWNLOAD_URL
    if target.is_file() and file_sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, part)
        except OSError as error:
            Path(part.name).unlink(missing_ok=True)
            raise UpstreamError(
                f"could not download the upstream dataset from {url}: {error}. "
                f"Set {UPSTREAM_ENV} to a local copy of dataset.csv instead."
            ) from None
    actual = file_sha256(Path(part.name))
    if actual != sha256:
        Path(part.name).unlink()
        raise UpstreamError(f"downloaded {url} has sha256 {actual}, expected {sha256}; not used")
    os.replace(part.name, target)
    return target


UPSTREAM_BATCH_ROWS = 200_000  # rows of the upstream file held at once while splitting it


def _scan_upstream(path: Path) -> pl.LazyFrame:
    """The upstream file, every column as text (raw CSVs keep its values verbatim)."""
    frame = pl.scan_csv(path, infer_schema=False)
    try:
        columns = frame.collect_schema().names()
    except (OSError, pl.exceptions.PolarsError) as error:
        raise UpstreamError(f"cannot read upstream file {path}: {error}") from None
    if GENRE_COLUMN not in columns:
        raise UpstreamError(f"upstream file {path} has no {GENRE_COLUMN!r} column")
    return frame


def upstream_genres(path: Path) -> list[str]:
    """Genre ids in the upstream file, in their order of first appearance (one streamed pass)."""
    column = _scan_upstream(path).select(pl.col(GENRE_COLUMN).unique(maintain_order=True))
    try:
        return column.collect(engine="streaming").get_column(GENRE_COLUMN).to_list()
    except pl.exceptions.PolarsError as error:
        raise UpstreamError(f"cannot read upstream file {path}: {error}") from None


def write_raw_files(path: Path, genres: list[Genre], raw_dir: Path) -> tuple[list[Path], int]:
    """Write raw_dir/<file> for each genre that has no file yet (never overwrite one), in one
    streamed pass over the upstream file; the files written and the upstream's row count.

    A genre's rows keep the upstream's order and text; each file appears whole or not at all.
    """
    wanted = {genre.id: genre for genre in genres if not (raw_dir / genre.file).exists()}
    upstream = _scan_upstream(path)
    if not wanted:
        return [], upstream.select(pl.len()).collect(engine="streaming").item()
    raw_dir.mkdir(parents=True, exist_ok=True)
    parts: dict[str, Path] = {}
    handles: dict[str, Any] = {}
    rows = 0
    try:
        batches = upstream.collect_batches(chunk_size=UPSTREAM_BATCH_ROWS, engine="streaming")
        for batch in batches:
            rows += batch.height
            mine = batch.filter(pl.col(GENRE_COLUMN).is_in(list(wanted)))
            for (genre_id,), part in mine.partition_by(GENRE_COLUMN, as_dict=True).items():
                if genre_id not in handles:
                    parts[genre_id] = raw_dir / f"{wanted[genre_id].file}.part"
                    handles[genre_id] = parts[genre_id].open("w", encoding="utf-8", newline="")
                    part.head(0).write_csv(handles[genre_id])  # the header, as Polars writes it
                part.write_csv(handles[genre_id], include_header=False)
    except pl.exceptions.PolarsError as error:
        raise UpstreamError(f"cannot read upstream file {path}: {error}") from None
    finally:
        for handle in handles.values():
            handle.close()
        absent = [genre for genre in wanted if genre not in parts]
        if absent or sys.exc_info()[0] is not None:
            for part_path in parts.values():
                part_path.unlink(missing_ok=True)
    if absent:
        genre = wanted[absent[0]]
        raise UpstreamError(
            f"genre {genre.id!r} is not in the upstream file and {raw_dir / genre.file} does not "
            "exist: put a CSV there yourself, or fix the id in the catalogue"
        )
    written = []
    for genre_id in wanted:  # catalogue order
        target = raw_dir / wanted[genre_id].file
        os.replace(parts[genre_id], target)
        written.append(target)
    return written, rows


@dataclass(frozen=True)
class RawFile:
    """One genre's raw CSV: how to read it (every column as text plus a 1-based `source_row`,
    lines that are not rows left out), how many rows it has, and what is wrong with the file
    itself (validation adds its columns and rows, and refuses the file for all)."""

    genre_id: str
    path: Path
    frame: pl.LazyFrame | pl.DataFrame  # lazy when read from a file: it is read when checked
    header_problems: tuple[str, ...] = ()  # delimiter, names given twice, not UTF-8
    line_problems: tuple[str, ...] = ()  # lines with more fields, header lines again, bytes
    unreadable: str | None = None  # why nothing could be read (then the frame is empty)
    rows: int | None = None  # None: count the frame

    @property
    def columns(self) -> list[str]:
        return self.frame.collect_schema().names()

    @property
    def height(self) -> int:
        if self.rows is not None:
            return self.rows
        return int(self.frame.lazy().select(pl.len()).collect().item())


def read_raw(path: Path, genre_id: str) -> pl.DataFrame:
    """Read a raw genre CSV (see read_raw_file); refuse it naming every problem reading found."""
    file = read_raw_file(path, genre_id)
    if file.unreadable is not None:
        raise RawFileError(file.unreadable)
    problems = [*file.header_problems, *file.line_problems]
    if problems:
        raise RawFileError("\n".join(f"{path}: {problem}" for problem in problems))
    return file.frame.lazy().collect()


def read_raw_file(path: Path, genre_id: str) -> RawFile:
    """Look through a raw genre CSV once (streamed) and say how to read it, noting what is
    wrong with the file without stopping at the first problem.

    A file with another delimiter is read with it; bytes that are not UTF-8 are replaced; a line
    with more fields than the header, and a header line again, are left out of the rows (and
    reported), so that validation can check every other row as if the file were fixed. Blank
    lines are not rows: they are skipped (row numbers still count them). A line of empty fields
    (`,,,`) is a row, of nulls.
    """
    try:
        return _read_raw_file(path, genre_id)
    except FileNotFoundError:
        unreadable = f"{path}: file not found (genre {genre_id!r} in the catalogue)"
    except OSError as error:  # a folder, no permission: the system's reason says it
        unreadable = f"{path}: not a readable file: {error.strerror or error}"
    except RawFileError as error:
        unreadable = str(error)
    return RawFile(genre_id, path, pl.DataFrame(), unreadable=unreadable, rows=0)


def _read_raw_file(path: Path, genre_id: str) -> RawFile:
    header = read_header(path)
    lines: Lines | None = None
    problems: list[str] = []
    frame = _scan(path, header)
    try:
        rows, odd = _look_through(frame, header)
    except pl.exceptions.PolarsError as error:
        # Polars does not say where: find the lines (on this rare path) and read around them.
        lines = read_lines(path, header)
        utf8 = None if _header_not_utf8(header) else utf8_problem(path)
        problems += [utf8] if utf8 else []
        if not utf8 and not lines.long:
            raise _unreadable(path, error) from None
        frame = _scan(path, header, lossy=True, ragged=bool(lines.long))
        try:
            rows, odd = _look_through(frame, header)
        except pl.exceptions.PolarsError as again:
            raise _unreadable(path, again) from None
    if lines is None and odd:
        lines = read_lines(path, header)
    if lines is None:
        return RawFile(genre_id, path, frame, tuple(header.problems), rows=rows)
    problems = line_problems(lines, header, genre_id) + problems
    left_out = sorted(set(lines.rows()))
    frame = frame.filter(~pl.col("source_row").is_in(left_out))
    rows -= sum(1 for row in left_out if row <= rows)
    return RawFile(genre_id, path, frame, tuple(header.problems), tuple(problems), rows=rows)


def _scan(path: Path, header: Header, *, lossy: bool = False, ragged: bool = False) -> pl.LazyFrame:
    """The file as text columns with `source_row`, to be streamed; `lossy` replaces bytes that
    are not UTF-8 and `ragged` cuts lines with too many fields, once both are found and told.
    The copies Polars makes of a column named twice (`<name>_duplicated_<n>`) are left out: the
    header problem is told, and the first column of the name is the one checked."""
    frame = pl.scan_csv(
        path,
        infer_schema=False,
        raise_if_empty=False,
        separator=header.delimiter,
        encoding="utf8-lossy" if lossy else "utf8",
        truncate_ragged_lines=ragged,
        row_index_name="source_row",
        row_index_offset=1,
    )
    twice = {name for name in header.names if header.names.count(name) > 1}
    columns = frame.collect_schema().names()
    copies = [c for c in columns if c.rpartition("_duplicated_")[0] in twice]
    return frame.drop(copies).with_columns(pl.col("source_row").cast(pl.Int64))


def _look_through(frame: pl.LazyFrame, header: Header) -> tuple[int, bool]:
    """One streamed pass: the file's row count, and whether any row may be a blank line or a
    header line again (read_lines tells which)."""
    columns = [column for column in frame.collect_schema().names() if column != "source_row"]
    if not columns:
        return 0, False
    names = list(dict.fromkeys(header.names))
    empty = pl.all_horizontal(pl.col(columns).is_null())
    named = pl.all_horizontal(pl.col(c).is_null() | pl.col(c).is_in(names) for c in columns)
    found = frame.select(pl.len(), (empty | named).any().alias("odd"))
    rows, odd = found.collect(engine="streaming").row(0)
    return int(rows), bool(odd)


def _unreadable(path: Path, error: Exception) -> RawFileError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return RawFileError(f"{path}: not a readable CSV file: {first}")


def _header_not_utf8(header: Header) -> bool:
    return any("is not valid UTF-8" in problem for problem in header.problems)
