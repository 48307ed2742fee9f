"""Hostile and unlucky input to the pipeline's CLI: a huge field, control characters in what it
prints and reports, and a disk that fills up. What the operator sees is asserted."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from builders import RAW_HEADER, catalogue, raw_line, write_raw_csv

import contract as c
from pipeline.__main__ import main

ESC_CLEAR = "\x1b[2J"  # clears a terminal that prints it


def data_dir(root: Path, sleep_rows: list[dict[str, str]]) -> Path:
    """Two genres: ambient (three good rows) and sleep (the rows given)."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "genres.toml").write_text(catalogue())
    write_raw_csv(raw / "ambient.csv", [raw_line(n) for n in (1, 2, 3)])
    write_raw_csv(raw / "sleep.csv", sleep_rows)
    return root


def test_a_one_megabyte_name_and_a_blank_line_are_published(tmp_path: Path) -> None:
    name = "Ω" * 500_000  # 1 MB of UTF-8 in one field
    data = data_dir(tmp_path / "data", [raw_line(7, "sleep", track_name=name)])
    with open(data / "raw" / "sleep.csv", "a") as handle:
        handle.write("\n")  # a blank line: the check that skips it reads the file as CSV too
    assert main(["ingest", "--data-dir", str(data), "--no-data-docs"]) == 0
    tracks = pl.read_parquet(data / "curated" / "current" / c.TRACKS)
    assert tracks.filter(pl.col("id") == f"{7:0>22}")["name"].item() == name


def test_a_refusal_prints_control_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [raw_line(n, "sleep", track_name=f"x{ESC_CLEAR}\x00y") for n in (7, 8, 9)]
    data = data_dir(tmp_path / "data", bad)
    assert main(["ingest", "--data-dir", str(data), "--no-data-docs"]) == 1
    error = capsys.readouterr().err
    assert "REFUSED" in error and "\x1b" not in error and "\x00" not in error
    assert "track_name 'x\\x1b[2J\\x00y' holds a control character" in error
    (page,) = list((data / "runs").glob("*/report.html"))
    html = page.read_text()
    assert "\x1b" not in html and "\x00" not in html and "x\\x1b[2J\\x00y" in html


def test_names_nobody_can_see_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    invisible = ["\u00a0\u00a0", "\u200b", "\u3000", "\ufeff\u2060"]
    rows = [raw_line(n, "sleep", artists=text) for n, text in enumerate(invisible, start=10)]
    data = data_dir(tmp_path / "data", [*rows, *(raw_line(n, "sleep") for n in range(20, 120))])
    assert main(["ingest", "--data-dir", str(data), "--no-data-docs"]) == 0
    (quarantine,) = list((data / "runs").glob("*/quarantine.csv"))
    reasons = pl.read_csv(quarantine, infer_schema=False)["reasons"].to_list()
    assert len(reasons) == len(invisible)
    assert all("is blank (only spaces or invisible characters)" in r for r in reasons)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs mounted for this test (the tests run as root, as CI does)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, f"cannot mount a small tmpfs (root needed): {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill the disk but `leave` bytes."""
    statvfs = os.statvfs(disk)
    free = statvfs.f_bavail * statvfs.f_frsize
    with open(disk / "filler", "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("share", [0.0, 0.3, 0.6])  # of what a run writes: it fails at any step
def test_a_full_disk_is_the_machine_s_failure_not_a_refusal_and_leaves_nothing(
    small_disk: Path, share: float, capsys: pytest.CaptureFixture[str]
) -> None:
    data = data_dir(small_disk / "data", [raw_line(n, "sleep") for n in (7, 8)])
    assert main(["ingest", "--data-dir", str(data), "--no-data-docs"]) == 0
    written = size(data / "curated" / "versions") + size(data / "runs")
    leave = int(share * written)
    before = snapshot(data / "curated")
    runs_before = sorted(p.name for p in (data / "runs").iterdir())
    write_raw_csv(data / "raw" / "sleep.csv", [raw_line(n, "sleep") for n in range(7, 60)])
    capsys.readouterr()
    fill(small_disk, leave)
    status = main(["ingest", "--data-dir", str(data), "--no-data-docs"])
    error = capsys.readouterr().err
    assert status == 3, error
    assert "FAILED: the machine, not the data" in error and "REFUSED" not in error
    assert "No space left on device" in error and "Traceback" not in error
    assert snapshot(data / "curated") == before  # the published dataset, byte for byte
    assert sorted(p.name for p in (data / "runs").iterdir()) == runs_before  # nothing left
    leftovers = [
        p.name for p in (data / "curated" / "versions").iterdir() if p.name.startswith(".")
    ]
    assert set(leftovers) <= {".stamps"}
    (small_disk / "filler").unlink()
    assert main(["ingest", "--data-dir", str(data), "--no-data-docs"]) == 0  # room again: fine
    assert (
        json.loads((data / "curated" / "current" / c.MANIFEST).read_text())["genres"]["sleep"][
            "tracks"
        ]
        == 53
    )


def test_the_exit_status_of_a_failure_of_the_machine_is_documented() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "| 3 | failed: the machine, not the data" in readme


__all__ = ["RAW_HEADER"]
