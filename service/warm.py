"""Build the live version's serving cache before gunicorn starts its workers.

    python -m service.warm              # the folder the service would serve (KAPIKO_CURATED_DIR,
                                        # else data/curated/current; KAPIKO_STORE: the bucket's)

A version of millions of tracks takes minutes to build (docs/performance.md, "Serving ten
million"), and gunicorn stops a worker that says nothing for `timeout` seconds while it boots:
the workers must find the cache built. service/gunicorn_conf.py calls `warm` in the master
before it forks (the build runs in a child process: the master does no Polars work), so `make
serve` and `make replica` start warm; this command does the same by hand, and prints where the
entry is and how long it took. A version of at most cache.IN_PROCESS_MAX tracks is left to the
first worker, which builds it in about a second.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from contract import CuratedDatasetError
from contract.manifest import load_manifest
from contract.store import STORE_ENV
from service import cache


def warm(config: dict[str, str], small_too: bool = False) -> Path | None:
    """The live version's cache entry, built first (in a child process) if it is missing; None
    when the version is small (its first worker builds it) or there is nothing to serve yet."""
    from service.reload import dataset_source  # the same source a worker reads

    source = dataset_source(config)
    try:
        folder = source.fetch(source.pointer())
        version = str(load_manifest(folder).get("version", folder.name))
        if not small_too and cache.tracks_of(folder) <= cache.IN_PROCESS_MAX:
            return None
    except (CuratedDatasetError, OSError, KeyError, ValueError):
        return None  # the workers say why, and answer 503, as without a warm cache
    return cache.entry(folder, version, in_child=True)


def settings() -> dict[str, str]:
    """Where the service reads, from the environment, as service.create_app does."""
    from service import DEFAULT_CACHE_DIR, DEFAULT_CURATED_DIR

    return {
        "CURATED_DIR": os.environ.get("KAPIKO_CURATED_DIR", DEFAULT_CURATED_DIR),
        "STORE": os.environ.get(STORE_ENV, ""),
        "CACHE_DIR": os.environ.get("KAPIKO_CACHE_DIR", DEFAULT_CACHE_DIR),
    }


def main() -> int:
    """CLI: warm the cache of the version the environment names; 1 if the build fails."""
    config = settings()
    if len(sys.argv) > 1:
        config["CURATED_DIR"] = sys.argv[1]
    started = time.monotonic()
    try:
        found = warm(config, small_too=True)
    except CuratedDatasetError as error:
        print(f"service.warm: {error}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"service.warm: {found or 'nothing to serve yet'} ({took:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
