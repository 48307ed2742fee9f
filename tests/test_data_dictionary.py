"""docs/data-dictionary.md against what the pipeline writes: every table's columns, types and
nulls, and every manifest key, read from datasets the real pipeline builds here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from builders import raw_line, write_raw_csv
from conftest import PROJECT_ROOT

import contract as c
from pipeline import extract
from pipeline.__main__ import main

PAGE = PROJECT_ROOT / "docs" / "data-dictionary.md"
TYPES: dict[str, pl.DataType] = {
    "string": pl.String(), "bool": pl.Boolean(), "int8": pl.Int8(), "int16": pl.Int16(),
    "int32": pl.Int32(), "int64": pl.Int64(), "float64": pl.Float64(),
    "datetime (µs, UTC)": pl.Datetime("us", "UTC"),
}  # fmt: skip
NAMED = {"genres": "<id>", "files": "<name>"}  # objects whose keys are names, as the page writes


def genre(genre_id: str) -> str:
    return f'[[genre]]\nid = "{genre_id}"\nname = "{genre_id.title()}"\ndescription = "D."\n\n'


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two datasets built as `make raw` and `make ingest` do, from a small upstream file.

    The first has each null the page declares for a track (no key detected) and a genre (every
    row quarantined, which --max-bad-share=1 lets through); the second has no tracks at all.
    """
    root = tmp_path_factory.mktemp("dictionary")
    upstream = write_raw_csv(
        root / "upstream.csv",
        [raw_line(n) for n in (1, 2, 3)]
        + [raw_line(4, key="-1")]
        + [raw_line(n, "silent", energy="2") for n in (5, 6)],
    )
    folders = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(extract.UPSTREAM_ENV, str(upstream))
        for name, genres in (("some", ("ambient", "silent")), ("none", ("silent",))):
            data = root / name
            (data / "raw").mkdir(parents=True)
            (data / "raw" / "genres.toml").write_text("".join(map(genre, genres)))
            assert main(["raw", "--data-dir", str(data)]) == 0
            ingest = ["ingest", "--data-dir", str(data), "--no-data-docs", "--max-bad-share=1"]
            assert main(ingest) == 0
            folders.append(data / "curated" / "current")
    return folders


def sections() -> dict[str, str]:
    """The page's `## ` sections by the first `name` in their heading."""
    found = {}
    for part in PAGE.read_text().split("\n## ")[1:]:
        heading, _, body = part.partition("\n")
        named = re.search(r"`([^`]+)`", heading)
        if named:
            found[named.group(1)] = body
    return found


def first_table(section: str) -> list[dict[str, str]]:
    """The rows of a section's first Markdown table, by header cell."""
    text = section[section.index("\n|") + 1 :]
    lines = [line for line in text.split("\n\n")[0].splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, _, *rows = cells
    return [dict(zip(header, row, strict=True)) for row in rows]


def documented(table: str) -> list[tuple[str, str, str]]:
    """(column, type, null) for every column the page lists for a table, in its order."""
    return [
        (name, row["type"], row["null"])
        for row in first_table(sections()[table])
        for name in re.findall(r"`([^`]+)`", row["column"])
    ]


def test_every_curated_table_has_its_section() -> None:
    assert set(c.CURATED_SCHEMAS) <= set(sections())


@pytest.mark.parametrize("table", list(c.CURATED_SCHEMAS))
def test_the_page_lists_each_table_s_columns_and_types_in_order(
    datasets: list[Path], table: str
) -> None:
    schema = pl.read_parquet_schema(datasets[0] / table)
    listed = documented(table)
    assert [name for name, _, _ in listed] == list(schema)
    assert {name: TYPES[kind] for name, kind, _ in listed} == dict(schema)


@pytest.mark.parametrize("table", list(c.CURATED_SCHEMAS))
def test_a_column_holds_nulls_exactly_when_the_page_says_it_can(
    datasets: list[Path], table: str
) -> None:
    """A "no" column has no null in any dataset; each "yes" column has one in these datasets."""
    nulls: dict[str, int] = {}
    for folder in datasets:
        counts = pl.read_parquet(folder / table).null_count().row(0, named=True)
        nulls = {name: nulls.get(name, 0) + count for name, count in counts.items()}
    said = {name: null for name, _, null in documented(table)}
    assert set(said.values()) <= {"yes", "no"}
    assert {name for name, null in said.items() if null == "yes"} == {
        name for name, count in nulls.items() if count
    }


def manifest_keys(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a manifest: `parent.child`, `<id>`/`<name>` for names, `[]` for items."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{NAMED.get(prefix, key)}" if prefix else key
            found |= {path} | manifest_keys(item, path)
    elif isinstance(value, list):
        for item in value:
            found |= manifest_keys(item, f"{prefix}[]")
    return found


def test_the_page_lists_every_manifest_key_and_no_other(datasets: list[Path]) -> None:
    written = manifest_keys(json.loads((datasets[0] / c.MANIFEST).read_text()))
    assert "validation.type_checks" in written  # a key the page once missed
    listed = {re.sub(r"`", "", row["key"]) for row in first_table(sections()[c.MANIFEST])}
    assert listed == written
