"""Live reload: a worker swaps in a newly published (or rolled back) dataset whole, no restart.

Each worker keeps a LiveDataset in app.extensions["kapiko"]. A daemon thread looks at the
pointer every RELOAD_INTERVAL seconds (default 2; 0 turns it off): a readlink of the `current`
symlink, or one small GET of the store's current.json (service/store.py). When it names another
version, the thread fetches, verifies and loads (maps) that version beside the one being served
and only then swaps the reference; a version that fails to load is logged and the old one kept. A
request takes the dataset once, at first use (request_dataset), so its body and its ETag come
from one version even if a swap happens meanwhile. For a moment a worker holds two datasets:
the old one is freed when the last request using it ends, and its memory handed back to the OS
at the next look.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, g

from contract import CuratedDatasetError
from contract.bucket import parse_bucket
from service.dataset import Dataset, load_dataset

LOG = logging.getLogger("service")
RELOAD_INTERVAL_ENV = "KAPIKO_RELOAD_INTERVAL"
DEFAULT_RELOAD_INTERVAL = 2.0  # seconds: "within a few seconds" for a cheap look at the pointer
RETRY_FAILED_S = 30.0  # a version that failed to load is tried again after this long


@dataclass(frozen=True)
class Source:
    """Where the live version is found: a cheap look at the pointer and a fetch of its folder."""

    name: str  # for messages: a folder or an s3:// URL
    pointer: Callable[[], str]  # names the live version now
    fetch: Callable[[str], Path]  # the local folder of a version the pointer named


def local_source(directory: Path) -> Source:
    """The curated folder: `current`, a symlink, names the version it points at."""
    return Source(str(directory), lambda: os.path.realpath(directory), Path)


class LiveDataset:
    """The dataset a worker serves now; `check` swaps in the one the pointer names."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.pointer = source.pointer()
        self.current: Dataset = load_dataset(source.fetch(self.pointer))
        self._failed: tuple[str, float] | None = None  # pointer, when it failed
        self._warned = ""
        self._replaced = False  # a swap happened at the last look

    def check(self) -> bool:
        """One look at the pointer: load and swap in what it names if that is new; True if so.

        Failures are logged, never raised: the worker goes on serving what it has.
        """
        if self._replaced:  # by now no request holds the replaced dataset any more
            release_memory()
            self._replaced = False
        pointer = self._read_pointer()
        if pointer is None or pointer == self.pointer or self._held_back(pointer):
            return False
        started = time.monotonic()
        try:
            dataset = load_dataset(self.source.fetch(pointer))
        except CuratedDatasetError as error:
            self._failed = (pointer, time.monotonic())
            LOG.error("cannot load %s: %s; still serving %s", pointer, error, self.current.version)
            return False
        self._swap(dataset, pointer, time.monotonic() - started)
        return True

    def _swap(self, dataset: Dataset, pointer: str, took: float) -> None:
        """Serve `dataset` from now on (one reference assignment: requests see old or new)."""
        before, self.current, self.pointer = self.current.version, dataset, pointer
        gc.collect()  # as at start-up: no garbage frozen, and the long-lived dataset frozen
        gc.freeze()
        self._replaced = True
        message = "now serving curated dataset %s (was %s), ready in %.2f s"
        LOG.info(message, dataset.version, before, took)

    def _read_pointer(self) -> str | None:
        """What the pointer names, or None (warned about once) if it cannot be read."""
        try:
            pointer = self.source.pointer()
        except CuratedDatasetError as error:
            message = f"cannot read the pointer at {self.source.name}: {error}"
            if message != self._warned:
                LOG.warning("%s; still serving %s", message, self.current.version)
                self._warned = message
            return None
        self._warned = ""
        return pointer

    def _held_back(self, pointer: str) -> bool:
        """True while a pointer that failed to load waits for its retry."""
        failed = self._failed
        return (
            failed is not None
            and failed[0] == pointer
            and time.monotonic() - failed[1] < RETRY_FAILED_S
        )


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
        dataset = current_app.extensions["kapiko"].current
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
