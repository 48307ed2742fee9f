"""The run's data-quality report: one self-contained HTML page, readable offline.

Great Expectations' own Data Docs index builds its tables with scripts from public CDNs, so offline
it is empty. This page is static HTML with inline CSS, no scripts and no outside URL: every
expectation with its result, the counts per genre, the quarantined rows with their reasons, and
why a refused run was refused. Every value is escaped with html.escape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import contract as c
from contract.text import shown
from pipeline.errors import PipelineError
from pipeline.expectations import PARSE_CHECK, ExpectationResult
from pipeline.validate import ValidationOutcome

REPORT_FILE = "report.html"
QUARANTINE_FILE = "quarantine.csv"
DATA_DOCS = "data_docs"
MAX_QUARANTINED_ROWS = 100  # more are counted and left to quarantine.csv
COUNT_COLUMNS = ("rows_read", "valid", "quarantined", "duplicates", "cut_by_top_n", "tracks")
QUARANTINE_COLUMNS = ("genre_id", "source_file", "source_row", "reasons", "track_id", "track_name")

_CSS_FILE = Path(__file__).with_name("quality_report.css")  # inlined into every page


def write_quality_report(
    run_dir: Path,
    started: datetime,
    verdict: str,
    version: str | None,
    *,
    outcome: ValidationOutcome | None = None,
    genres: Mapping[str, Mapping[str, Any]] | None = None,
    refusal: PipelineError | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write run_dir/report.html (a publish copies it into the new version before the swap).

    A refusal carries what validation found before it (`findings`), if it got that far;
    `files` names each catalogue genre's raw file, for a run refused before its summary.
    """
    if refusal is not None and outcome is None:
        outcome = refusal.findings
    page = quality_report(
        run_dir.name,
        started,
        verdict,
        version,
        outcome=outcome,
        genres=genres,
        refusal=None if refusal is None else str(refusal),
        files=files,
        docs=_docs_links(run_dir),
        quarantine_csv=(run_dir / QUARANTINE_FILE).is_file(),
    )
    path = run_dir / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path


def quality_report(
    run_id: str,
    started: datetime,
    verdict: str,
    version: str | None,
    *,
    outcome: ValidationOutcome | None = None,
    genres: Mapping[str, Mapping[str, Any]] | None = None,
    refusal: str | None = None,
    docs: Sequence[tuple[str, str]] = (),
    quarantine_csv: bool = True,
    files: Mapping[str, str] | None = None,
) -> str:
    """The page as HTML text: header, refusal, genres, expectations, quarantine, GX links."""
    expectations = outcome.expectations if outcome else []
    if genres is None and outcome is not None:  # a refused run: every file, validation's counts
        counts = {genre: asdict(each) for genre, each in outcome.counts.items()}
        listed = {
            genre: {"file": file, **counts.get(genre, {})} for genre, file in (files or {}).items()
        }
        genres = listed or counts
    sections = [
        _header(run_id, started, verdict, version, expectations, genres),
        _refusal_section(refusal, version) if refusal is not None else "",
        _genres_section(genres),
        _expectations_section(expectations),
        _quarantine_section(outcome, run_id, quarantine_csv),
        _footer(docs),
    ]
    title = f"kapiko data quality · run {run_id} · {verdict}"
    css = _CSS_FILE.read_text(encoding="utf-8")
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(section for section in sections if section)
        + "\n</main>\n</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return escape(shown(str(value)), quote=True)


def _td(value: object, css: str = "") -> str:
    """One escaped cell; None shows as empty, integers with thousands separators."""
    text = _e("" if value is None else f"{value:,}" if isinstance(value, int) else value)
    return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"


def _section(title: str, *parts: str) -> str:
    return f"<section>\n<h2>{_e(title)}</h2>\n" + "\n".join(parts) + "\n</section>"


def _muted(text: str) -> str:
    return f'<p class="muted">{_e(text)}</p>'


def _header(
    run_id: str,
    started: datetime,
    verdict: str,
    version: str | None,
    expectations: Sequence[ExpectationResult],
    genres: Mapping[str, Mapping[str, Any]] | None,
) -> str:
    facts = [
        ("run", run_id),
        ("started (UTC)", c.rfc3339(started)),
        ("verdict", verdict),
        (
            "version" if verdict == "published" else "live version (unchanged)",
            version or "none published yet",
        ),
    ]
    if expectations:
        failed = sum(not result.success for result in expectations)
        facts.append(("checks", f"{len(expectations)} run, {failed} failed"))
    if genres:
        rows = sum(int(counts.get("rows_read", 0)) for counts in genres.values())
        facts.append(("rows", f"{rows:,} read from {len(genres)} genre files"))
    listed = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    return (
        f'<header>\n<h1>kapiko data-quality report <span class="verdict {_e(verdict)}">'
        f'{_e(verdict.upper())}</span></h1>\n<dl class="facts">{listed}</dl>\n</header>'
    )


def _table(
    table_id: str,
    columns: Sequence[str],
    rows: Iterable[tuple[str, Sequence[str]]],
    numeric: Iterable[str] = (),
    foot: Sequence[str] = (),
) -> str:
    """A table of already-built cells; each row comes with its CSS class (or '')."""
    heads = "".join(
        f'<th class="num">{_e(c)}</th>' if c in numeric else f"<th>{_e(c)}</th>" for c in columns
    )
    body = "\n".join(
        (f'<tr class="{css}">' if css else "<tr>") + "".join(cells) + "</tr>" for css, cells in rows
    )
    footer = f"\n<tfoot><tr>{''.join(foot)}</tr></tfoot>" if foot else ""
    return (
        f'<table id="{table_id}">\n<thead><tr>{heads}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>{footer}\n</table>"
    )


def _expectations_section(expectations: Sequence[ExpectationResult]) -> str:
    if not expectations:
        return _section(
            "Expectations", _muted("No expectation ran: the run was refused before validation.")
        )
    failed = sum(not result.success for result in expectations)
    rows = [
        (
            "" if result.success else "failed",
            [
                _td(n, "num"),
                _td(result.description),
                _td(result.column, "mono"),
                _td(result.expectation, "mono"),
                f'<td><span class="badge {"pass" if result.success else "fail"}">'
                f"{'pass' if result.success else 'FAIL'}</span></td>",
                _td(result.unexpected_count, "num"),
            ],
        )
        for n, result in enumerate(expectations, start=1)
    ]
    columns = ("#", "check", "column", "expectation", "result", "unexpected rows")
    failures = ", ".join(
        f"{_e(r.description)} ({r.unexpected_count:,} row{'' if r.unexpected_count == 1 else 's'})"
        for r in expectations
        if not r.success
    )
    summary = (
        f"<p>{len(expectations) - failed} of {len(expectations)} checks passed"
        + (f"; <strong>{failed} failed</strong>: {failures}." if failed else ".")
        + f' <span class="muted">{_e(PARSE_CHECK)} is the Polars type check run before Great '
        "Expectations; the others are GX expectations, run once over every typed row.</span></p>"
    )
    table = _table("expectations", columns, rows, {"#", "unexpected rows"})
    return _section("Expectations", summary, table)


def _genres_section(genres: Mapping[str, Mapping[str, Any]] | None) -> str:
    if not genres:
        return _section(
            "Rows per genre", _muted("No counts: the run was refused before validation.")
        )
    rows = [
        ("", [_td(genre, "mono"), _td(counts.get("file", "—"), "mono"), *_count_cells(counts)])
        for genre, counts in genres.items()
    ]
    totals = {
        name: sum(int(counts[name]) for counts in genres.values())
        for name in COUNT_COLUMNS
        if all(name in counts for counts in genres.values())
    }
    foot = [_td("all genres"), _td(None), *_count_cells(totals)]
    partial = len(totals) < len(COUNT_COLUMNS)
    note = _muted(
        "valid = rows_read - quarantined; duplicates repeat a track within its genre; cut_by_top_n "
        "are rows over the genre's top_n; tracks are the genre's members (a track can be in "
        "several genres, so the total counts memberships)."
        + (
            " A refused run stops after validation: later counts are not made (—)."
            if partial
            else ""
        )
    )
    columns = ("genre", "file", *COUNT_COLUMNS)
    return _section("Rows per genre", note, _table("genres", columns, rows, COUNT_COLUMNS, foot))


def _count_cells(counts: Mapping[str, Any]) -> list[str]:
    """The count columns (— where not counted); a non-zero quarantined count is highlighted."""
    return [
        _td(
            counts.get(name, "—"),
            "num warn" if name == "quarantined" and counts.get(name) else "num",
        )
        for name in COUNT_COLUMNS
    ]


def _quarantine_section(outcome: ValidationOutcome | None, run_id: str, in_file: bool) -> str:
    title = "Quarantined rows"
    if outcome is None:
        return _section(title, _muted("No row was checked: the run was refused before validation."))
    total = outcome.quarantined_rows
    if total == 0:
        return _section(title, "<p>No row was quarantined.</p>")
    shown = outcome.quarantined.head(MAX_QUARANTINED_ROWS).collect()
    listed = (
        f"The {total:,} quarantined {'row' if total == 1 else 'rows'}, with every reason."
        if shown.height == total
        else f"The first {shown.height:,} of <strong>{total:,}</strong> quarantined rows."
    )
    where = (
        f" Every raw value of every quarantined row is in "
        f"<code>runs/{_e(run_id)}/{QUARANTINE_FILE}</code> in the data folder."
        if in_file
        else f" A refused run writes no {QUARANTINE_FILE}."
    )
    summary = f"<p>{listed}{where}</p>"
    columns = [c for c in QUARANTINE_COLUMNS if c in shown.columns]
    css = {"source_row": "num", "reasons": "reasons", "track_id": "mono", "genre_id": "mono"}
    rows = [
        ("", [_td(value, css.get(name, "")) for name, value in zip(columns, values, strict=True)])
        for values in shown.select(columns).iter_rows()
    ]
    return _section(title, summary, _table("quarantine", columns, rows, {"source_row"}))


def _refusal_section(refusal: str, live_version: str | None) -> str:
    unchanged = (
        f"The published dataset is unchanged (version <code>{_e(live_version)}</code>)."
        if live_version
        else "Nothing has been published yet."
    )
    return _section(
        "Why the run was refused",
        f"<p>{unchanged} Fix what is listed below and run <code>make ingest</code> again.</p>",
        f'<pre class="refusal" id="refusal">{_e(refusal)}</pre>',
    )


def _docs_links(run_dir: Path) -> list[tuple[str, str]]:
    """Relative links to the run's Great Expectations pages, which a published copy carries too."""
    docs = run_dir / DATA_DOCS
    links = [
        (quote(page.relative_to(run_dir).as_posix()), label)
        for folder, label in (("validations", "validation result"), ("expectations", "suite"))
        for page in sorted((docs / folder).glob("**/*.html"))
    ]
    if (docs / "index.html").is_file():
        links.append((f"{DATA_DOCS}/index.html", "index (its tables need the internet)"))
    return links


def _footer(docs: Sequence[tuple[str, str]]) -> str:
    if not docs:
        return '<footer class="muted">No Great Expectations Data Docs were built for this run.</footer>'
    links = " · ".join(f'<a href="{_e(href)}">{_e(label)}</a>' for href, label in docs)
    return f"<footer>Great Expectations Data Docs of this run: {links}</footer>"
