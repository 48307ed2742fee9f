"""The suite's own fixtures: real data is found locally or the test fails; nothing is downloaded."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from conftest import NO_UPSTREAM, real_upstream

from pipeline import extract


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a URL fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("the test suite tried to download something")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_without_setting_or_mirror_real_data_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_download: None
) -> None:
    monkeypatch.delenv(extract.UPSTREAM_ENV, raising=False)
    monkeypatch.setattr(extract, "MIRROR_PATH", tmp_path / "absent" / "dataset.csv")
    with pytest.raises(pytest.fail.Exception) as caught:
        real_upstream()
    assert str(caught.value) == NO_UPSTREAM
    assert NO_UPSTREAM == (
        "the real upstream file is not at ../shared/data/spotify_tracks/dataset.csv nor in "
        "KAPIKO_UPSTREAM; tests that need real data cannot run"
    )


def test_a_setting_naming_no_file_fails_and_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_download: None
) -> None:
    monkeypatch.setenv(extract.UPSTREAM_ENV, str(tmp_path / "nowhere.csv"))
    with pytest.raises(
        pytest.fail.Exception, match=r"KAPIKO_UPSTREAM=.*nowhere\.csv is not a file"
    ):
        real_upstream()


def test_the_setting_wins_over_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "dataset.csv"
    explicit.write_text("a,b\n")
    monkeypatch.setenv(extract.UPSTREAM_ENV, str(explicit))
    assert real_upstream() == explicit


def test_without_setting_the_mirror_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "dataset.csv"
    mirror.write_text("a,b\n")
    monkeypatch.delenv(extract.UPSTREAM_ENV, raising=False)
    monkeypatch.setattr(extract, "MIRROR_PATH", mirror)
    assert real_upstream() == mirror
