"""The pipeline's own exceptions: each message says what is wrong and what to do about it.

Third-party failures (Polars CSV parsing, Great Expectations, file I/O, downloads) are caught
at the boundary and re-raised as one of these, so the CLI can print them and exit non-zero.
"""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FULL = 1 << 20  # bytes free under which a failed write is said to be a full disk


class PipelineError(Exception):
    """A run that cannot go on; the published dataset is left as it was."""

    # What validation found before it refused the run (a ValidationOutcome), for the run's report.
    findings: Any = None


class CatalogueError(PipelineError):
    """data/raw/genres.toml is missing, unreadable or invalid."""


class UpstreamError(PipelineError):
    """The upstream Spotify tracks file cannot be found, downloaded or verified."""


class RawFileError(PipelineError):
    """A raw CSV cannot be used at all: unreadable, empty, wrong delimiter or columns."""


class ValidationRefused(PipelineError):
    """Validation found too much wrong with a file to publish it (e.g. too many bad rows)."""


class PublishError(PipelineError):
    """The new dataset could not be written or swapped in."""


class EnvironmentFailure(Exception):
    """The machine failed the run (a full disk, a folder it cannot write), not the data: not a
    refusal. What the run started is removed and the published dataset is unchanged."""


def environmental(error: BaseException) -> bool:
    """Whether an error is the environment's: an OS error, or Polars failing to read or write."""
    if isinstance(error, EnvironmentFailure | OSError):
        return True
    text = str(error)
    return type(error).__module__.startswith("polars") and (
        "IO error" in text or "os error" in text
    )


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Writes to `path` whose failure is the machine's: Polars reports a failed write as a
    ComputeError whose text may not say why (a full disk can read "Invalid thrift: transport
    error"), so the folder's free space is told beside it."""
    try:
        yield
    except Exception as error:
        if environmental(error) or not type(error).__module__.startswith("polars"):
            raise
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = None
        room = (
            "" if free is None
            else f"; No space left on device ({free:,} bytes free)" if free < FULL
            else f"; {free:,} bytes free"
        )  # fmt: skip
        raise EnvironmentFailure(f"could not write {path}: {error}{room}") from None
