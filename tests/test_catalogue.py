"""pipeline/catalogue.py: reading and checking data/raw/genres.toml."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import DEFAULT_CATALOGUE, PROJECT_ROOT

from pipeline.catalogue import Genre, load_catalogue
from pipeline.errors import CatalogueError

DEFAULT_IDS = [
    "ambient",
    "chill",
    "study",
    "sleep",
    "piano",
    "classical",
    "new-age",
    "trip-hop",
    "sad",
    "acoustic",
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "genres.toml"
    path.write_text(text)
    return path


def test_default_catalogue_lists_the_ten_genres_in_priority_order() -> None:
    genres = load_catalogue(DEFAULT_CATALOGUE)
    assert [g.id for g in genres] == DEFAULT_IDS
    assert all(g.top_n is None and g.file == f"{g.id}.csv" and g.description for g in genres)


def test_the_tests_default_catalogue_is_the_one_the_project_ships() -> None:
    """The shipped default is data/raw/genres.toml as committed, not as a user has edited it."""
    assert (PROJECT_ROOT / ".git").exists(), "the suite runs in a git clone (README, Quick start)"
    shipped = subprocess.run(
        ["git", "show", "HEAD:data/raw/genres.toml"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shipped == DEFAULT_CATALOGUE.read_text(), (
        "the committed data/raw/genres.toml is not tests/data/default-genres.toml: if the default "
        "catalogue changed on purpose, copy it there and update the figures the tests expect"
    )


def test_entry_with_top_n_and_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[genre]]\nid = "lo-fi"\nname = "Lo-Fi"\ndescription = "Beats."\ntop_n = 5\nfile = "x/lofi.csv"\n',
    )
    assert load_catalogue(path) == [Genre("lo-fi", "Lo-Fi", "Beats.", "x/lofi.csv", 5)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected one or more [[genre]] tables"),
        ("[[genre]\n", "is not valid TOML"),
        ('[[genre]]\nid = "Ambient"\nname = "A"\ndescription = "d"\n', "must match"),
        ('[[genre]]\nid = "a"\ndescription = "d"\n', "missing ['name']"),
        (
            '[[genre]]\nid = "a"\nname = "A"\ndescription = "d"\ncolour = "red"\n',
            "unknown keys ['colour']",
        ),
        (
            '[[genre]]\nid = "a"\nname = "A"\ndescription = "d"\ntop_n = 0\n',
            "top_n must be a positive integer",
        ),
        (
            '[[genre]]\nid = "a"\nname = "A"\ndescription = "d"\ntop_n = true\n',
            "top_n must be a positive integer",
        ),
        ('[[genre]]\nid = "a"\nname = ""\ndescription = "d"\n', "name must be a non-empty string"),
        (
            '[[genre]]\nid = "a"\nname = "A"\ndescription = "d"\nfile = "../x.csv"\n',
            "inside the raw folder",
        ),
        (
            '[[genre]]\nid = "a"\nname = "A"\ndescription = "d"\n[[genre]]\nid = "a"\nname = "B"\ndescription = "e"\n',
            "id 'a' appears more than once",
        ),
    ],
)
def test_invalid_catalogue_is_refused_with_the_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(CatalogueError, match=re.escape(message)):
        load_catalogue(write(tmp_path, text))


def test_missing_catalogue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not found"):
        load_catalogue(tmp_path / "nope.toml")
