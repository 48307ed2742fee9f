"""What a raw CSV's header and lines say: its delimiter and column names, and the lines that are
blank, hold more fields than the header, repeat the header or are not UTF-8.

Polars reads the rows; these plain streamed reads find what Polars cannot name (a line number,
a byte) and run only when a read shows there is something to find.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RawFileError

OTHER_DELIMITERS = (";", "\t", "|")
SHOWN = 5  # lines named in one problem; the rest are counted


@dataclass(frozen=True)
class Header:
    """A raw file's first non-blank line: its names, the delimiter it uses and its problems."""

    names: list[str]
    delimiter: str
    problems: list[str]  # the delimiter, names given twice, bytes that are not UTF-8


@dataclass
class Lines:
    """Data rows (numbered from 1 after the header, blank lines included) that are not rows."""

    blank: list[int] = field(default_factory=list)
    long: list[tuple[int, int, int]] = field(default_factory=list)  # row, line, fields
    headers: list[tuple[int, int, bool]] = field(default_factory=list)  # row, line, same order

    def rows(self) -> list[int]:
        """The data rows to leave out of validation: reported here, not as bad rows."""
        return [
            *self.blank,
            *(row for row, _, _ in self.long),
            *(row for row, _, _ in self.headers),
        ]


def read_header(path: Path) -> Header:
    """The header line, read as CSV with the delimiter it uses (a comma unless it has none)."""
    with open(path, "rb") as handle:
        line = next((line for line in handle if line.strip()), b"")
    problems = []
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("utf-8", errors="replace")
        problems.append(str(utf8_problem(path)))
    marks = [mark for mark in OTHER_DELIMITERS if mark in text]
    delimiter = marks[0] if "," not in text and marks else ","
    if delimiter != ",":
        problems.append(
            f"wrong delimiter: the header line {text.strip()[:80]!r} has no commas but "
            f"{delimiter!r}; the file must be comma-separated, with the Spotify-feature columns "
            f"(its rows were read with {delimiter!r} to check them too)"
        )
    names = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), [])
    for name, count in Counter(names).items():
        if count > 1:
            where = [str(i) for i, other in enumerate(names, start=1) if other == name]
            times = "twice" if count == 2 else f"{count} times"
            problems.append(
                f"column {name!r} appears {times} in the header (columns "
                f"{', '.join(where[:-1])} and {where[-1]}): keep one, or rename the others"
            )
    return Header(names, delimiter, problems)


def read_lines(path: Path, header: Header) -> Lines:
    """Every blank line, line with more fields than the header and repeated header, streamed."""
    found = Lines()
    with (
        _any_field_size(path),
        open(path, newline="", encoding="utf-8", errors="replace") as handle,
    ):
        records = csv.reader(handle, delimiter=header.delimiter)
        try:
            next((record for record in records if record), None)  # the header, after blank lines
            line = records.line_num  # a record starts on the line after the previous one ended
            for row, record in enumerate(records, start=1):
                if not record:
                    found.blank.append(row)
                elif len(record) > len(header.names):
                    found.long.append((row, line + 1, len(record)))
                elif sorted(record) == sorted(header.names):
                    found.headers.append((row, line + 1, record == header.names))
                line = records.line_num
        except csv.Error as error:  # e.g. a field over csv.field_size_limit() characters
            raise RawFileError(
                f"{path}: line {records.line_num}: {error}; check the quotes on and before that "
                "line (a quote left open makes one huge field)"
            ) from None
    return found


@contextmanager
def _any_field_size(path: Path) -> Iterator[None]:
    """Let Python's csv reader take a field as large as the file (the format has no limit; the
    reader's default, 131,072 characters, refused a valid 200,000-character name)."""
    before = csv.field_size_limit()
    csv.field_size_limit(max(before, path.stat().st_size + 1))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def line_problems(lines: Lines, header: Header, genre_id: str) -> list[str]:
    """What to tell about lines that are not rows: too many fields, a header again."""
    problems = []
    width = len(header.names)
    fix = 'quote values that contain commas ("a, b") or remove the extra fields'
    if len(lines.long) == 1:
        _, line, fields = lines.long[0]
        problems.append(f"line {line} has {fields} fields, the header has {width}: {fix}")
    elif lines.long:
        listed = [f"line {line} ({fields})" for _, line, fields in lines.long]
        problems.append(
            f"{len(listed)} lines have more fields than the header's {width}: {_some(listed)}; "
            f"{fix}"
        )
    repeats = [line for _, line, same in lines.headers if same]
    if repeats:
        numbers = [str(line) for line in repeats]
        problems.append(
            f"{_lines(numbers)} {'repeats' if len(repeats) == 1 else 'repeat'} the header: two "
            "files joined into one (as `cat a.csv b.csv` does)? Delete "
            f"{'it' if len(repeats) == 1 else 'them'} after checking that the rows after "
            f"{'it' if len(repeats) == 1 else 'each'} belong to genre {genre_id!r}"
        )
    others = [str(line) for _, line, same in lines.headers if not same]
    if others:
        problems.append(
            f"{_lines(others)} {'is a header' if len(others) == 1 else 'are headers'} again, "
            "with the columns in another order: the rows after it come from a file whose values "
            "are in other columns; put them in this header's order and delete the line"
        )
    return problems


def _lines(numbers: list[str]) -> str:
    return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {_some(numbers)}"


def _some(items: list[str]) -> str:
    """The first few items, then how many more."""
    shown = items[:SHOWN]
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    if more or len(shown) == 1:
        return ", ".join(shown) + more
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def utf8_problem(path: Path) -> str | None:
    """Where the file first stops being UTF-8, streamed line by line; None if it is UTF-8."""
    offset = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return (
                    f"byte {offset + error.start} (line {number}) is not valid UTF-8 "
                    f"({line[error.start]:#04x}; bytes count from 0): re-save the file as UTF-8 "
                    "(it may be Latin-1 or Windows-1252 text)"
                )
            offset += len(line)
    return None
