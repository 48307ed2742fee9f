"""Live reload: a worker swaps in a newly published (or rolled back) dataset whole, no restart,
and never stops answering because a file went bad.

Each worker keeps a LiveDataset in app.extensions["kapiko"]. A daemon thread looks at the
pointer every RELOAD_INTERVAL seconds (default 2; 0 turns it off): a readlink of the `current`
symlink, or one small GET of the store's current.json (service/store.py). When it names another
version, the thread fetches, verifies and loads (maps) that version beside the one being served
and only then swaps the reference. A request takes the dataset once, at first use
(request_dataset), so its body and its ETag come from one version even if a swap happens.

What it serves, and what /health says:
- ok: the version the pointer names;
- degraded: another version, because the pointer's cannot be loaded (its files fail their
  checks, its folder is gone, it lies outside the store): the newest kept version that verifies
  (`Source.fallbacks`), with the reason; the pointer is tried again every RETRY_FAILED_S;
- unavailable (503): nothing verifies. The worker still runs, and serves what is published next.
At each look the thread also compares the served files' sizes and times with what was verified,
and a text whose checksum fails (service/index.py) marks the dataset suspect: either way the
version is verified again from its bytes, and the cache rebuilt or another version served. A
reason is logged once, when it first appears.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app, g

from contract import CURRENT_LINK, VERSIONS_DIR, CuratedDatasetError
from contract.bucket import parse_bucket
from service.dataset import Dataset, fingerprint, load_dataset

LOG = logging.getLogger("service")
RELOAD_INTERVAL_ENV = "KAPIKO_RELOAD_INTERVAL"
DEFAULT_RELOAD_INTERVAL = 2.0  # seconds: "within a few seconds" for a cheap look at the pointer
RETRY_FAILED_S = 30.0  # a version that failed to load is tried again after this long


class Unavailable(CuratedDatasetError):
    """Nothing can be served: no version verifies."""


@dataclass(frozen=True)
class Source:
    """Where the live version is found: a cheap look at the pointer, a fetch of its folder, and
    the local folders of other versions to fall back on, newest first."""

    name: str  # for messages: a folder or an s3:// URL
    pointer: Callable[[], str]  # names the live version now
    fetch: Callable[[str], Path]  # the local folder of a version the pointer named
    fallbacks: Callable[[], list[Path]] = field(default=lambda: [])


def local_source(directory: Path) -> Source:
    """The curated folder: `current`, a symlink, names a version inside versions/ beside it;
    any other folder is served as it is."""

    def pointer() -> str:
        target = os.path.realpath(directory)
        if directory.is_symlink():
            versions = os.path.realpath(directory.parent / VERSIONS_DIR)
            if os.path.dirname(target) != versions:
                raise CuratedDatasetError(
                    f"{directory} names {target}, which is not a version of this store "
                    f"({versions}/<version>): not served"
                )
        return target

    def fallbacks() -> list[Path]:
        versions = directory.parent / VERSIONS_DIR
        if not directory.is_symlink() or not versions.is_dir():
            return []
        folders = [p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(folders, key=_created_at, reverse=True)

    return Source(str(directory), pointer, Path, fallbacks)


def _created_at(folder: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        import json

        return str(json.loads((folder / "manifest.json").read_text()).get("created_at") or "")
    return ""


class LiveDataset:
    """The dataset a worker serves now, and why; `check` follows the pointer and the files."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.current: Dataset | None = None
        self.pointer: str | None = None  # what the pointer named at the last look
        self.problem = ""  # why the pointer's version is not what is served ("": it is)
        self._serving_pointer: str | None = None  # the pointer the served dataset came from
        self._seen: dict[str, Any] = {}  # the served files' fingerprint when they were verified
        self._failed: tuple[str, float] | None = None  # pointer, when it failed
        self._suspect = ""  # why the served files must be verified again
        self._logged: set[str] = set()
        self._replaced = False  # a swap happened at the last look
        self._quiet = True  # at start-up, create_app says in one line what came of it
        self.pointer = self._read_pointer()
        if self.pointer is not None:
            self._try(self.pointer)
        if self.problem:
            self._fall_back()
        self._quiet = False

    @property
    def status(self) -> str:
        """ok, degraded (serving, but not what the pointer names) or unavailable."""
        if self.current is None:
            return "unavailable"
        return "degraded" if self.problem else "ok"

    def check(self) -> bool:
        """One look at the pointer and the served files; True if another dataset is served now.

        Failures are logged once, never raised: the worker goes on serving what it has.
        """
        if self._replaced:  # by now no request holds the replaced dataset any more
            release_memory()
            self._replaced = False
        served = self.current
        if served is not None and (self._suspect or fingerprint(served) != self._seen):
            self._verify_again(served)
        pointer = self._read_pointer()
        if pointer is None:
            return self.current is not served
        self.pointer = pointer
        if pointer == self._serving_pointer and self.current is not None:
            # The pointer names what is served: it answers again, or it was moved back from a
            # version that failed (which is tried again if it is named again).
            self.problem, self._failed = "", None
            return self.current is not served
        if not self._held_back(pointer) and not self._try(pointer):
            self._fall_back()  # acts only when nothing is served
        return self.current is not served

    def suspect(self, reason: str) -> None:
        """Verify the served files again at the next look (a request found a bad checksum)."""
        self._say(f"the served dataset's files changed after they were verified: {reason}")
        self._suspect = reason

    def _verify_again(self, served: Dataset) -> None:
        """Load the served version from its bytes again (rebuilding a damaged cache entry), or
        serve another if it no longer verifies. What is mapped stays served only if its bytes
        are those verified: its files deleted (the mapping keeps them) but not changed."""
        suspect, self._suspect = self._suspect, ""
        try:
            dataset = load_dataset(served.folder, rehash=True)
        except Exception as error:  # every failure is the data's: logged, never raised
            self.problem = f"version {served.version} no longer verifies: {_plain(error)}"
            intact = not suspect and not _changed(self._seen, fingerprint(served))
            served_as = "serving what was verified, from memory" if intact else "not served"
            self._say(f"{self.problem}; {served_as} until another version verifies")
            self._serving_pointer = None
            self._fall_back(exclude=served.folder, keep=intact)
            return
        self._swap(dataset, "verified again")

    def _try(self, pointer: str) -> bool:
        """Load and serve what the pointer names; False (and the reason kept) if it fails."""
        started = time.monotonic()
        try:
            dataset = load_dataset(self.source.fetch(pointer))
        except Exception as error:  # the data's failure, whatever raised it: logged once
            self._failed = (pointer, time.monotonic())
            self.problem = f"cannot load {pointer}: {_plain(error)}"
            served = f"still serving {self.current.version}" if self.current else "nothing served"
            self._say(f"{self.problem}; {served}")
            return False
        self.problem, self._failed, self._serving_pointer = "", None, pointer
        self._swap(dataset, f"ready in {time.monotonic() - started:.2f} s")
        return True

    def _fall_back(self, exclude: Path | None = None, keep: bool = True) -> None:
        """With nothing served (or what is served no longer verifying), serve the newest other
        version that verifies; `keep`: with none, go on serving what is mapped."""
        if self.current is not None and exclude is None:
            return  # what is served still verifies: keep it (degraded, with the reason)
        for folder in self.source.fallbacks():
            if folder.resolve() == (exclude or Path()).resolve():
                continue
            try:
                dataset = load_dataset(folder)
            except Exception:
                continue
            self._swap(dataset, "the newest version that verifies")
            self._say(f"serving {dataset.version} instead ({self.problem})")
            return
        if not keep:
            self.current = None  # what was served no longer verifies, and nothing else does
        if self.current is None:
            self._say(f"nothing verifies to be served ({self.problem or 'no version'})")

    def _swap(self, dataset: Dataset, how: str) -> None:
        """Serve `dataset` from now on (one reference assignment: requests see old or new)."""
        before = self.current.version if self.current else "nothing"
        self.current, self._seen = dataset, fingerprint(dataset)
        gc.collect()  # as at start-up: no garbage frozen, and the long-lived dataset frozen
        gc.freeze()
        self._replaced = True
        LOG.info("now serving curated dataset %s (was %s), %s", dataset.version, before, how)

    def _read_pointer(self) -> str | None:
        """What the pointer names, or None (warned about once) if it cannot be read."""
        try:
            return self.source.pointer()
        except CuratedDatasetError as error:
            self.problem = _plain(error)
            served = f"still serving {self.current.version}" if self.current else "nothing served"
            message = f"cannot read the pointer at {self.source.name}: {self.problem}; {served}"
            self._say(message, warning=True)
            return None

    def _held_back(self, pointer: str) -> bool:
        """True while a pointer that failed to load waits for its retry."""
        failed = self._failed
        return (
            failed is not None
            and failed[0] == pointer
            and time.monotonic() - failed[1] < RETRY_FAILED_S
        )

    def _say(self, message: str, warning: bool = False, error: bool = False) -> None:
        """Log a message once, however often the reason it gives is met again."""
        if message in self._logged:
            return
        self._logged.add(message)
        if self._quiet:
            return
        level = logging.ERROR if error or not warning else logging.WARNING
        LOG.log(level, "%s", message)


def _changed(before: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether a mapped file of the serving cache changed in place (one deleted did not: the
    mapping keeps its bytes)."""
    return any(now["entry"].get(name) not in (None, stat) for name, stat in before["entry"].items())


def _plain(error: BaseException) -> str:
    """An error as one line: the project's message, or the type and message of another."""
    if isinstance(error, CuratedDatasetError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def release_memory() -> None:
    """Hand memory freed by a replaced dataset back to the OS (glibc only; elsewhere a no-op).

    glibc keeps it otherwise: with the dataset in the heap, 445 MB against 263 MB per worker at
    114 genres after a few reloads; with the serving arrays mapped, a few MB (measured).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def watch(live: LiveDataset, interval: float) -> threading.Thread:
    """Start a daemon thread calling live.check() every `interval` seconds while live exists."""
    reference = weakref.ref(live)  # an app that is gone (tests make many) stops its thread

    def loop() -> None:
        while True:
            time.sleep(interval)
            target = reference()
            if target is None:
                return
            try:
                target.check()
            except Exception:  # a bug must not end live reload for the worker's lifetime
                LOG.exception("live reload: the check failed; trying again in %s s", interval)
            del target

    thread = threading.Thread(target=loop, name="kapiko-reload", daemon=True)
    thread.start()
    return thread


def request_dataset() -> Dataset:
    """The dataset this request is answered from: the live one at first use, then that one."""
    dataset: Dataset | None = g.get("kapiko_dataset")
    if dataset is None:
        live: LiveDataset = current_app.extensions["kapiko"]
        dataset = live.current
        if dataset is None:
            raise Unavailable(f"nothing can be served now: {live.problem or 'no version verifies'}")
        g.kapiko_dataset = dataset
    return dataset


def reload_interval(value: Any) -> float:
    """RELOAD_INTERVAL as seconds (0: off); a ValueError naming the setting if it is not one."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds >= 0.0 or seconds == float("inf"):  # also refuses nan
        raise ValueError(
            f"{RELOAD_INTERVAL_ENV}={value!r} is not a number of seconds: expected e.g. 2, "
            "or 0 to turn live reload off"
        )
    return seconds


def dataset_source(config: Mapping[str, Any]) -> Source:
    """The Source a config names: the S3 store if STORE is set, else the CURATED_DIR folder."""
    store = parse_bucket(config.get("STORE") or "")
    if store is None:
        return local_source(Path(config["CURATED_DIR"]))
    from service.store import s3_source  # boto3 is loaded only when a bucket is served

    return s3_source(store, Path(config["CACHE_DIR"]))


__all__ = ["CURRENT_LINK", "LiveDataset", "Source", "Unavailable", "request_dataset", "watch"]
