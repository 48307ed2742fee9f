"""Results: the machine and versions a run used, the issues' targets, and the printed tables.

Targets are compared and printed as met / MISSED; a miss never fails the run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from collections.abc import Callable
from importlib import metadata
from typing import Any

from bench import scale
from bench.paths import DATASETTE_VENV, ROOT

PACKAGES = ("polars", "flask", "werkzeug", "gunicorn", "flask-cors", "great-expectations")


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, kernel and load when the run started."""
    cpu = re.search(r"model name\s*:\s*(.+)", _read("/proc/cpuinfo"))
    mem = re.search(r"MemTotal:\s*(\d+) kB", _read("/proc/meminfo"))
    return {
        "cores": os.cpu_count(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "memory_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str | None]:
    """Versions of Python, the stack, wrk and Datasette."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["wrk"] = _output(["wrk", "--version"]).split(" [")[0].removeprefix("wrk ") or None
    found["datasette"] = _output([str(DATASETTE_VENV / "bin" / "datasette"), "--version"])
    return found


def git_state() -> dict[str, Any]:
    """Commit the run measured and whether the tree had uncommitted changes."""
    return {
        "commit": _output(["git", "-C", str(ROOT), "rev-parse", "HEAD"]),
        "dirty": bool(_output(["git", "-C", str(ROOT), "status", "--porcelain"])),
    }


def run_meta(mode: str) -> dict[str, Any]:
    """Everything that says what this run was."""
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": mode,
        "machine": machine(),
        "versions": versions(),
        "git": git_state(),
        "note": "scenarios named synthetic-* use a SYNTHETIC upstream (bench/synth.py)",
    }


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError:
        return ""
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


# ---------------------------------------------------------------- targets (issue 4)
MAIN_DATASET = "all-genres"  # HTTP and worker targets are set at 114 genres
Check = tuple[str, Callable[[dict], float | None], str, float]  # name, figure, op, limit


def _find(rows: list[dict], **match: Any) -> dict | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _ingest(name_prefix: str, key: str) -> Callable[[dict], float | None]:
    def figure(results: dict) -> float | None:
        rows = _list(results.get("ingest"))
        row = next((r for r in rows if r["scenario"].startswith(name_prefix) and r["ok"]), None)
        return row[key] if row else None

    return figure


def _query_p50(dataset_prefix: str, group: str) -> Callable[[dict], float | None]:
    def figure(results: dict) -> float | None:
        rows = _list(results.get("queries"))
        row = next(
            (r for r in rows if r["dataset"].startswith(dataset_prefix) and r["group"] == group),
            None,
        )
        return row["p50_ms"] if row else None

    return figure


def _cursor_ratio(kind: str) -> Callable[[dict], float | None]:
    """p50 of a listing's pages reached by cursor over its first pages, at 114 genres."""

    def figure(results: dict) -> float | None:
        first = _query_p50(MAIN_DATASET, f"{kind}_first")(results)
        deep = _query_p50(MAIN_DATASET, f"{kind}_cursor")(results)
        return round(deep / first, 2) if first and deep else None

    return figure


def _space_mb(results: dict) -> float | None:
    rows = [r for r in _list(results.get("queries")) if r["dataset"].startswith(MAIN_DATASET)]
    return next((r["similarity_space_mb"] for r in rows if "similarity_space_mb" in r), None)


def _http_at_114(results: dict) -> dict:
    """The HTTP section if it ran on the real 114-genre dataset, else {}."""
    http = results.get("http") or {}
    return http if http.get("setup", {}).get("tracks_source") == f"curated {MAIN_DATASET}" else {}


def _http_ratio(group: str, versus: str) -> Callable[[dict], float | None]:
    def figure(results: dict) -> float | None:
        ratios = _http_at_114(results).get("ratios") or []
        row = _find(ratios, group=group, target="kapiko", vs=versus)
        return round(row["ratio"], 3) if row else None

    return figure


def _http_worst_p99(results: dict) -> float | None:
    rows = [r for r in _http_at_114(results).get("rows", []) if r["target"] == "kapiko"]
    return max((r["p99_ms"] for r in rows), default=None)


def _proxy(*keys: str) -> Callable[[dict], float | None]:
    """A figure of the proxy section at 114 genres, by its path of keys."""

    def figure(results: dict) -> float | None:
        value: Any = results.get("proxy") or {}
        if value.get("setup", {}).get("tracks_source") != f"curated {MAIN_DATASET}":
            return None
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, int | float) else None

    return figure


def _workers(
    key: str, dataset: str = MAIN_DATASET, count: int = 2
) -> Callable[[dict], float | None]:
    def figure(results: dict) -> float | None:
        runs = [r for r in _list(results.get("workers")) if isinstance(r, dict)]
        row = next((r for r in runs if r.get("dataset", "").startswith(dataset)
                    and r.get("workers") == count), None)  # fmt: skip
        return row.get(key) if row else None

    return figure


# One worker's RSS at 114 genres before the serving arrays were mapped (issue 4's final run):
# issue 10 asks that 8 workers' total PSS be at most twice it.
RSS_PER_WORKER_BEFORE_MB = 248.8


TARGETS: list[Check] = [
    ("ingest default catalogue wall s", _ingest("default", "wall_s"), "<=", 8),
    ("ingest 114 genres wall s", _ingest(MAIN_DATASET, "wall_s"), "<=", 12),
    ("ingest 1M synthetic wall s", _ingest("synthetic-1m", "wall_s"), "<=", 30),
    ("ingest 1M synthetic peak MB", _ingest("synthetic-1m", "peak_rss_mb"), "<=", 3072),
    *[
        (f"p50 ms {g} @114", _query_p50(MAIN_DATASET, g), "<=", 0.5)
        for g in ("stats", "genres", "genre", "track")
    ],
    ("p50 ms compare @114", _query_p50(MAIN_DATASET, "compare"), "<=", 1),
    ("p50 ms tracks @114", _query_p50(MAIN_DATASET, "tracks"), "<=", 2),
    ("p50 ms genre_tracks @114", _query_p50(MAIN_DATASET, "genre_tracks"), "<=", 2),
    ("p50 ms 3 ranges + sort @114 (issue 7)", _query_p50(MAIN_DATASET, "ranges3"), "<=", 2),
    ("p50 ms with facets @114 (issue 7)", _query_p50(MAIN_DATASET, "facets"), "<=", 3),
    ("p50 ms batch of 100 @114 (issue 7)", _query_p50(MAIN_DATASET, "batch"), "<=", 1.5),
    ("p50 ms tracks @1M synthetic", _query_p50("synthetic-1m", "tracks"), "<=", 10),
    ("p50 ms genre_tracks @1M synthetic", _query_p50("synthetic-1m", "genre_tracks"), "<=", 10),
    ("p50 ms 3 ranges + sort @1M synthetic", _query_p50("synthetic-1m", "ranges3"), "<=", 10),
    ("p50 ms with facets @1M synthetic", _query_p50("synthetic-1m", "facets"), "<=", 20),
    ("p50 ms similar @114 (issue 8)", _query_p50(MAIN_DATASET, "similar"), "<=", 2),
    ("p50 ms recommendations @114 (issue 8)", _query_p50(MAIN_DATASET, "recommendations"), "<=", 3),
    ("p50 ms similar @1M synthetic", _query_p50("synthetic-1m", "similar"), "<=", 30),
    (
        "p50 ms recommendations @1M synthetic",
        _query_p50("synthetic-1m", "recommendations"),
        "<=",
        30,
    ),
    ("similarity space MB per worker @114", _space_mb, "<=", 40),
    *[
        (f"cursor page / first page p50 {kind} @114 (issue 18)", _cursor_ratio(kind), "<=", 1.5)
        for kind in ("tracks", "genre_tracks", "similar", "recommendations")
    ],
    ("p50 ms mix of 10 @114 (issue 18)", _query_p50(MAIN_DATASET, "mix"), "<=", 20),
    ("p50 ms related artists @114 (issue 18)", _query_p50(MAIN_DATASET, "related"), "<=", 5),
    *[
        (f"http {g} / flask", _http_ratio(g, "flask"), ">=", 0.9)
        for g in ("stats", "genres", "track")
    ],
    ("http tracks / flask", _http_ratio("tracks", "flask"), ">=", 0.6),
    ("http tracks / datasette (issue 7)", _http_ratio("tracks", "datasette"), ">=", 10),
    ("http similar / flask (issue 8)", _http_ratio("similar", "flask"), ">=", 0.5),
    ("http recommendations / flask (issue 8)", _http_ratio("recommendations", "flask"), ">=", 0.5),
    ("http worst p99 ms (kapiko)", _http_worst_p99, "<=", 20),
    (
        "replica: /stats p99 ms, 256 slow clients (issue 15)",
        _proxy("slow_clients", "stats_during", "p99_ms"),
        "<=",
        1000,
    ),
    (
        "replica: /stats p99 ms, 8 export streams (issue 15)",
        _proxy("export_storm", "stats_during", "p99_ms"),
        "<=",
        50,
    ),
    ("workers all ready s", _workers("all_workers_ready_s_median"), "<=", 1),
    ("worker RSS MB", _workers("worker_rss_mb_max"), "<=", 250),
    ("worker private MB @114 (issue 10)", _workers("worker_private_dirty_mb_max"), "<=", 60),
    (
        "8 workers' total PSS MB @114 (issue 10)",
        _workers("workers_pss_mb_total_median", count=8),
        "<=",
        2 * RSS_PER_WORKER_BEFORE_MB,
    ),
    (
        "worker ready s @1M synthetic (issue 10)",
        _workers("all_workers_ready_s_median", "synthetic-1m"),
        "<=",
        2,
    ),
    (
        "worker private MB @1M synthetic (issue 10)",
        _workers("worker_private_dirty_mb_max", "synthetic-1m"),
        "<=",
        150,
    ),
    *scale.TARGETS,
]


def target_rows(results: dict) -> list[dict]:
    """Each target with its measured figure and met / MISSED / not measured."""
    rows = []
    smoke = results.get("meta", {}).get("mode") == "quick"
    for name, figure, op, limit in TARGETS:
        value = figure(results)
        if value is None:
            verdict = "not measured"
        elif smoke:
            verdict = "smoke run: not a measurement"
        else:
            verdict = "met" if (value <= limit if op == "<=" else value >= limit) else "MISSED"
        rows.append({"target": name, "value": value, "want": f"{op} {limit}", "verdict": verdict})
    return rows


# ---------------------------------------------------------------- printing
def table(rows: list[dict], columns: list[str]) -> str:
    """A plain-text table of the given columns (missing cells blank)."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col), *(len(line[i]) for line in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


SECTION_COLUMNS = {
    "ingest": ["scenario", "synthetic", "ok", "wall_s", "peak_rss_mb"],
    "queries": ["dataset", "group", "n", "non_200", "p50_ms", "p99_ms", "mean_ms"],
    "http": [
        "target",
        "group",
        "requests_per_s",
        "p50_ms",
        "p99_ms",
        "bytes_per_response",
        "non_2xx",
        "socket_errors",
    ],
    "ratios": ["group", "target", "vs", "ratio"],
    "workers": [
        "dataset",
        "workers",
        "first_answer_s_median",
        "all_workers_ready_s_median",
        "worker_rss_mb_max",
        "worker_private_mb_max",
        "worker_private_dirty_mb_max",
        "workers_pss_mb_total_median",
    ],
    "similarity": [
        "dataset",
        "space",
        "mean_over_genres",
        "chance_over_genres",
        "mean_over_tracks",
    ],
    "proxy": [
        "round",
        "target",
        "requests_per_s",
        "p50_ms",
        "p99_ms",
        "bytes_per_response",
        "non_2xx",
    ],
    "proxy load": ["case", "n", "p50_ms", "p99_ms", "detail"],
    "scale": scale.COLUMNS,
    "targets": ["target", "value", "want", "verdict"],
}


def section_rows(results: dict) -> dict[str, list[dict]]:
    """The rows of each printed section of a run."""
    http = results.get("http") or {}
    workers = results.get("workers")
    return {
        "ingest": _list(results.get("ingest")),
        "queries": _list(results.get("queries")),
        "http": _list(http.get("rows")),
        "ratios": _list(http.get("ratios")),
        "workers": [w for w in _list(workers) if isinstance(w, dict) and "dataset" in w],
        "similarity": [
            {"dataset": run["dataset"], **space}
            for run in _list(results.get("similarity"))
            for space in run["spaces"]
        ],
        "proxy": _list((results.get("proxy") or {}).get("rows")),
        "proxy load": proxy_load_rows(results.get("proxy") or {}),
        "scale": scale.table_rows(results),
        "targets": target_rows(results),
    }


def proxy_load_rows(proxy: dict) -> list[dict]:
    """/stats latency through the replica: idle, under slow clients, under an export storm."""
    if "stats_idle" not in proxy:
        return []
    slow, storm = proxy["slow_clients"], proxy["export_storm"]
    return [
        {"case": "idle", **proxy["stats_idle"]},
        {
            "case": f"{slow['slow_clients']} slow clients",
            **slow["stats_during"],
            "detail": f"{slow['closed_by_server']} closed by the server, the last after "
            f"{slow['last_closed_after_s']} s (timeout {slow['client_timeout_s']} s)",
        },
        {
            "case": f"{storm['clients']} export streams",
            **storm["stats_during"],
            "detail": ", ".join(f"{k} {v}" for k, v in storm["exports"].items()),
        },
        {
            "case": "replica / gunicorn throughput",
            "detail": f"median {proxy['replica_vs_gunicorn']}, rounds "
            f"{proxy['replica_vs_gunicorn_each_round']}",
        },
    ]


def _list(value: Any) -> list[dict]:
    return value if isinstance(value, list) else []


def print_tables(results: dict) -> None:
    """Print every section of a run as a table, the targets last."""
    for title, rows in section_rows(results).items():
        if rows:
            print(f"\n== {title}\n{table(rows, SECTION_COLUMNS[title])}")
