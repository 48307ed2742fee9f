"""pipeline/quality_report.py: the run's one offline page, in offline Chromium and as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from browser import WatchedPage, save_screenshot
from builders import catalogue, raw_line, track_id, write_raw_csv

from pipeline.__main__ import main
from pipeline.errors import RawFileError, ValidationRefused
from pipeline.expectations import ExpectationResult, row_rules
from pipeline.quality_report import MAX_QUARANTINED_ROWS, quality_report
from pipeline.run import Settings, ingest
from pipeline.validate import GenreCounts, ValidationOutcome

BAD_ENERGY = "energy 1.5 is outside [0, 1]"
# By hand: ambient has 21 rows, track 1 twice and one row (track 3) out of range; sleep has two
# good rows and keeps the more popular one (top_n = 1).
EXPECTED_GENRES = [
    ["ambient", "ambient.csv", "21", "20", "1", "1", "0", "19"],
    ["sleep", "sleep.csv", "2", "2", "0", "0", "1", "1"],
]
EXPECTED_TOTALS = ["all genres", "", "23", "22", "1", "1", "1", "20"]


def quiet(message: str) -> None:
    """A log function that drops progress lines."""


def make_data_dir(root: Path) -> Path:
    """Two small genres (EXPECTED_GENRES), written as raw CSVs with a catalogue."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "genres.toml").write_text(catalogue("top_n = 1"))
    ambient = [raw_line(1), raw_line(2), raw_line(1), raw_line(3, energy="1.5")]
    write_raw_csv(raw / "ambient.csv", ambient + [raw_line(n) for n in range(10, 27)])
    sleep = [raw_line(4, "sleep", popularity="10"), raw_line(5, "sleep", popularity="90")]
    write_raw_csv(raw / "sleep.csv", sleep)
    return root


def latest_run(data_dir: Path) -> Path:
    return sorted((data_dir / "runs").iterdir())[-1]


def table(page: WatchedPage, table_id: str, part: str = "tbody") -> list[list[str]]:
    """The text of every cell of a table's body (or foot), row by row, as the browser shows it."""
    rows = page.page.locator(f"#{table_id} {part} tr")
    cells: list[list[str]] = rows.evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return cells


def header_facts(page: WatchedPage) -> dict[str, str]:
    terms = page.page.locator("dl.facts dt").all_inner_texts()
    return dict(zip(terms, page.page.locator("dl.facts dd").all_inner_texts(), strict=True))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder after one published run of the small genres."""
    data_dir = make_data_dir(tmp_path_factory.mktemp("published") / "data")
    assert ingest(Settings(data_dir=data_dir), log=quiet).status == "published"
    return data_dir


# ---------------------------------------------------------------- in the browser, offline
def test_published_report_shows_every_expectation_counts_and_quarantine_offline(
    page: WatchedPage, published: Path, tmp_path: Path
) -> None:
    run_dir = latest_run(published)
    page.open(run_dir / "report.html")
    save_screenshot(page.page, tmp_path, "published-report")
    expected = [
        [str(n), rule.description, rule.column, rule.expectation]
        + (["FAIL", "1"] if rule.description == "energy between 0 and 1" else ["pass", "0"])
        for n, rule in enumerate(row_rules(), start=1)
    ]
    assert table(page, "expectations") == expected
    failed = page.page.locator("#expectations tr.failed td:nth-child(2)").all_inner_texts()
    assert failed == ["energy between 0 and 1"]
    assert table(page, "genres") == EXPECTED_GENRES
    assert table(page, "genres", "tfoot") == [EXPECTED_TOTALS]
    assert table(page, "quarantine") == [
        ["ambient", "ambient.csv", "4", BAD_ENERGY, track_id(3), "Track 3"]
    ]
    version = (published / "curated" / "current").resolve().name
    facts = header_facts(page)
    assert (facts["run"], facts["verdict"], facts["version"]) == (
        run_dir.name,
        "published",
        version,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", facts["started (UTC)"])
    page.assert_offline_and_clean()


def test_refused_report_says_why_and_still_shows_what_validation_found(
    page: WatchedPage, tmp_path: Path
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    live = ingest(Settings(data_dir=data_dir, data_docs=False), log=quiet).version
    bad = [raw_line(4, "sleep", energy="2"), raw_line(5, "sleep", tempo="fast")]
    write_raw_csv(data_dir / "raw" / "sleep.csv", bad)
    with pytest.raises(ValidationRefused, match=r"Report: .*report\.html"):
        ingest(Settings(data_dir=data_dir), log=quiet)
    page.open(latest_run(data_dir) / "report.html")
    save_screenshot(page.page, tmp_path, "refused-report")
    assert page.page.locator("h1 .verdict").inner_text() == "REFUSED"
    assert header_facts(page)["live version (unchanged)"] == live
    refusal = page.page.locator("#refusal").inner_text()
    assert "sleep.csv: 2 of 2 rows (100.00%) failed validation" in refusal
    assert len(table(page, "expectations")) == len(row_rules())
    # A refused run has no summary, but each genre's file is the catalogue's (it showed "—").
    assert table(page, "genres") == [
        ["ambient", "ambient.csv", "21", "20", "1", "—", "—", "—"],
        ["sleep", "sleep.csv", "2", "0", "2", "—", "—", "—"],
    ]
    reasons = [row[3] for row in table(page, "quarantine")]
    assert reasons == [
        BAD_ENERGY,
        "energy 2 is outside [0, 1]",
        "tempo 'fast' is not a finite number",
    ]
    page.assert_offline_and_clean()


def test_report_of_a_run_refused_before_validation_names_the_file(
    page: WatchedPage, tmp_path: Path
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    for name in ("ambient.csv", "sleep.csv"):  # a quote left open: no row can be read
        (data_dir / "raw" / name).write_text('a,b\n"x,1\n')
    with pytest.raises(RawFileError):
        ingest(Settings(data_dir=data_dir), log=quiet)
    page.open(latest_run(data_dir) / "report.html")
    refusal = page.page.locator("#refusal").inner_text()
    assert "ambient.csv: not a readable CSV file" in refusal
    assert "sleep.csv: not a readable CSV file" in refusal
    assert table(page, "genres") == [
        ["ambient", "ambient.csv", *["—"] * 6],
        ["sleep", "sleep.csv", *["—"] * 6],
    ]
    assert header_facts(page)["live version (unchanged)"] == "none published yet"
    assert page.page.locator("#expectations").count() == 0
    assert "No expectation ran: the run was refused before validation." in page.page.inner_text(
        "main"
    )
    save_screenshot(page.page, tmp_path, "refused-before-validation")
    page.assert_offline_and_clean()


# ---------------------------------------------------------------- files, links, CLI
def test_published_version_carries_the_report_and_its_links_resolve_there(published: Path) -> None:
    run_dir, current = latest_run(published), published / "curated" / "current"
    report = (run_dir / "report.html").read_text()
    assert (current / "report.html").read_text() == report
    links = re.findall(r'href="([^"]+)"', report)
    assert any(link.startswith("data_docs/validations/") for link in links)
    for link in links:
        assert (run_dir / link).is_file() and (current / link).is_file(), link


def test_cli_prints_the_report_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 0
    printed = capsys.readouterr().out
    assert f"quality report: {latest_run(data_dir)}/report.html" in printed


# ---------------------------------------------------------------- the HTML itself
STARTED = datetime(2026, 3, 22, 9, 5, 7, tzinfo=UTC)


def outcome_with(quarantined: pl.DataFrame) -> ValidationOutcome:
    result = ExpectationResult("expect_column_values_to_not_be_null", "artists", "a<b", False, 3)
    bad = quarantined.height
    counts = {"g": GenreCounts(rows_read=bad + 2, valid=2, quarantined=bad)}
    return ValidationOutcome(pl.LazyFrame(), quarantined.lazy(), counts, [result])


def quarantined_rows(n: int, **values: Any) -> pl.DataFrame:
    rows = [
        {
            "genre_id": "g",
            "source_file": "g.csv",
            "source_row": i,
            "reasons": "r",
            "track_id": "t",
            "track_name": "n",
            **values,
        }
        for i in range(1, n + 1)
    ]
    return pl.DataFrame(rows)


def test_every_value_is_escaped_and_nothing_points_outside() -> None:
    hostile = '<script>alert("x")</script>'
    outcome = outcome_with(quarantined_rows(1, track_name=hostile, reasons="a & b"))
    page = quality_report("run<1>", STARTED, "refused", None, outcome=outcome, refusal=hostile)
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "run&lt;1&gt;" in page and "a &amp; b" in page and ">a&lt;b<" in page
    assert not re.search(r"(?i)https?:|//[a-z]|@import|url\(", page)
    assert "2026-03-22T09:05:07Z" in page


def test_many_quarantined_rows_show_the_first_ones_with_the_count_and_the_file() -> None:
    total = MAX_QUARANTINED_ROWS + 5
    outcome = outcome_with(quarantined_rows(total))
    page = quality_report("r1", STARTED, "published", "v1", outcome=outcome)
    assert page.count("<td>g.csv</td>") == MAX_QUARANTINED_ROWS
    assert f"The first {MAX_QUARANTINED_ROWS} of <strong>{total}</strong> quarantined rows" in page
    assert "<code>runs/r1/quarantine.csv</code>" in page


def test_a_few_quarantined_rows_are_all_shown() -> None:
    page = quality_report(
        "r1", STARTED, "published", "v1", outcome=outcome_with(quarantined_rows(3))
    )
    assert page.count("<td>g.csv</td>") == 3
    assert "The 3 quarantined rows, with every reason." in page
