"""In-process query benchmark: latency per endpoint through the WSGI app, no HTTP, no sockets.

For each curated dataset (10 genres, 114 genres, 1M SYNTHETIC tracks) the app is built with
`service.create_app({"CURATED_DIR": ...})`, the seeded mix of bench/mix.py is turned into WSGI
environs up front, and each request is timed as one call of the app with its body read.
A warm-up pass runs a different seed's mix first, so the timed URLs are not ones just answered.

    python -m bench.queries --curated bench/out/scenarios/all-genres/curated/current
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from bench import discovery, mix

GROUPS = ("stats", "genres", "genre", "genre_tracks", "tracks", "ranges3", "facets", "batch",
          "track", "compare", "similar", "recommendations", "export",
          *discovery.GROUPS)  # fmt: skip
WARMUP_SEED = mix.DEFAULT_SEED + 1000

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ_for(url: str) -> dict[str, Any]:
    """A GET environ for one API URL (path and query string)."""
    path, _, query = url.partition("?")
    builder = EnvironBuilder(path=path, query_string=query, method="GET")
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app: Wsgi, environ: dict[str, Any]) -> str:
    """Call the WSGI app once with a copy of `environ`, read the whole body; the status line."""
    status: list[str] = []

    def start_response(line: str, headers: list, exc_info: Any = None) -> None:
        status.append(line)

    chunks = app(dict(environ), start_response)
    try:
        b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    return status[0]


def time_calls(app: Wsgi, environs: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Milliseconds per call, and how many calls did not answer 200."""
    samples, not_ok = [], 0
    for environ in environs:
        started = time.perf_counter_ns()
        line = call(app, environ)
        samples.append((time.perf_counter_ns() - started) / 1e6)
        not_ok += not line.startswith("200")
    return samples, not_ok


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p99, mean and max of millisecond samples."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": round(statistics.median(samples), 4),
        "p99_ms": round(cuts[98], 4),
        "mean_ms": round(statistics.fmean(samples), 4),
        "max_ms": round(max(samples), 4),
    }


def build_app(curated: Path) -> tuple[Wsgi, float]:
    """The service's WSGI app on `curated`, and the seconds create_app took."""
    from service import create_app

    started = time.perf_counter()
    app = create_app({"CURATED_DIR": str(curated)})
    return app, time.perf_counter() - started


def run_dataset(
    curated: Path, label: str, size: int, groups: tuple[str, ...] = GROUPS, rounds: int = 1
) -> list[dict]:
    """Time every group of the mix on one curated dataset; one row per group. With `rounds`
    above 1 the groups are timed again on the same app and the last round is kept, with the
    first round's p99 beside it: a worker's first requests touch the pages of the mapped files
    for the first time (at ten million tracks, 13 GB of them)."""
    app, load_s = build_app(curated)
    catalogue = mix.catalogue_from_curated(curated)
    warm = mix.query_mix(catalogue, max(50, size // 5), seed=WARMUP_SEED)
    timed = mix.query_mix(catalogue, size)
    if set(groups) & set(discovery.GROUPS):  # issue 18's: drawn through the app (cursors)
        warm |= discovery.query_mix(app, catalogue, max(50, size // 5), seed=WARMUP_SEED)
        timed |= discovery.query_mix(app, catalogue, size)
    first_p99: dict[str, Any] = {}
    for round_ in range(rounds):
        rows = []
        for group in groups:
            time_calls(app, [environ_for(url) for url, _ in warm[group]])
            samples, not_ok = time_calls(app, [environ_for(url) for url, _ in timed[group]])
            row = {"dataset": label, "group": group, "n": len(samples), "non_200": not_ok}
            rows.append({**row, **summary(samples)})
            last = rows[-1]
            first_p99.setdefault(group, last["p99_ms"])
            if rounds > 1:
                last["first_round_p99_ms"] = first_p99[group]
            print(
                f"  queries {label:20} {group:13} p50 {last['p50_ms']:8.3f} ms  "
                f"p99 {last['p99_ms']:8.3f} ms" + (f"  (round {round_ + 1})" if rounds > 1 else ""),
                flush=True,
            )
    rows[0]["create_app_s"] = round(load_s, 3)
    rows[0]["similarity_space_mb"] = space_megabytes(app)
    for ratio in discovery.cursor_ratios(rows):
        print(f"  queries {label:20} {ratio['kind']:15} cursor / first page p50 {ratio['ratio']}")
    return rows


def space_megabytes(app: Any) -> float:
    """Megabytes the similarity space's arrays take in a worker (issue 8: at most 40)."""
    space = app.extensions["kapiko"].current.space
    arrays = [*space.columns.values(), space.matrix32, space.norms32, space.recording]
    return round(sum(array.nbytes for array in arrays) / 1e6, 2)


def main(argv: list[str] | None = None) -> None:
    """CLI: time the mix on one curated folder and print the rows as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", type=Path, required=True)
    parser.add_argument("--label", default="dataset")
    parser.add_argument("--size", type=int, default=1000, help="requests per group")
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated")
    args = parser.parse_args(argv)
    rows = run_dataset(args.curated, args.label, args.size, tuple(args.groups.split(",")))
    print(json.dumps({"rows": rows, "cursor_ratios": discovery.cursor_ratios(rows)}, indent=2))


if __name__ == "__main__":
    main()
