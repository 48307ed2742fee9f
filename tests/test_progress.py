"""pipeline/progress.py: plain lines in a log at most every PLAIN_EVERY_S, a live bar on a
terminal, and the arithmetic of the rate and the time left."""

from __future__ import annotations

import io

import pytest

from pipeline import progress
from pipeline.progress import Progress, duration


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress.time, "monotonic", fake)
    return fake


def test_a_log_gets_a_plain_line_at_most_every_interval_and_one_at_the_end(clock: Clock) -> None:
    lines: list[str] = []
    with Progress(lines.append, io.StringIO(), live=False).stage("validating", 1_000_000) as stage:
        clock.now += 4
        stage.advance(200_000)  # 4 s in: too soon for a line
        clock.now += 6
        stage.advance(300_000)  # 10 s in: 500,000 done at 50,000 rows/s, 10 s left
        clock.now += 5
        stage.advance(100_000)  # 5 s after the last line: too soon
        clock.now += 5
        stage.advance(400_000)  # all done: the closing line says it
    assert lines == [
        "  validating: 500,000 of 1,000,000 rows (50%), 50,000 rows/s, about 10.0 s left",
        "  validating: 1,000,000 rows in 20.0 s",
    ]


def test_a_short_stage_prints_nothing_of_its_own(clock: Clock) -> None:
    lines: list[str] = []
    with Progress(lines.append, io.StringIO(), live=False).stage("curating", 10) as stage:
        clock.now += 3
        stage.advance(10)
    assert lines == []


def test_a_failed_stage_does_not_say_it_finished(clock: Clock) -> None:
    lines: list[str] = []
    stage = Progress(lines.append, io.StringIO(), live=False).stage("x", 10)
    with pytest.raises(RuntimeError, match="disk full"), stage:
        clock.now += 11
        stage.advance(5)
        raise RuntimeError("disk full")
    assert lines == ["  x: 5 of 10 rows (50%), 0 rows/s, about 11.0 s left"]


def test_a_terminal_gets_a_live_bar_that_is_cleared_at_the_end(clock: Clock) -> None:
    screen = io.StringIO()
    lines: list[str] = []
    with Progress(lines.append, screen, live=True).stage("validating", 100) as stage:
        stage.advance(40)
        drawn = screen.getvalue()
        assert drawn.startswith("\r  validating:") and "/100" in drawn
    assert screen.getvalue().endswith("\r")  # the line is cleared for what comes next
    assert lines == []  # no plain lines beside the bar


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0.04, 59.94, 61, 3599.6)] == [
        "0.0 s", "59.9 s", "1 min 01 s", "60 min 00 s",
    ]  # fmt: skip
