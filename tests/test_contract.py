"""contract/: the schema and its migrations, the data digest, the field catalogue and its page."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import contract as c
from contract.digest import data_digest, version_name
from contract.fields import FIELDS, SORTS, STORED, dictionary_table

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_the_last_migration_is_the_schema_the_tables_have() -> None:
    """Changing a table's columns (adding a field, say) needs a named migration."""
    last = c.MIGRATIONS[-1]
    assert last.fingerprint == c.schema_fingerprint(), (
        "the curated schema changed: append a Migration to contract.MIGRATIONS naming the "
        f"change, with fingerprint {c.schema_fingerprint()!r}"
    )
    assert [m.schema for m in c.MIGRATIONS] == list(range(1, c.SCHEMA_VERSION + 1))


def test_the_data_dictionary_holds_the_catalogue_s_table() -> None:
    page = (PROJECT_ROOT / "docs" / "data-dictionary.md").read_text()
    assert dictionary_table() in page, "regenerate it with `python -m contract`"


def test_the_tracks_schema_is_the_catalogue_s_stored_fields_in_order() -> None:
    assert list(c.CURATED_SCHEMAS[c.TRACKS]) == [field.name for field in STORED]
    assert [f.name for f in FIELDS][:4] == ["id", "name", "artists", "album"]


def test_every_sort_names_a_sortable_field_and_the_contract_s_seven_come_first() -> None:
    assert list(SORTS)[:7] == ["popularity", "energy", "energy_asc", "tempo", "tempo_asc",
                               "valence", "name"]  # fmt: skip
    sortable = {field.name for field in FIELDS if field.sort}
    assert {column for column, _ in SORTS.values()} == sortable


def frame(**columns: list[object]) -> pl.DataFrame:
    return pl.DataFrame(columns)


def test_the_digest_is_of_the_content_not_of_how_a_file_encodes_it(tmp_path: Path) -> None:
    table = frame(id=["a", "b", None], x=[1.5, 2.0, 3.25], n=[1, 2, 3])
    for compression in ("zstd", "snappy", "uncompressed"):
        path = tmp_path / f"{compression}.parquet"
        table.write_parquet(path, compression=compression, row_group_size=1)
        assert data_digest({"t": pl.read_parquet(path)}) == data_digest({"t": table})


@pytest.mark.parametrize(
    "other",
    [
        frame(id=["a", "b", None], x=[1.5, 2.0, 3.5], n=[1, 2, 3]),  # one value
        frame(id=["a", "b", ""], x=[1.5, 2.0, 3.25], n=[1, 2, 3]),  # null and empty differ
        frame(id=["ab", "", None], x=[1.5, 2.0, 3.25], n=[1, 2, 3]),  # where strings split
        frame(id=["a", "b", None], x=[1.5, 2.0, 3.25], m=[1, 2, 3]),  # a column's name
        frame(id=["a", "b", None], x=[1.5, 2.0, 3.25], n=[1.0, 2.0, 3.0]),  # a column's type
    ],
)
def test_any_change_of_the_content_changes_the_digest(other: pl.DataFrame) -> None:
    table = frame(id=["a", "b", None], x=[1.5, 2.0, 3.25], n=[1, 2, 3])
    assert data_digest({"t": other}) != data_digest({"t": table})


def test_a_version_is_named_by_the_start_of_its_digest() -> None:
    digest = data_digest({"t": frame(x=[1])})
    assert version_name(digest) == digest[:16] and len(version_name(digest)) == 16
