"""Whole ingest runs (pipeline/run.py and the CLI) on small raw files and on the real upstream."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from builders import RAW_HEADER, catalogue, raw_line, track_id, write_raw_csv
from conftest import DEFAULT_CATALOGUE

import contract as c
from contract.fields import TRACK_FIELDS
from contract.store import FolderStore
from pipeline import history, run
from pipeline.__main__ import main
from pipeline.run import Settings, ingest


def quiet(message: str) -> None:
    """A log function that drops progress lines."""


def make_data_dir(root: Path, sleep_extra: str = "") -> Path:
    """A data folder with two small genres: ambient (4 rows, 1 bad, 1 repeat) and sleep (3 rows)."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "genres.toml").write_text(catalogue(sleep_extra))
    write_raw_csv(
        raw / "ambient.csv",
        [
            raw_line(1, energy="0.2", popularity="30"),
            raw_line(2, energy="0.4", popularity="60"),
            raw_line(1, energy="0.2", popularity="30"),  # the same track again
            raw_line(3, energy="1.5"),  # out of range: quarantined
        ]
        + [raw_line(n, energy="0.5") for n in range(10, 30)],
    )
    write_raw_csv(
        raw / "sleep.csv",
        [
            raw_line(1, "sleep", popularity="10"),
            raw_line(4, "sleep", popularity="90"),
            raw_line(5, "sleep"),
        ],
    )
    return root


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file in the live dataset, by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def backdate(data_dir: Path, when: str = "2020-01-01T00:00:00+00:00") -> dict:
    """Pretend the live dataset's genres were last updated long ago; return its manifest."""
    path = data_dir / "curated" / "current" / c.MANIFEST
    manifest = json.loads(path.read_text())
    for genre in manifest["genres"].values():
        genre["updated_at"] = when
    path.write_text(json.dumps(manifest))
    return manifest


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A data folder whose first dataset has been published."""
    data_dir = make_data_dir(tmp_path / "data")
    # Data Docs take half of a small run (GX compiles its templates each time): only the test
    # of the report itself builds them.
    assert ingest(Settings(data_dir=data_dir, data_docs=False), log=quiet).status == "published"
    return data_dir


def test_ingest_publishes_counts_quarantine_and_duplicates(published: Path) -> None:
    current = published / "curated" / "current"
    manifest = c.read_manifest(current)
    ambient = manifest["genres"]["ambient"]
    assert {
        k: ambient[k] for k in ("rows_read", "valid", "quarantined", "duplicates", "tracks")
    } == {
        "rows_read": 24,
        "valid": 23,
        "quarantined": 1,
        "duplicates": 1,
        "tracks": 22,
    }
    assert manifest["genres"]["sleep"]["tracks"] == 3
    tracks = pl.read_parquet(current / c.TRACKS)
    assert tracks.height == 22 + 2  # track 1 is in both genres
    assert tracks.filter(pl.col("id") == track_id(1)).get_column("genre_id").item() == "ambient"
    run_dir = sorted((published / "runs").iterdir())[-1]
    quarantine = pl.read_csv(run_dir / "quarantine.csv", infer_schema=False)
    assert quarantine.select("genre_id", "source_row", "track_id").rows() == [
        ("ambient", "4", track_id(3))
    ]
    assert "energy" in quarantine.get_column("reasons").item()
    assert pl.read_csv(run_dir / "duplicates.csv").get_column("source_row").to_list() == [3]


def test_a_published_version_carries_its_data_docs(tmp_path: Path) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    assert ingest(Settings(data_dir=data_dir), log=quiet).status == "published"
    assert (data_dir / "curated" / "current" / "data_docs" / "index.html").is_file()


def test_rerun_with_the_same_inputs_is_a_no_op(published: Path) -> None:
    before = snapshot(published / "curated")
    result = ingest(Settings(data_dir=published, data_docs=False), log=quiet)
    assert result.status == "up-to-date"
    assert snapshot(published / "curated") == before


def test_a_code_change_that_leaves_the_data_as_it_was_publishes_nothing(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = published / "curated" / "versions"
    before, log = snapshot(versions), history.load(FolderStore(published / "curated"))
    monkeypatch.setattr(run, "code_digest", lambda: "0" * 64)  # as after any edit of the code
    result = ingest(Settings(data_dir=published, data_docs=False), log=quiet)
    assert result.status == "up-to-date" and result.run_dir is not None  # it ran, and compared
    assert (result.run_dir / "report.html").is_file()
    assert snapshot(versions) == before
    assert history.load(FolderStore(published / "curated")) == log
    again = ingest(Settings(data_dir=published, data_docs=False), log=quiet)
    assert again.status == "up-to-date" and again.run_dir is None  # remembered: nothing ran


def test_a_rollback_across_a_change_of_the_responses_serves_the_older_data(
    published: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service import cache, create_app, serving_texts

    first = c.read_manifest(published / "curated" / "current")["version"]
    write_raw_csv(published / "raw" / "sleep.csv", [raw_line(7, "sleep")])
    assert ingest(Settings(data_dir=published, data_docs=False), log=quiet).status == "published"
    app = create_app({"CURATED_DIR": str(published / "curated" / "current"), "RELOAD_INTERVAL": 0})
    # A release whose tracks have no `source` field any more: another layout, the same data.
    monkeypatch.setattr(cache, "LAYOUT", "without-source")
    monkeypatch.setattr(
        serving_texts, "TRACK_FIELDS", tuple(f for f in TRACK_FIELDS if f != "source")
    )
    assert main(["rollback", "--data-dir", str(published)]) == 0
    assert app.extensions["kapiko"].check() is True
    client = app.test_client()
    health = client.get("/api/v1/health").get_json()["data"]
    assert health["dataset"]["version"] == first
    track = client.get(f"/api/v1/tracks/{track_id(1)}").get_json()["data"]
    assert "source" not in track and track["id"] == track_id(1)


def test_changed_genre_gets_a_new_updated_at_and_the_other_keeps_its_own(published: Path) -> None:
    first = backdate(published)
    write_raw_csv(published / "raw" / "sleep.csv", [raw_line(7, "sleep")])
    result = ingest(Settings(data_dir=published, data_docs=False), log=quiet)
    second = c.read_manifest(published / "curated" / "current")
    assert result.status == "published" and second["version"] != first["version"]
    assert second["created_at"].endswith("Z") and len(second["created_at"]) == 20
    # the same moment, written as RFC 3339 with Z like every timestamp the pipeline writes
    assert first["genres"]["ambient"]["updated_at"] == "2020-01-01T00:00:00+00:00"
    assert second["genres"]["ambient"]["updated_at"] == "2020-01-01T00:00:00Z"
    assert second["genres"]["sleep"]["updated_at"] == second["created_at"]
    assert (published / "curated" / "previous" / c.MANIFEST).is_file()


def test_changing_top_n_alone_updates_that_genre(published: Path) -> None:
    first = backdate(published)
    (published / "raw" / "genres.toml").write_text(catalogue("top_n = 2"))
    assert ingest(Settings(data_dir=published, data_docs=False), log=quiet).status == "published"
    second = c.read_manifest(published / "curated" / "current")
    # the same moment, written as RFC 3339 with Z like every timestamp the pipeline writes
    assert first["genres"]["ambient"]["updated_at"] == "2020-01-01T00:00:00+00:00"
    assert second["genres"]["ambient"]["updated_at"] == "2020-01-01T00:00:00Z"
    assert second["genres"]["sleep"]["updated_at"] == second["created_at"]
    assert (second["genres"]["sleep"]["top_n"], second["genres"]["sleep"]["tracks"]) == (2, 2)


def test_top_n_keeps_the_most_popular_tracks(tmp_path: Path) -> None:
    data_dir = make_data_dir(tmp_path, sleep_extra="top_n = 2")
    ingest(Settings(data_dir=data_dir), log=quiet)
    current = data_dir / "curated" / "current"
    members = pl.read_parquet(current / c.TRACK_GENRES).filter(pl.col("genre_id") == "sleep")
    assert sorted(members.get_column("track_id").to_list()) == [track_id(4), track_id(5)]
    assert c.read_manifest(current)["genres"]["sleep"]["cut_by_top_n"] == 1


def test_a_line_of_empty_fields_is_counted_and_quarantined_with_its_own_reason(
    tmp_path: Path,
) -> None:
    data_dir = make_data_dir(tmp_path)
    ambient = data_dir / "raw" / "ambient.csv"
    header, *rows = ambient.read_text().splitlines(keepends=True)
    commas = "," * (len(RAW_HEADER) - 1) + "\n"
    # Data rows 1-2, a blank line (row 3, skipped), a line of commas (row 4), then the rest.
    ambient.write_text("".join([header, *rows[:2], "\n", commas, *rows[2:]]))
    result = ingest(Settings(data_dir=data_dir, max_bad_share=0.1, data_docs=False), log=quiet)
    assert result.status == "published"
    counts = c.read_manifest(data_dir / "curated" / "current")["genres"]["ambient"]
    assert (counts["rows_read"], counts["valid"], counts["quarantined"]) == (25, 23, 2)
    assert result.run_dir is not None
    quarantine = pl.read_csv(result.run_dir / "quarantine.csv", infer_schema=False)
    reasons = dict(quarantine.select("source_row", "reasons").iter_rows())
    assert set(reasons) == {"4", "6"}  # the out-of-range row was data row 4, now 6
    assert reasons["4"] == "every field is empty"
    assert "energy" in reasons["6"]


def _empty(raw: Path) -> None:
    (raw / "sleep.csv").write_text("")


def _header_only(raw: Path) -> None:
    (raw / "sleep.csv").write_text(",".join(RAW_HEADER) + "\n")


def _missing_column(raw: Path) -> None:
    header = [name for name in RAW_HEADER if name != "energy"]
    write_raw_csv(raw / "sleep.csv", [raw_line(1, "sleep")], header=header)


def _semicolons(raw: Path) -> None:
    # Real names hold commas, so a comma-separated parse of the rows fails on its own.
    line = raw_line(1, "sleep", track_name="Sinfonia (After Bach, BWV 248)")
    text = ";".join(RAW_HEADER) + "\n" + ";".join(line[name] for name in RAW_HEADER) + "\n"
    (raw / "sleep.csv").write_text(text)


def _tabs(raw: Path) -> None:
    line = raw_line(1, "sleep", artists="Crosby, Stills & Nash")
    text = "\t".join(RAW_HEADER) + "\n" + "\t".join(line[name] for name in RAW_HEADER) + "\n"
    (raw / "sleep.csv").write_text(text)


def _duplicate_column(raw: Path) -> None:
    header = [*RAW_HEADER[:10], "energy", *RAW_HEADER[10:]]
    write_raw_csv(raw / "sleep.csv", [raw_line(1, "sleep")], header=header)


def _extra_field(raw: Path) -> None:
    write_raw_csv(raw / "sleep.csv", [raw_line(n, "sleep") for n in (1, 2, 3)])
    lines = (raw / "sleep.csv").read_text().splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\r\n") + ",surplus\n"
    (raw / "sleep.csv").write_text("".join(lines))


def _latin1(raw: Path) -> None:
    write_raw_csv(raw / "sleep.csv", [raw_line(1, "sleep", artists="Ólafur Arnalds")])
    text = (raw / "sleep.csv").read_text()
    (raw / "sleep.csv").write_bytes(text.encode("latin-1"))


def _no_file(raw: Path) -> None:
    (raw / "sleep.csv").unlink()


def _bad_catalogue(raw: Path) -> None:
    (raw / "genres.toml").write_text(
        '[[genre]]\nid = "Not A Slug"\nname = "x"\ndescription = "y"\n'
    )


def _mostly_bad(raw: Path) -> None:
    write_raw_csv(raw / "sleep.csv", [raw_line(1, "sleep", popularity="101"), raw_line(2, "sleep")])


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_empty, "sleep.csv"),
        (_header_only, "sleep.csv"),
        (_missing_column, "energy"),
        (_semicolons, "wrong delimiter"),
        (_tabs, "wrong delimiter"),
        (_duplicate_column, "column 'energy' appears twice in the header (columns 10 and 11)"),
        (_extra_field, "line 3 has 22 fields, the header has 21"),
        (_latin1, "(line 2) is not valid UTF-8"),
        (_no_file, "without a raw file"),
        (_bad_catalogue, "must match"),
        (_mostly_bad, "popularity"),
    ],
)
def test_refused_run_exits_1_and_leaves_the_dataset_byte_identical(
    published: Path, breakage, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(published / "curated")
    breakage(published / "raw")
    assert main(["ingest", "--data-dir", str(published)]) == 1
    error = capsys.readouterr().err
    assert "REFUSED" in error and message in error
    assert "The published dataset is unchanged." in error
    assert snapshot(published / "curated") == before


@pytest.mark.parametrize("where", ["joined", "top"])
def test_a_header_line_again_refuses_the_file_naming_the_line_not_as_a_bad_row(
    published: Path, tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ambient = published / "raw" / "ambient.csv"
    header, *rows = ambient.read_text().splitlines(keepends=True)
    if where == "joined":  # cat ambient.csv more.csv > ambient.csv
        more = write_raw_csv(tmp_path / "more.csv", [raw_line(n) for n in range(40, 43)])
        ambient.write_text("".join([header, *rows]) + more.read_text())
        line = 1 + len(rows) + 1  # its header, its rows, then the other file's header
    else:
        ambient.write_text("".join([header, header, *rows]))
        line = 2
    assert main(["ingest", "--data-dir", str(published), "--no-data-docs"]) == 1
    error = capsys.readouterr().err
    assert f"{ambient}: line {line} repeats the header: two files joined into one" in error
    assert "'track_id' does not match" not in error  # not a row with a type error per column


def test_one_run_reports_every_problem_of_every_file(
    published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's file: another delimiter, a missing column and values out of range, all told
    in one run (the header's problems, then the rows'), with another file's problem beside."""
    sleep = published / "raw" / "sleep.csv"
    header = [name for name in RAW_HEADER if name != "energy"]
    lines = [raw_line(n, "sleep", popularity=p) for n, p in ((1, "101"), (2, "50"), (3, "102"))]
    rows = [";".join(line[name] for name in header) for line in lines]
    sleep.write_text("\n".join([";".join(header), *rows]) + "\n")
    ambient = published / "raw" / "ambient.csv"
    text = ambient.read_text().splitlines(keepends=True)
    text[2] = text[2].rstrip("\r\n") + ",surplus\n"
    ambient.write_text("".join(text))
    assert main(["ingest", "--data-dir", str(published), "--no-data-docs"]) == 1
    error = capsys.readouterr().err
    told = [
        f"{sleep}: wrong delimiter: the header line ",
        f"{sleep}: wrong columns (missing 1: energy);",
        f"{sleep}: 2 of 3 rows (66.67%) failed validation, more than the 5.00% allowed",
        "    - row 1: popularity 101 is outside [0, 100]",
        "    - row 3: popularity 102 is outside [0, 100]",
    ]
    assert [error.find(text) for text in told] == sorted(error.find(text) for text in told)
    assert all(text in error for text in told)
    assert "energy is missing" not in error  # the column is told once, not once per row
    assert f"{ambient}: line 3 has 22 fields, the header has 21" in error
    assert "2 of 2 raw files refused" in error


def test_cli_prints_a_summary_per_genre(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = make_data_dir(tmp_path)
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    # rows_read valid quarantined duplicates cut_by_top_n tracks
    assert lines["ambient"] == ["24", "23", "1", "1", "0", "22"]
    assert lines["sleep"] == ["3", "3", "0", "0", "0", "3"]
    assert "published version" in out


def test_cli_rollback_restores_the_previous_version(published: Path) -> None:
    first = (published / "curated" / "current").resolve()
    write_raw_csv(published / "raw" / "sleep.csv", [raw_line(7, "sleep")])
    assert main(["ingest", "--data-dir", str(published)]) == 0
    assert main(["rollback", "--data-dir", str(published)]) == 0
    assert (published / "curated" / "current").resolve() == first


@pytest.mark.realdata
def test_real_upstream_default_catalogue(real_data_dir: Path) -> None:
    """Figures computed independently with Python's csv module over the upstream file."""
    current = real_data_dir / "curated" / "current"
    manifest = c.read_manifest(current)
    assert [g for g in manifest["genres"]] == [
        "ambient", "chill", "study", "sleep", "piano", "classical", "new-age", "trip-hop", "sad", "acoustic",
    ]  # fmt: skip
    assert all(
        g["rows_read"] == 1000 and g["quarantined"] == 0 for g in manifest["genres"].values()
    )
    duplicates = {genre: g["duplicates"] for genre, g in manifest["genres"].items()}
    assert duplicates == {
        "ambient": 1, "chill": 1, "study": 2, "sleep": 0, "piano": 2,
        "classical": 67, "new-age": 6, "trip-hop": 3, "sad": 0, "acoustic": 0,
    }  # fmt: skip
    assert manifest["files"][c.TRACKS]["rows"] == 9431
    assert manifest["files"][c.TRACK_GENRES]["rows"] == 9918
    genres = pl.read_parquet(current / c.GENRES)
    ambient = genres.filter(pl.col("id") == "ambient").row(0, named=True)
    assert ambient["track_count"] == 999
    assert ambient["avg_energy"] == pytest.approx(0.237257047, abs=1e-9)
    assert ambient["avg_tempo"] == pytest.approx(111.156413413, abs=1e-9)
    artists = pl.read_parquet(current / c.TOP_ARTISTS).filter(pl.col("genre_id") == "ambient")
    assert artists.select("artists", "track_count").rows()[:3] == [
        ("Ludovico Einaudi", 41),
        ("Sleeping At Last", 40),
        ("Cigarettes After Sex", 35),
    ]
    energy = pl.read_parquet(current / c.FEATURE_HISTOGRAMS).filter(
        (pl.col("genre_id") == "ambient") & (pl.col("feature") == "energy")
    )
    assert energy.filter(pl.col("bucket") == 0).get_column("count").item() == 323
    upstream = json.loads((current / c.MANIFEST).read_text())["upstream"]
    assert upstream["sha256"] == "b202fa49909b2d5cef71a04b1d21243cfeb36414535f2ca9272aa646721177bd"


@pytest.mark.realdata
def test_real_upstream_all_genres_quarantines_the_two_broken_rows(
    upstream_path: Path, tmp_path: Path
) -> None:
    """The k-pop row without names, and a disney title holding a C1 control character (U+0082,
    mojibake of a Latin-1 byte)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(DEFAULT_CATALOGUE, raw / "genres.toml")
    assert main(["raw", "--data-dir", str(tmp_path), "--no-data-docs", "--genres", "all"]) == 0
    assert main(["ingest", "--data-dir", str(tmp_path), "--no-data-docs"]) == 0
    manifest = c.read_manifest(tmp_path / "curated" / "current")
    assert len(manifest["genres"]) == 114
    assert manifest["files"][c.TRACKS]["rows"] == 89741 - 2  # both tracks are in no other genre
    assert manifest["genres"]["k-pop"]["quarantined"] == 1
    assert manifest["genres"]["disney"]["quarantined"] == 1
    run_dir = sorted((tmp_path / "runs").iterdir())[-1]
    quarantine = pl.read_csv(run_dir / "quarantine.csv", infer_schema=False).sort("genre_id")
    assert quarantine.get_column("track_id").to_list() == [
        "3mVamJ76zOnKtnuCHFkamA",
        "1kR4gIb7nGxHPI3D2ifs59",
    ]
    assert "track_name 'Dones de la belleza y la voz/A" in quarantine["reasons"][0]
    assert (
        "\\x82" in quarantine["reasons"][0]
        and "holds a control character" in quarantine["reasons"][0]
    )
