"""pipeline/__main__.py: the command line (raw, ingest, rollback, versions) and its settings."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from builders import raw_line, write_raw_csv

from pipeline import extract
from pipeline.__main__ import main

MAX_BAD_SHARE_ENV = "KAPIKO_MAX_BAD_SHARE"

CATALOGUE = """
[[genre]]
id = "ambient"
name = "Ambient"
description = "Quiet."

[[genre]]
id = "sleep"
name = "Sleep"
description = "Quieter."
"""


def make_data_dir(root: Path, bad_ambient_rows: int = 0) -> Path:
    """A data folder with two small genres; `bad_ambient_rows` of ambient's 20 rows are bad."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "genres.toml").write_text(CATALOGUE)
    good = [raw_line(n, energy="0.5") for n in range(1, 21 - bad_ambient_rows)]
    bad = [raw_line(n, energy="1.5") for n in range(21 - bad_ambient_rows, 21)]
    write_raw_csv(raw / "ambient.csv", good + bad)
    write_raw_csv(raw / "sleep.csv", [raw_line(n, "sleep") for n in range(30, 33)])
    return root


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
