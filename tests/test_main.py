"""pipeline/__main__.py: the command line (raw, ingest, rollback, versions) and its settings."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from builders import catalogue, frame, raw_line, row, write_raw_csv

from contract.store import FolderStore
from pipeline import extract, publish
from pipeline.__main__ import main
from pipeline.catalogue import Genre
from pipeline.transform import curated_tables

MAX_BAD_SHARE_ENV = "KAPIKO_MAX_BAD_SHARE"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def make_data_dir(root: Path, bad_ambient_rows: int = 0) -> Path:
    """A data folder with two small genres; `bad_ambient_rows` of ambient's 20 rows are bad."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "genres.toml").write_text(catalogue())
    good = [raw_line(n, energy="0.5") for n in range(1, 21 - bad_ambient_rows)]
    bad = [raw_line(n, energy="1.5") for n in range(21 - bad_ambient_rows, 21)]
    write_raw_csv(raw / "ambient.csv", good + bad)
    write_raw_csv(raw / "sleep.csv", [raw_line(n, "sleep") for n in range(30, 33)])
    return root


def tables(energy: float) -> dict[str, pl.DataFrame]:
    """Curated tables of two tracks in one genre."""
    rows = frame(row("ambient", 1, 1, energy=energy), row("ambient", 2, 2))
    genres = [Genre("ambient", "Ambient", "Quiet.", "ambient.csv")]
    return curated_tables(rows, genres, {"ambient": datetime(2026, 1, 1, tzinfo=UTC)}).tables


@pytest.fixture
def no_upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No upstream anywhere: no setting, no mirror, and a download that cannot happen."""

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("the tests never download")

    monkeypatch.delenv(extract.UPSTREAM_ENV, raising=False)
    monkeypatch.setattr(extract, "MIRROR_PATH", tmp_path / "no-mirror" / "dataset.csv")
    monkeypatch.setattr(extract, "DOWNLOAD_URL", (tmp_path / "no-such-file.csv").as_uri())
    monkeypatch.setattr(urllib.request, "urlopen", offline)


# ---------------------------------------------------------------- raw
@pytest.mark.usefixtures("no_upstream")
def test_raw_with_every_raw_file_present_needs_no_upstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    before = {p.name: p.read_bytes() for p in (data_dir / "raw").iterdir()}
    assert main(["raw", "--data-dir", str(data_dir)]) == 0
    assert "2 already present" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in (data_dir / "raw").iterdir()} == before
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 0


@pytest.mark.usefixtures("no_upstream")
def test_raw_names_the_genres_that_need_the_upstream_when_it_cannot_be_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    (data_dir / "raw" / "sleep.csv").unlink()
    assert main(["raw", "--data-dir", str(data_dir)]) == 1
    error = capsys.readouterr().err
    assert "REFUSED" in error
    assert "genre sleep has no raw file" in error and "ambient" not in error
    assert extract.UPSTREAM_ENV in error  # what to do: point the setting at a local copy


@pytest.mark.usefixtures("no_upstream")
def test_raw_with_all_genres_needs_the_upstream_even_when_every_file_is_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    assert main(["raw", "--data-dir", str(data_dir), "--genres", "all"]) == 1
    error = capsys.readouterr().err
    assert "--genres all needs the upstream file" in error and extract.UPSTREAM_ENV in error


# ---------------------------------------------------------------- ingest: lock and bad-row limit
def test_ingest_is_refused_while_another_process_holds_the_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    lock = data_dir / "curated" / ".lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 1
    finally:
        holder.communicate("")  # closing its stdin lets it exit, which releases the lock
    error = capsys.readouterr().err
    assert "REFUSED" in error and f"holds {lock}" in error and "wait for it to finish" in error
    assert not (data_dir / "curated" / "current").exists()
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 0


HOLD_LOCK = """
import fcntl, sys
with open(sys.argv[1], "w") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("holding", flush=True)
    sys.stdin.read()
"""


def test_a_run_over_the_default_bad_row_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MAX_BAD_SHARE_ENV, raising=False)
    data_dir = make_data_dir(tmp_path / "data", bad_ambient_rows=2)  # 2 of 20 rows: 10 %
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"]) == 1
    assert "2 of 20 rows (10.00%)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argument", "environment"),
    [(["--max-bad-share", "0.1"], None), ([], "0.1"), (["--max-bad-share=0.1"], "0.05")],
)
def test_raising_the_bad_row_limit_on_the_command_line_or_in_the_environment_lets_it_pass(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argument: list[str],
    environment: str | None,
) -> None:
    if environment is None:
        monkeypatch.delenv(MAX_BAD_SHARE_ENV, raising=False)
    else:
        monkeypatch.setenv(MAX_BAD_SHARE_ENV, environment)
    data_dir = make_data_dir(tmp_path / "data", bad_ambient_rows=2)
    assert main(["ingest", "--data-dir", str(data_dir), "--no-data-docs", *argument]) == 0
    manifest = json.loads((data_dir / "curated" / "current" / "manifest.json").read_text())
    assert manifest["validation"]["max_bad_share"] == 0.1
    assert manifest["genres"]["ambient"]["quarantined"] == 2


def test_the_command_line_limit_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_BAD_SHARE_ENV, "0.5")
    data_dir = make_data_dir(tmp_path / "data", bad_ambient_rows=2)
    assert main(["ingest", "--data-dir", str(data_dir), "--max-bad-share", "0.05"]) == 1


@pytest.mark.parametrize("value", ["2", "abc", "-0.1", "nan"])
def test_a_bad_limit_on_the_command_line_is_a_usage_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "--data-dir", str(tmp_path), f"--max-bad-share={value}"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "--max-bad-share" in error and repr(value) in error and "between 0 and 1" in error


@pytest.mark.parametrize("value", ["2", "abc", "-0.1", "nan"])
def test_a_bad_limit_in_the_environment_is_a_usage_error_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(MAX_BAD_SHARE_ENV, value)
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "--data-dir", str(tmp_path)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"{MAX_BAD_SHARE_ENV}={value}" in error and "between 0 and 1" in error


# ---------------------------------------------------------------- rollback and versions
def publish_days(curated: Path, *days: int) -> None:
    """Publish one small version per day, named by the day."""
    for day in days:
        name = f"202601{day:02}T000000Z-x"
        created = f"2026-01-{day:02}T00:00:00+00:00"
        publish.publish(
            tables(day / 10), FolderStore(curated), {"version": name, "created_at": created}
        )


def test_versions_lists_each_version_with_its_time_tracks_and_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_days(tmp_path / "curated", 1, 2, 3, 4)
    assert main(["rollback", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["versions", "--data-dir", str(tmp_path)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows == [
        ["version", "created_at", "tracks", "state"],
        ["20260101T000000Z-x", "2026-01-01T00:00:00+00:00", "2", "pruned"],
        ["20260102T000000Z-x", "2026-01-02T00:00:00+00:00", "2", "earlier"],
        ["20260103T000000Z-x", "2026-01-03T00:00:00+00:00", "2", "current"],
        ["20260104T000000Z-x", "2026-01-04T00:00:00+00:00", "2", "rolled", "back"],
        ["`make", "rollback`", "would", "make", "20260102T000000Z-x", "current."],
    ]


def test_versions_says_when_rollback_cannot_step_back_further(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_days(tmp_path / "curated", 1, 2, 3, 4)
    assert main(["rollback", "--data-dir", str(tmp_path)]) == 0
    assert main(["rollback", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["versions", "--data-dir", str(tmp_path)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "`make rollback` cannot step back: 20260101T000000Z-x is pruned."


def test_versions_with_nothing_published_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["versions", "--data-dir", str(tmp_path)]) == 0
    assert "no version has been published yet" in capsys.readouterr().out


def test_cli_rollback_to_a_named_version_and_a_refusal_for_an_unknown_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_days(tmp_path / "curated", 1, 2, 3)
    assert main(["rollback", "--data-dir", str(tmp_path), "--version", "20260101T000000Z-x"]) == 0
    assert "current dataset is now 20260101T000000Z-x" in capsys.readouterr().out
    assert main(["rollback", "--data-dir", str(tmp_path), "--version", "nope"]) == 1
    assert "there is no version 'nope'" in capsys.readouterr().err
    assert (tmp_path / "curated" / "current").resolve().name == "20260101T000000Z-x"


@pytest.mark.parametrize(
    ("target", "command"),
    [
        (["rollback"], "-m pipeline rollback"),
        (
            ["rollback", "VERSION=20260101T000000Z-x"],
            "-m pipeline rollback --version 20260101T000000Z-x",
        ),
        (["versions"], "-m pipeline versions"),
    ],
)
def test_make_targets_pass_the_version_through(
    target: list[str], command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERSION", "from-the-environment")  # must not leak into a rollback
    dry_run = subprocess.run(
        # Under `make test` this is a sub-make, which would end its output with "Leaving directory".
        ["make", "--dry-run", "--no-print-directory", *target],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry_run.stdout.splitlines()[-1].split()[1:] == command.split()


# ---------------------------------------------------------------- run reports
def test_ingest_keeps_only_the_newest_run_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = make_data_dir(tmp_path / "data")
    (data_dir / "raw" / "sleep.csv").write_text("a,b\n1,2,3\n")  # refused, quickly, with a report
    reports = []
    for _ in range(3):
        assert main(["ingest", "--data-dir", str(data_dir), "--keep-runs", "2"]) == 1
        reports.append(Path(capsys.readouterr().err.split("Report: ")[1].split()[0]))
    runs = sorted(p.name for p in (data_dir / "runs").iterdir())
    assert len(runs) == 2
    assert reports[2].is_file() and reports[1].is_file() and not reports[0].exists()


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_keep_runs_below_one_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ingest", "--data-dir", str(tmp_path), f"--keep-runs={value}"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "argument --keep-runs" in error and "a whole number of at least 1" in error
