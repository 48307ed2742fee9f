"""How a run of minutes shows its progress: the stage, what is done, the rate and the time left.

On a terminal it is one live line per stage (tqdm draws it, and clears it when the stage ends);
in a log or CI, where a redrawn line is noise, it is a plain line at most every PLAIN_EVERY_S
seconds, and a closing one after them. A stage shorter than that prints nothing of its own.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from tqdm import tqdm

PLAIN_EVERY_S = 10.0
Log = Callable[[str], None]


class Progress:
    """Opens one Stage per long step of a run; `live` draws bars (by default: on a terminal)."""

    def __init__(self, log: Log, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.log = log
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live

    def stage(self, label: str, total: int, unit: str = "rows") -> Stage:
        return Stage(self, label, total, unit)


class Stage:
    """One step's count of work done against its total (a context manager)."""

    def __init__(self, progress: Progress, label: str, total: int, unit: str) -> None:
        self.progress, self.label, self.total, self.unit = progress, label, total, unit
        self.done = 0
        self.closed = self.told = False
        self.started = self.shown = time.monotonic()
        self.bar = (
            tqdm(total=total, desc=f"  {label}", unit=f" {unit}", unit_scale=True,
                 file=progress.stream, leave=False, dynamic_ncols=True)
            if progress.live else None
        )  # fmt: skip

    def advance(self, amount: int) -> None:
        """Count `amount` more units done."""
        self.done += amount
        if self.bar is not None:
            self.bar.update(amount)
            return
        now = time.monotonic()
        if now - self.shown >= PLAIN_EVERY_S and self.done < self.total:
            self.shown, self.told = now, True
            self.progress.log(f"  {self.label}: {self.line(now)}")

    def line(self, now: float) -> str:
        """'1,200,000 of 10,000,000 rows (12%), 95,000 rows/s, about 1 min 33 s left'."""
        seconds = max(now - self.started, 1e-9)
        rate = self.done / seconds
        share = self.done / self.total if self.total else 1.0
        left = (self.total - self.done) / rate if rate > 0 else None
        when = f", about {duration(left)} left" if left is not None else ""
        return (
            f"{self.done:,} of {self.total:,} {self.unit} ({share:.0%}), "
            f"{rate:,.0f} {self.unit}/s{when}"
        )

    def close(self, finished: bool = True) -> None:
        """End the stage: the live line goes, a closing line says what was done and how fast."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if finished and not self.closed and self.told:  # a short stage: the run says its time
            took = time.monotonic() - self.started
            self.progress.log(f"  {self.label}: {self.done:,} {self.unit} in {duration(took)}")
        self.closed = True

    def __enter__(self) -> Stage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(finished=kind is None)


def duration(seconds: float) -> str:
    """A duration for people: '4.2 s', '3 min 05 s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
