"""pipeline/validate.py: file checks, typed rows, quarantine reasons, refusals and the GX suite."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline import expectations
from pipeline.errors import PipelineError, RawFileError, ValidationRefused
from pipeline.expectations import RAW_COLUMNS as RAW_REQUIRED_COLUMNS
from pipeline.extract import read_raw
from pipeline.refusal import check_columns
from pipeline.validate import GenreCounts, RawFile, ValidationOutcome, validate_files

Row = dict[str, str | None]

# An invented track (not from the upstream data), every value inside the contract.
GOOD: Row = {
    "": "7",
    "track_id": "0a1B2c3D4e5F6g7H8i9J0k",
    "artists": "Ada Example;Bo Sample",
    "album_name": "Test Album",
    "track_name": "Test Track",
    "popularity": "42",
    "duration_ms": "180000",
    "explicit": "False",
    "danceability": "0.5",
    "energy": "0.25",
    "key": "5",
    "loudness": "-8.5",
    "mode": "1",
    "speechiness": "0.04",
    "acousticness": "0.75",
    "instrumentalness": "1e-06",
    "liveness": "0.1",
    "valence": "0.3",
    "tempo": "120.0",
    "time_signature": "4",
    "track_genre": "acoustic",
}
# Every value on an edge of its range: all of them pass.
EDGES: Row = {
    **GOOD,
    "popularity": "100",
    "explicit": "true",
    "danceability": "0",
    "energy": "1",
    "key": "-1",
    "loudness": "5",
    "mode": "0",
    "tempo": "0",
    "time_signature": "0",
}
ALL_COLUMNS = list(GOOD)

# (what is wrong, the row's changes, the exact reason), one quarantined row each.
BAD_VALUES: list[tuple[str, Row, str]] = [
    ("unit_above_1", {"energy": "1.2"}, "energy 1.2 is outside [0, 1]"),
    ("unit_below_0", {"valence": "-0.1"}, "valence -0.1 is outside [0, 1]"),
    ("popularity_above_100", {"popularity": "101"}, "popularity 101 is outside [0, 100]"),
    ("duration_0", {"duration_ms": "0"}, "duration_ms 0 is not above 0"),
    ("key_12", {"key": "12"}, "key 12 is outside [-1, 11]"),
    ("mode_2", {"mode": "2"}, "mode 2 is outside [0, 1]"),
    ("loudness_too_low", {"loudness": "-61"}, "loudness -61 is outside [-60, 5]"),
    ("tempo_too_high", {"tempo": "250.5"}, "tempo 250.5 is outside [0, 250]"),
    ("time_signature_8", {"time_signature": "8"}, "time_signature 8 is outside [0, 7]"),
    ("short_track_id", {"track_id": "abc"}, "track_id 'abc' does not match ^[0-9A-Za-z]{22}$"),
    ("missing_track_id", {"track_id": None}, "track_id is missing"),
    ("missing_artists", {"artists": None}, "artists is missing"),
    (
        "empty_album",
        {"album_name": ""},
        "album_name '' is blank (only spaces or invisible characters)",
    ),
    (
        "blank_track_name",
        {"track_name": " \u00a0"},
        "track_name ' \u00a0' is blank (only spaces or invisible characters)",
    ),
    (
        "invisible_artists",
        {"artists": "\u200b\u3000\ufeff"},
        "artists '\u200b\u3000\ufeff' is blank (only spaces or invisible characters)",
    ),
    (
        "control_in_name",
        {"track_name": "A\x1b[2J\x00B"},
        "track_name 'A\\x1b[2J\\x00B' holds a control character",
    ),
    (
        "c1_control",
        {"album_name": "Dones\x82"},
        "album_name 'Dones\\x82' holds a control character",
    ),
    ("decimal_popularity", {"popularity": "7.5"}, "popularity '7.5' is not an integer"),
    ("missing_duration", {"duration_ms": None}, "duration_ms is missing"),
    ("word_for_number", {"danceability": "high"}, "danceability 'high' is not a finite number"),
    ("nan", {"liveness": "nan"}, "liveness 'nan' is not a finite number"),
    ("infinity", {"tempo": "inf"}, "tempo 'inf' is not a finite number"),
    ("yes_for_boolean", {"explicit": "yes"}, "explicit 'yes' is not True or False"),
    ("upper_case_boolean", {"explicit": "TRUE"}, "explicit 'TRUE' is not True or False"),
    ("bad_upstream_index", {"": "x"}, "upstream_row 'x' is not an integer"),
]
# Fails three rules: each rule counts it, whatever else it fails (its popularity does not parse,
# its energy does and is out of range).
SEVERAL: Row = {**GOOD, "artists": None, "popularity": "abc", "energy": "1.2"}
SEVERAL_REASONS = (
    "artists is missing; popularity 'abc' is not an integer; energy 1.2 is outside [0, 1]"
)
FIRST_BAD_ROW = 3  # rows 1 and 2 of the mixed file are GOOD and EDGES


def row(**changes: str | None) -> Row:
    return {**GOOD, **changes}


def raw_frame(rows: list[Row], columns: list[str] = ALL_COLUMNS) -> pl.DataFrame:
    """A raw file as extract reads it: text columns plus a 1-based Int64 source_row."""
    frame = pl.DataFrame(
        [{column: r.get(column) for column in columns} for r in rows],
        schema=dict.fromkeys(columns, pl.String),
    )
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_row"))


def raw_file(genre: str, rows: list[Row], columns: list[str] = ALL_COLUMNS) -> RawFile:
    return RawFile(genre, Path(f"data/raw/{genre}.csv"), raw_frame(rows, columns))


def file_with_bad_rows(genre: str, bad: int, total: int = 20) -> RawFile:
    rows = [row(energy="1.2")] * bad + [GOOD] * (total - bad)
    return raw_file(genre, rows)


# ---------------------------------------------------------------- one shared GX run
@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("validate") / "data_docs"


@pytest.fixture(scope="module")
def outcome(docs_dir: Path) -> ValidationOutcome:
    """A mixed file with every kind of bad row, then a clean file without the optional columns."""
    mixed = [GOOD, EDGES, *[row(**changes) for _, changes, _ in BAD_VALUES], SEVERAL]
    clean = raw_file(
        "sleep", [row(track_name="Second"), row(track_name="Third")], ALL_COLUMNS[1:-1]
    )
    return validate_files([raw_file("mixed", mixed), clean], max_bad_share=1.0, docs_dir=docs_dir)


def test_good_row_passes_unchanged_with_contract_dtypes(outcome: ValidationOutcome) -> None:
    expected = pl.DataFrame(
        {
            "genre_id": ["mixed"],
            "source_row": [1],
            "upstream_row": [7],
            "track_id": ["0a1B2c3D4e5F6g7H8i9J0k"],
            "artists": ["Ada Example;Bo Sample"],
            "album_name": ["Test Album"],
            "track_name": ["Test Track"],
            "popularity": [42],
            "duration_ms": [180000],
            "explicit": [False],
            "danceability": [0.5],
            "energy": [0.25],
            "key": [5],
            "loudness": [-8.5],
            "mode": [1],
            "speechiness": [0.04],
            "acousticness": [0.75],
            "instrumentalness": [1e-06],
            "liveness": [0.1],
            "valence": [0.3],
            "tempo": [120.0],
            "time_signature": [4],
        },
        schema={
            "genre_id": pl.String(),
            "source_row": pl.Int64(),
            "upstream_row": pl.Int64(),
            **RAW_REQUIRED_COLUMNS,
        },
    )
    assert_frame_equal(outcome.valid.collect().head(1), expected)


def test_values_on_the_edges_of_their_ranges_pass(outcome: ValidationOutcome) -> None:
    edges = outcome.valid.collect().filter(pl.col("source_row") == 2).row(0, named=True)
    assert (edges["popularity"], edges["explicit"], edges["key"], edges["tempo"]) == (
        100,
        True,
        -1,
        0.0,
    )
    assert (edges["energy"], edges["loudness"], edges["time_signature"]) == (1.0, 5.0, 0)


def test_valid_rows_keep_file_then_row_order_and_lose_track_genre(
    outcome: ValidationOutcome,
) -> None:
    assert outcome.valid.collect().select("genre_id", "source_row").rows() == [
        ("mixed", 1),
        ("mixed", 2),
        ("sleep", 1),
        ("sleep", 2),
    ]
    assert outcome.valid.collect().filter(pl.col("genre_id") == "sleep")[
        "upstream_row"
    ].to_list() == [
        None,
        None,
    ]
    assert "track_genre" not in outcome.valid.collect().columns


@pytest.mark.parametrize(
    ("position", "reason"),
    [(i, reason) for i, (_, _, reason) in enumerate(BAD_VALUES)],
    ids=[name for name, _, _ in BAD_VALUES],
)
def test_bad_value_is_quarantined_with_its_reason(
    outcome: ValidationOutcome, position: int, reason: str
) -> None:
    quarantined = outcome.quarantined.collect().filter(
        pl.col("source_row") == FIRST_BAD_ROW + position
    )
    assert quarantined["reasons"].to_list() == [reason]


def test_row_failing_several_rules_gets_every_reason_in_column_order(
    outcome: ValidationOutcome,
) -> None:
    last = outcome.quarantined.collect().filter(
        pl.col("source_row") == FIRST_BAD_ROW + len(BAD_VALUES)
    )
    assert last["reasons"].to_list() == [SEVERAL_REASONS]


def test_quarantined_rows_keep_provenance_and_raw_text(outcome: ValidationOutcome) -> None:
    quarantined = outcome.quarantined.collect()
    assert quarantined.columns[:5] == [
        "genre_id",
        "source_file",
        "source_row",
        "reasons",
        "upstream_row",
    ]
    assert quarantined.columns[5:] == [*RAW_REQUIRED_COLUMNS, "track_genre"]
    assert quarantined.schema["source_row"] == pl.Int64
    assert all(
        dtype == pl.String for name, dtype in quarantined.schema.items() if name != "source_row"
    )
    nan_row = quarantined.filter(pl.col("liveness") == "nan").row(0, named=True)
    assert (nan_row["genre_id"], nan_row["source_file"], nan_row["upstream_row"]) == (
        "mixed",
        "mixed.csv",
        "7",
    )
    assert quarantined["genre_id"].unique().to_list() == ["mixed"]


def test_counts_rows_per_genre(outcome: ValidationOutcome) -> None:
    bad = len(BAD_VALUES) + 1
    assert outcome.counts == {
        "mixed": GenreCounts(rows_read=2 + bad, valid=2, quarantined=bad),
        "sleep": GenreCounts(rows_read=2, valid=2, quarantined=0),
    }


def test_each_rule_counts_every_row_that_fails_it(outcome: ValidationOutcome) -> None:
    energy = [e for e in outcome.expectations if e.description == "energy between 0 and 1"]
    # energy 1.2 in the unit_above_1 row and in the SEVERAL row (whose popularity does not parse)
    assert [(e.expectation, e.column, e.success, e.unexpected_count) for e in energy] == [
        ("expect_column_values_to_be_between", "energy", False, 2)
    ]


def test_results_list_parse_checks_and_every_gx_expectation(outcome: ValidationOutcome) -> None:
    failed = {
        (e.expectation, e.description): e.unexpected_count
        for e in outcome.expectations
        if not e.success
    }
    assert failed[("parse_as_type", "popularity is an integer")] == 2  # '7.5' and 'abc'
    assert failed[("parse_as_type", "explicit is True or False")] == 2  # 'yes' and 'TRUE'
    assert failed[("expect_column_values_to_not_be_null", "artists present")] == 2  # and SEVERAL
    assert failed[("expect_column_values_to_not_match_regex", "album_name not blank")] == 1
    gx_types = {e.expectation for e in outcome.expectations} - {expectations.PARSE_CHECK}
    assert gx_types == {
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_not_be_null",
    }


def test_data_docs_are_written_when_asked(outcome: ValidationOutcome, docs_dir: Path) -> None:
    assert (docs_dir / "index.html").is_file()
    assert list(docs_dir.glob("validations/**/*.html"))


# ---------------------------------------------------------------- file-level refusals
@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame(), "empty file"),
        (raw_frame([]), "no data rows"),
        (
            raw_frame([GOOD], [c for c in ALL_COLUMNS if c != "energy"]),
            r"wrong columns \(missing 1: energy\);",
        ),
        (
            raw_frame([GOOD]).with_columns(bonus=pl.lit("x")),
            r"wrong columns \(unexpected 1: 'bonus'\);",
        ),
        (
            raw_frame([GOOD]).rename({"energy": "Energy"}),
            r"wrong columns \(missing 1: energy; unexpected 1: 'Energy'\);",
        ),
    ],
    ids=[
        "no_header",
        "header_only",
        "missing_column",
        "unexpected_column",
        "misspelt_column",
    ],
)
def test_check_columns_refuses_unusable_files(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(RawFileError, match=rf"^data/raw/x\.csv: {message}"):
        check_columns(frame, Path("data/raw/x.csv"))


@pytest.mark.parametrize("mark", [";", "\t", "|"], ids=["semicolons", "tabs", "pipes"])
def test_wrong_delimiter_is_refused_when_the_file_is_read(tmp_path: Path, mark: str) -> None:
    """The one delimiter check is extract.read_raw's: such a file never reaches validation."""
    path = tmp_path / "x.csv"
    lines = [mark.join(ALL_COLUMNS), mark.join(value or "" for value in GOOD.values())]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        RawFileError,
        match=rf"^{re.escape(str(path))}: wrong delimiter: .* but {re.escape(repr(mark))}",
    ):
        read_raw(path, "x")


def test_check_columns_accepts_the_optional_columns_being_absent() -> None:
    check_columns(raw_frame([GOOD], list(RAW_REQUIRED_COLUMNS)), Path("x.csv"))
    check_columns(raw_frame([GOOD]), Path("x.csv"))


def test_every_unusable_file_is_listed_in_one_error() -> None:
    files = [
        raw_file("no_energy", [GOOD], [c for c in ALL_COLUMNS if c != "energy"]),
        file_with_bad_rows("too_bad", 2),
        RawFile(
            "bonus", Path("data/raw/bonus.csv"), raw_frame([GOOD]).with_columns(bonus=pl.lit("x"))
        ),
    ]
    with pytest.raises(RawFileError) as caught:
        validate_files(files)
    report = str(caught.value)
    assert report.startswith("3 of 3 raw files refused:")
    assert report.index("no_energy.csv: wrong columns") < report.index("too_bad.csv: 2 of 20 rows")
    assert "bonus.csv: wrong columns (unexpected 1: 'bonus')" in report


# ---------------------------------------------------------------- max_bad_share
def test_file_with_exactly_max_bad_share_bad_rows_passes() -> None:
    result = validate_files([file_with_bad_rows("at_limit", 1)], max_bad_share=0.05)
    assert result.counts == {"at_limit": GenreCounts(rows_read=20, valid=19, quarantined=1)}


def test_file_over_max_bad_share_is_refused_with_share_checks_and_examples() -> None:
    files = [file_with_bad_rows("at_limit", 1), file_with_bad_rows("over", 7)]
    with pytest.raises(ValidationRefused) as caught:
        validate_files(files, max_bad_share=0.05)
    report = str(caught.value).splitlines()
    assert report[:4] == [
        "1 of 2 raw files refused:",
        "",
        "data/raw/over.csv: 7 of 20 rows (35.00%) failed validation, more than the 5.00% allowed "
        "(max_bad_share=0.05); fix the file or raise the limit.",
        "  failed checks:",
    ]
    assert report[4:7] == [
        "    - energy between 0 and 1 (expect_column_values_to_be_between): 7 rows",
        "  first 5 bad rows (1-based data rows):",
        "    - row 1: energy 1.2 is outside [0, 1]",
    ]
    assert report[-1] == "    - row 5: energy 1.2 is outside [0, 1]"


def test_a_refusal_carries_what_validation_found_for_the_report() -> None:
    files = [file_with_bad_rows("at_limit", 1), file_with_bad_rows("over", 7)]
    with pytest.raises(ValidationRefused) as caught:
        validate_files(files, max_bad_share=0.05)
    found = caught.value.findings
    assert found.counts == {
        "at_limit": GenreCounts(rows_read=20, valid=19, quarantined=1),
        "over": GenreCounts(rows_read=20, valid=13, quarantined=7),
    }
    assert found.quarantined.collect().height == 8
    energy = [e for e in found.expectations if e.description == "energy between 0 and 1"]
    assert [(e.success, e.unexpected_count) for e in energy] == [(False, 8)]


def test_a_refusal_for_unusable_columns_carries_every_files_findings() -> None:
    files = [raw_file("no_energy", [GOOD], [c for c in ALL_COLUMNS if c != "energy"])]
    files.append(raw_file("fine", [GOOD, GOOD]))
    with pytest.raises(RawFileError) as caught:
        validate_files(files)
    # The file without energy is refused, and its rows were checked all the same (without a
    # reason per row for the missing column: the file's problem says it once).
    assert caught.value.findings.counts == {
        "no_energy": GenreCounts(1, 1, 0),
        "fine": GenreCounts(2, 2, 0),
    }


def test_max_bad_share_outside_0_to_1_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="max_bad_share"):
        validate_files([], max_bad_share=5)


def test_two_files_for_one_genre_are_refused() -> None:
    with pytest.raises(PipelineError, match="more than one raw file for genre"):
        validate_files([raw_file("sad", [GOOD]), raw_file("sad", [GOOD])])


def test_a_row_of_empty_fields_has_one_reason_in_quarantine_and_in_the_refusal() -> None:
    empty = dict.fromkeys(ALL_COLUMNS, None)
    blank = {**empty, "track_id": ""}  # an empty quoted field reads as ""
    files = [raw_file("gaps", [GOOD] * 3 + [empty, blank])]
    with pytest.raises(ValidationRefused) as caught:
        validate_files(files, max_bad_share=0.05)
    assert "    - row 4: every field is empty" in str(caught.value).splitlines()
    assert "    - row 5: every field is empty" in str(caught.value).splitlines()
    result = validate_files(files, max_bad_share=1.0)
    assert result.quarantined.collect().select("source_row", "reasons").rows() == [
        (4, "every field is empty"),
        (5, "every field is empty"),
    ]
    assert result.counts == {"gaps": GenreCounts(rows_read=5, valid=3, quarantined=2)}
