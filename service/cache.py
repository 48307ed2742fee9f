"""The serving cache: what the API's queries read, derived once per host from a version's data.

A version holds data only (Parquet tables). What answers fast needs more: each track's JSON
text, a row order and rank for every sort, categorical codes, the z-scores of the similarity
space, the artist search text. The first worker of a host to load a version builds them here
(service/serving.py computes them) and writes them as uncompressed Arrow IPC files, which
every worker of the host then maps read-only: one copy in the page cache, shared, and a file
that Polars, pyarrow and DuckDB (through pyarrow) open as it is. docs/data-dictionary.md lists
the columns.

  <root>/<version>-<layout>/   every file of FILES below (rows.arrow, texts.arrow, …,
                               projections.arrow, cells.arrow, genre_values.arrow),
                               cache.json (written last: the entry is complete)

`layout` is a digest of the code that decides what the files hold (this module, the serving
computations, the field catalogue, the Polars version that encodes JSON): code that changes a
response field builds a new entry, and every kept version of the data stays servable. The
workers of a host take turns (a lock file): one builds, the others find the entry built. The
KEEP most recently used entries are kept.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

import contract as c
from contract import CuratedDatasetError, file_sha256, verified
from contract.readonly import remove_tree, seal
from service.arrow_files import map_batches, map_table, write_table

CACHE_DIR_NAME = ".serving"  # beside the version folders
DESCRIPTION = "cache.json"
FILES = ("rows.arrow", "ranks.arrow", "texts.arrow", "artists.arrow", "members.arrow",
         "genres.arrow", "space.arrow", "names.arrow", "name_tracks.arrow", "credits.arrow",
         "projections.arrow", "cells.arrow", "cell_space.arrow", "genre_values.arrow")  # fmt: skip
# Written in record batches: texts (service/serving_texts.py), one projection per batch
# (service/scale_tables.py).
BATCHED = ("texts.arrow", "projections.arrow")
BUILDERS = (
    "arrow_files.py",
    "serving.py",
    "serving_texts.py",
    "artist_tables.py",
    "scale_tables.py",
)  # what computes the tables
KEEP = 4  # entries kept: the live version, those a rollback reaches, a layout in transition
# A larger version is built in a child process, whose memory goes back to the OS when it exits:
# built inside a worker at 3 million tracks, a build that held every table at once peaked at
# 5.9 GB and left the worker 4.3 GB of private memory; at 114 genres (90,000 tracks) it takes
# 0.7 s and 0.2 GB, then released. Tables are now built one at a time (service/serving.py).
IN_PROCESS_MAX = 200_000  # tracks


def _layout_digest() -> str:
    """A digest of everything that decides what the cache files hold."""
    here = Path(__file__).parent
    contract = here.parent / "contract"
    sources = [here / "cache.py", *(here / name for name in BUILDERS),
               *sorted(contract.glob("*.py"))]  # fmt: skip
    digest = hashlib.sha256(pl.__version__.encode())
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


LAYOUT = _layout_digest()


def cache_root(version_folder: Path) -> Path:
    """Where a version's cache entries go: a hidden folder beside the version folder."""
    return version_folder.parent / CACHE_DIR_NAME


def entry(version_folder: Path, version: str, rehash: bool = False, in_child: bool = False) -> Path:
    """A version's cache entry for this code's layout, built first if it is not there (or does
    not verify: `rehash` checks every byte again, whatever the stamp says); `in_child` builds
    even a small version in a child process (gunicorn's master must do no Polars work)."""
    root = cache_root(version_folder)
    final = root / f"{version}-{LAYOUT}"
    if usable(final, version, rehash):
        os.utime(final)  # recently used: kept by prune
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        _wait_for_lock(lock)  # one builder per host; the others wait, then find it
        if not usable(final, version, rehash):
            remove_tree(final)  # unfinished, damaged or changed: it is derived data, rebuilt
            verified.forget(final)
            remove_abandoned(root)  # the lock is held: a build folder left here is dead
            build(version_folder, version, final, in_child, lock.fileno())
            prune(root, final)
    return final


def usable(folder: Path, version: str, rehash: bool = False) -> bool:
    """Whether an entry is whole and unchanged: its description (written last) names this
    version and layout, and every file has its recorded size and sha256 (hashed once per host,
    then trusted while the stamp matches; `rehash` hashes again whatever the stamp says)."""
    try:
        described = json.loads((folder / DESCRIPTION).read_text())
        files: dict[str, dict[str, Any]] = described["files"]
        names = sorted(files)
        if (described["version"], described["layout"], names) != (version, LAYOUT, sorted(FILES)):
            return False
        if any((folder / name).stat().st_size != entry["bytes"] for name, entry in files.items()):
            return False
        if not rehash and verified.already_verified(folder, names, DESCRIPTION):
            return True
        for name, entry in files.items():  # gigabytes at millions of tracks: a beat a file
            heartbeat()
            if file_sha256(folder / name) != entry["sha256"]:
                return False
        verified.mark_verified(folder, names, DESCRIPTION)
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False


def build(
    version_folder: Path, version: str, final: Path, in_child: bool = False, lock: int = -1
) -> None:
    """Compute every serving table of a version and write them into `final` whole: here, or
    for a large version (or any, `in_child`) in a child process, which inherits the host's
    `lock` (a descriptor): if this process dies, the others wait for the child's build."""
    if not in_child and tracks_of(version_folder) <= IN_PROCESS_MAX:
        write_entry(version_folder, version, final)
        return
    command, env = build_command(version_folder, version, final)
    with tempfile.TemporaryFile() as errors:
        inherited = (lock,) if lock >= 0 else ()
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=errors, pass_fds=inherited
        )
        try:
            while True:
                try:
                    returncode = child.wait(timeout=BEAT_S)
                    break
                except subprocess.TimeoutExpired:
                    heartbeat()
        finally:  # stopped while it waits (gunicorn's quit): no build goes on unowned
            if child.poll() is None:
                child.kill()
                child.wait()
        errors.seek(0)
        said = errors.read().decode(errors="replace")
    if returncode != 0:
        last = (said.strip().splitlines() or ["no output"])[-1]
        raise CuratedDatasetError(f"cannot build the serving cache {final}: {last}")


# A worker that builds or waits for a build while it boots says it is alive: gunicorn stops a
# worker silent for `timeout` (30 s) seconds, and a build takes minutes at millions of tracks.
# service/gunicorn_conf.py sets this to the worker's own notify after the fork.
HEARTBEAT: Callable[[], None] | None = None
BEAT_S = 1.0


def heartbeat() -> None:
    """Tell gunicorn this worker is alive, when it runs under gunicorn."""
    if HEARTBEAT is not None:
        HEARTBEAT()


def _wait_for_lock(lock: Any) -> None:
    """Take the host's cache lock, beating while another process holds it (and builds)."""
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            heartbeat()
            time.sleep(BEAT_S / 4)


def tracks_of(version_folder: Path) -> int:
    """How many tracks a version holds, as its manifest says."""
    rows: int = json.loads((version_folder / c.MANIFEST).read_text())["files"][c.TRACKS]["rows"]
    return rows


def build_command(
    version_folder: Path, version: str, final: Path
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a build in a child process."""
    command = [sys.executable, "-m", "service.cache", str(version_folder), version, str(final)]
    root = str(Path(__file__).resolve().parents[1])
    env = {
        # Polars' allocator keeps freed pages by default (muzzy_decay_ms:-1); returning them at
        # once lets each table's memory go before the next is built (peak at 3 M tracks: 1.62 ->
        # 1.48 GB; at 10 M: 5.05 -> 3.88 GB with the tables built one at a time).
        "_RJEM_MALLOC_CONF": "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0",
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    return command, env


def write_entry(version_folder: Path, version: str, final: Path) -> None:
    """Compute every serving table of a version and write them into `final` whole."""
    from service.serving import serving_tables  # Polars work only where a build happens

    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".building-{version}-", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; every worker user reads the entry
    try:
        files = {}
        for name, table in serving_tables(version_folder):
            path = staging / name
            write_table(path, table)
            del table  # built one at a time: the next is computed without this one
            files[name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        described = {"version": version, "layout": LAYOUT, "files": files,
                     "built_in_s": round(time.monotonic() - started, 3)}  # fmt: skip
        (staging / DESCRIPTION).write_text(json.dumps(described, indent=2) + "\n")
        seal(staging)  # checked as it was written: from now on nothing changes it
        os.rename(staging, final)
    except OSError as error:
        raise CuratedDatasetError(f"cannot write the serving cache {final}: {error}") from None
    finally:
        remove_tree(staging)


def map_entry(folder: Path) -> dict[str, Any]:
    """Every table of a cache entry, mapped, by file name: one record batch each, and the
    batches of the files written in several (BATCHED) as one pa.Table."""
    return {
        name: pa.Table.from_batches(map_batches(folder / name))
        if name in BATCHED
        else map_table(folder / name)
        for name in FILES
    }


def stamp_built(final: Path) -> None:
    """Leave a just-built entry's stamp, so the workers map it without hashing it again: each
    file was hashed as it was written and sealed read-only, and a stamp needs files older than
    SETTLED_S (contract/verified.py), so the build waits that long first. Only a build in a
    child process does this: a large one, where the wait is nothing beside the build and the
    hashing saved is seconds (13 GB at ten million tracks)."""
    names = sorted(json.loads((final / DESCRIPTION).read_text())["files"])
    newest = max((final / name).stat().st_mtime for name in names)
    time.sleep(max(0.0, newest + verified.SETTLED_S + 0.1 - time.time()))
    verified.mark_verified(final, names, DESCRIPTION)


def remove_abandoned(root: Path) -> None:
    """Delete the build folders of builds that died (killed, out of memory): called with the
    lock held, when no build runs. Gigabytes each at millions of tracks."""
    for path in root.glob(".building-*"):
        remove_tree(path)


def prune(root: Path, keep: Path) -> None:
    """Delete all but the KEEP most recently used entries (entry() removed abandoned builds)."""
    entries = []
    for path in root.iterdir():
        if path.is_dir() and not path.name.startswith("."):
            entries.append((path.stat().st_mtime, path))
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        if path != keep:
            remove_tree(path)
            verified.forget(path)


def describe(folder: Path) -> dict[str, Any]:
    """An entry's cache.json."""
    described: dict[str, Any] = json.loads((folder / DESCRIPTION).read_text())
    return described


if (
    __name__ == "__main__"
):  # a build in a child process: python -m service.cache FOLDER VERSION FINAL
    write_entry(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
    stamp_built(Path(sys.argv[3]))
