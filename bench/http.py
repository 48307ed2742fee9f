"""HTTP benchmark: wrk against our service and three baselines, side by side in one run.

Targets, each under gunicorn with the same settings (2 workers, 127.0.0.1, --no-control-socket):
  bare-wsgi  (a) a WSGI function returning a precomputed JSON body (the ceiling)
  flask      (b) a one-view Flask app returning the same body (the framework's ceiling)
  datasette  (c) Datasette on the same tracks exported to SQLite, the equivalent /tracks queries
             (ASGI, so gunicorn's uvicorn worker class instead of sync; its own venv)
  kapiko     (d) our service, with the same command-line settings and no config file
  kapiko-conf    our service as `make serve` runs it (service/gunicorn_conf.py: access log on),
             on the blended mix only, to show what the deployed settings cost
Targets run one after another, never concurrently. wrk replays the seeded mix of bench/mix.py.

    python -m bench.http --duration 3 --targets bare-wsgi,flask,datasette
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bench import mix, servers
from bench.paths import DATASETTE_VENV, OUT, ROOT
from bench.servers import Target

LUA = ROOT / "bench" / "wrk_mix.lua"
API_GROUPS = ("stats", "genres", "genre", "genre_tracks", "tracks", "ranges3", "facets", "batch",
              "track", "compare", "similar", "recommendations", "all")  # fmt: skip
DATASETTE_GROUPS = mix.DATASETTE_GROUPS
TARGETS = ("bare-wsgi", "flask", "datasette", "kapiko", "kapiko-conf")


@dataclass
class HttpConfig:
    """What one HTTP benchmark run does."""

    duration: float = 10.0
    warmup: float = 2.0
    threads: int = 2
    connections: int = 16
    workers: int = 2
    mix_size: int = 1000
    targets: tuple[str, ...] = TARGETS
    groups: tuple[str, ...] = API_GROUPS
    curated: Path = Path("data/curated/current")
    work_dir: Path = field(default_factory=lambda: OUT / "http")


def wrk_available() -> bool:
    """Whether the wrk load generator is on PATH."""
    return shutil.which("wrk") is not None


def run_wrk(port: int, urls: Path, seconds: float, config: HttpConfig) -> dict:
    """One wrk run against 127.0.0.1:port replaying `urls`; its BENCH_JSON figures."""
    command = [
        "wrk",
        f"--threads={config.threads}",
        f"--connections={config.connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={LUA}",
        f"http://{servers.HOST}:{port}",
        "--",
        str(config.threads),
    ]
    env = {**os.environ, "BENCH_URLS": str(urls)}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON "))


def figures(raw: dict) -> dict:
    """Throughput and latency (ms) from wrk's raw figures."""
    seconds = raw["duration_us"] / 1e6
    requests = raw["requests"]
    latency = raw["latency_us"]
    return {
        "requests": requests,
        "requests_per_s": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "mean_ms": round(latency["mean"] / 1000, 3),
        "bytes_per_response": round(raw["bytes"] / requests) if requests else 0,
        "socket_errors": sum(v for k, v in raw["errors"].items() if k != "status"),
        "non_2xx": raw["errors"]["status"],
    }


def sample_statuses(port: int, urls: Path, count: int = 25) -> dict[str, int]:
    """Status counts of the first `count` distinct URLs, fetched once before the load."""
    statuses: dict[str, int] = {}
    distinct = list(dict.fromkeys(urls.read_text().split()))[:count]
    for url in distinct:
        status, _ = servers.get(port, url)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return statuses


def datasette_agreement(port: int, group: str, files: dict[str, Path], bodies: Path) -> dict:
    """For the first few queries, does Datasette count as many matches as our meta.total?"""
    ours = files[group].read_text().split()[:25]
    theirs = files[f"{group}.datasette"].read_text().split()[:25]
    answers = json.loads(bodies.read_text())
    agree = 0
    for our_url, their_url in zip(ours, theirs, strict=True):
        status, body = servers.get(port, their_url)
        counted = json.loads(body).get("filtered_table_rows_count") if status == 200 else None
        agree += counted == json.loads(answers[our_url]).get("meta", {}).get("total")
    return {"checked": len(ours), "same_total": agree}


def tracks_frames(curated: Path) -> tuple[pl.DataFrame, pl.DataFrame, list[str], str]:
    """Tracks, memberships, catalogue genre order and a label of the curated dataset."""
    genres = pl.read_parquet(curated / "genres.parquet").sort("position")["id"].to_list()
    tracks = pl.read_parquet(curated / "tracks.parquet")
    members = pl.read_parquet(curated / "track_genres.parquet")
    return tracks, members, genres, f"curated {curated.parent.parent.name}"


def precompute_bodies(curated: Path, url_files: dict[str, Path], path: Path) -> Path | None:
    """Our service's response to every mix URL, for the baselines to send; None if no service."""
    try:
        from service import create_app
    except ImportError:
        return None
    client = create_app({"CURATED_DIR": str(curated)}).test_client()
    bodies: dict[str, str] = {}
    for name, file in url_files.items():
        if name.endswith(".datasette"):
            continue
        for url in file.read_text().split():
            if url not in bodies:
                bodies[url] = client.get(url).get_data(as_text=True)
    path.write_text(json.dumps(bodies))
    return path


def build_targets(config: HttpConfig, sqlite: Path | None, bodies: Path | None) -> list[Target]:
    """The Target of each name in config.targets."""
    body_env = {"BENCH_BODIES": str(bodies)} if bodies else {}
    service_env = {"KAPIKO_CURATED_DIR": str(config.curated)}
    made: dict[str, Callable[[], Target]] = {
        "bare-wsgi": lambda: Target("bare-wsgi", "bench.baseline_apps:bare", "/", env=body_env),
        "flask": lambda: Target("flask", "bench.baseline_apps:flask_app", "/", env=body_env),
        "datasette": lambda: Target(
            "datasette",
            "bench.datasette_app:app",
            "/kapiko/tracks_api.json?_size=1",
            bin_dir=DATASETTE_VENV / "bin",
            worker_class="uvicorn_worker.UvicornWorker",  # ASGI: no sync worker possible
            env={"BENCH_SQLITE": str(sqlite)},
        ),
        "kapiko": lambda: Target(
            "kapiko", "service:create_app()", "/api/v1/stats", env=service_env
        ),
        "kapiko-conf": lambda: Target(
            "kapiko-conf",
            "service:create_app()",
            "/api/v1/stats",
            gunicorn_args=("--config=service/gunicorn_conf.py",),
            env=service_env,
        ),
    }
    return [made[name]() for name in config.targets]


def target_groups(target: str, config: HttpConfig, bodies: Path | None) -> list[str]:
    """Which URL groups a target is loaded with."""
    if target == "datasette":
        return [group for group in config.groups if group in DATASETTE_GROUPS]
    if target == "kapiko-conf":
        return ["all"] if "all" in config.groups else []
    if target in ("bare-wsgi", "flask") and bodies is None:
        return ["fixed"]  # no service responses to replay: one run with the fixed body
    return list(config.groups)


def url_file(group: str, target: str, files: dict[str, Path]) -> Path:
    """The URL list a target replays for a group ('fixed' replays the blended mix)."""
    if target == "datasette":
        return files[f"{group}.datasette"]
    return files["all" if group == "fixed" else group]


def load_target(
    target: Target,
    groups: list[str],
    files: dict[str, Path],
    config: HttpConfig,
    bodies: Path | None,
) -> list[dict]:
    """Start one target, warm it up, run wrk for each group, stop it; one row per group."""
    port = servers.free_port()
    server = servers.start(target, port, config.workers, config.work_dir / f"{target.name}.log")
    rows = []
    try:
        ready = servers.wait_ready(server, port, target.ready_path)
        run_wrk(port, url_file(groups[0], target.name, files), config.warmup, config)
        for group in groups:
            urls = url_file(group, target.name, files)
            statuses = sample_statuses(port, urls)
            row = figures(run_wrk(port, urls, config.duration, config))
            row["sample_statuses"] = statuses
            if target.name == "datasette" and group != "track" and bodies is not None:
                row["agreement_with_kapiko"] = datasette_agreement(port, group, files, bodies)
            rows.append({"target": target.name, "group": group, **row})
            print(f"  {target.name:10} {group:13} {row['requests_per_s']:9.1f} req/s", flush=True)
        rows[0]["ready_s"] = round(ready, 3)
    finally:
        servers.stop(server)
    return rows


def prepare(config: HttpConfig) -> tuple[dict[str, Path], Path | None, Path | None, dict]:
    """Write the mix URL files, the SQLite export and (with a service) the baseline bodies."""
    from bench.sqlite_export import export_tracks

    config.work_dir.mkdir(parents=True, exist_ok=True)
    tracks, members, genres, source = tracks_frames(config.curated)
    catalogue = mix.catalogue_from_tracks(tracks, genres)
    files = mix.write_url_files(mix.query_mix(catalogue, config.mix_size), config.work_dir)
    sqlite = None
    if "datasette" in config.targets:
        sqlite = export_tracks(tracks, members, config.work_dir / "kapiko.db")
    bodies = None
    if "kapiko" in config.targets:
        bodies = precompute_bodies(config.curated, files, config.work_dir / "bodies.json")
    info = {"tracks_source": source, "tracks": tracks.height, "genres": len(genres)}
    info["synthetic"] = "synthetic" in source
    info["baseline_bodies"] = "kapiko responses" if bodies else "fixed small body"
    return files, sqlite, bodies, info


def ratios(rows: list[dict]) -> list[dict]:
    """Per group, kapiko's and Datasette's throughput relative to the other targets."""
    by = {(row["target"], row["group"]): row["requests_per_s"] for row in rows}
    out = []
    for (target, group), rate in by.items():
        for other in ("flask", "bare-wsgi", "datasette"):
            base = by.get((other, group))
            if target in ("kapiko", "datasette") and other != target and base:
                out.append({"group": group, "target": target, "vs": other, "ratio": rate / base})
    return out


def run(config: HttpConfig) -> dict:
    """Run the whole HTTP benchmark; rows per (target, group), ratios, and how it was set up."""
    if not wrk_available():
        return {"skipped": "wrk is not installed (make bench installs it)"}
    files, sqlite, bodies, info = prepare(config)
    rows: list[dict] = []
    for target in build_targets(config, sqlite, bodies):
        groups = target_groups(target.name, config, bodies)
        if groups:
            rows.extend(load_target(target, groups, files, config, bodies))
    settings = {
        key: getattr(config, key)
        for key in ("duration", "warmup", "threads", "connections", "workers", "mix_size")
    }
    return {"setup": {**info, **settings}, "rows": rows, "ratios": ratios(rows)}


def main(argv: list[str] | None = None) -> None:
    """CLI: run the HTTP benchmark and print its results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--groups", default=",".join(API_GROUPS))
    parser.add_argument("--curated", type=Path, required=True, help="a curated dataset folder")
    args = parser.parse_args(argv)
    config = HttpConfig(
        duration=args.duration,
        warmup=args.warmup,
        targets=tuple(args.targets.split(",")),
        groups=tuple(args.groups.split(",")),
        curated=args.curated,
    )
    print(json.dumps(run(config), indent=2))


if __name__ == "__main__":
    main()
