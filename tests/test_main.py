"""pipeline/__main__.py: the command line (raw, ingest, rollback, versions) and its settings."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from builders import raw_line, write_raw_csv

from pipeline import extract
from pipeline.__main__ import main

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
