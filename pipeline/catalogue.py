"""The genre catalogue (data/raw/genres.toml): which genres to publish, in priority order."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import CatalogueError

GENRE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REQUIRED_KEYS = {"id", "name", "description"}
_OPTIONAL_KEYS = {"top_n", "file"}


@dataclass(frozen=True)
class Genre:
    """One catalogue entry; `file` is relative to the raw folder."""

    id: str
    name: str
    description: str
    file: str
    top_n: int | None = None


def load_catalogue(path: Path) -> list[Genre]:
    """Read and check a catalogue file; raise CatalogueError naming every problem found."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"genre catalogue {path} not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"genre catalogue {path} is not valid TOML: {error}") from None
    entries = document.get("genre")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: expected one or more [[genre]] tables, found none")
    problems: list[str] = []
    genres = [_genre(entry, number, problems) for number, entry in enumerate(entries, start=1)]
    problems += _duplicates([genre.id for genre in genres], "id")
    problems += _duplicates([genre.file for genre in genres], "file")
    if problems:
        raise CatalogueError(f"{path} is invalid:\n  - " + "\n  - ".join(problems))
    return genres


def _genre(entry: Any, number: int, problems: list[str]) -> Genre:
    where = f"genre #{number}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a table, got {type(entry).__name__}")
        return Genre(id=f"#{number}", name="", description="", file="")
    where = f"genre #{number} ({entry.get('id', 'no id')!s})"
    unknown = sorted(set(entry) - _REQUIRED_KEYS - _OPTIONAL_KEYS)
    missing = sorted(_REQUIRED_KEYS - set(entry))
    if unknown:
        problems.append(
            f"{where}: unknown keys {unknown}; allowed: id, name, description, top_n, file"
        )
    if missing:
        problems.append(f"{where}: missing {missing}")
    for key in ("id", "name", "description", "file"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            problems.append(f"{where}: {key} must be a non-empty string")
    genre_id = entry.get("id") if isinstance(entry.get("id"), str) else f"#{number}"
    if "id" in entry and isinstance(entry["id"], str) and not GENRE_ID_PATTERN.match(entry["id"]):
        problems.append(f"{where}: id {entry['id']!r} must match {GENRE_ID_PATTERN.pattern}")
    top_n = entry.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        problems.append(f"{where}: top_n must be a positive integer, got {top_n!r}")
        top_n = None
    file = entry.get("file", f"{genre_id}.csv")
    if isinstance(file, str) and (Path(file).is_absolute() or ".." in Path(file).parts):
        problems.append(f"{where}: file {file!r} must be a path inside the raw folder")
    return Genre(
        id=str(genre_id),
        name=str(entry.get("name", "")),
        description=str(entry.get("description", "")),
        file=str(file),
        top_n=top_n,
    )


def _duplicates(values: list[str], key: str) -> list[str]:
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    return [f"{key} {value!r} appears more than once" for value in repeated]


def catalogue_entry(genre_id: str) -> str:
    """TOML text of a catalogue entry for an upstream genre, with a generated name and description."""
    name = genre_id.replace("-", " ").title()
    description = f"Tracks Spotify files under the '{genre_id}' genre in the upstream dataset."
    return f'\n[[genre]]\nid = "{genre_id}"\nname = "{name}"\ndescription = "{description}"\n'
