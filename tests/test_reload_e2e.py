"""Live reload end to end: a real gunicorn under load while the real pipeline CLI publishes.

No request fails, each response comes wholly from one version (its body and its ETag), every
worker switches within a few seconds, and a refused ingest changes nothing served.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from builders import raw_line, write_raw_csv
from servers import gunicorn, request, wait_for

from pipeline.__main__ import main
from service import create_app

CATALOGUE = '[[genre]]\nid = "ambient"\nname = "Ambient"\ndescription = "Quiet."\n'
PATHS = ("/api/v1/health", "/api/v1/tracks?limit=50&sort=energy", "/api/v1/genres")
CLIENTS = 4
Versions = dict[str, dict[str, tuple[bytes, str | None]]]  # version -> path -> (body, ETag)
SWITCH_TIMEOUT_S = 15  # "within a few seconds", generously: the default interval is 2 s


@dataclass(frozen=True)
class Answer:
    """One response the load saw (status None: the request failed)."""

    at: float
    path: str
    status: int | None
    etag: str | None
    body: bytes


def write_raw(data_dir: Path, tracks: int, energy: float, drop: str = "") -> None:
    """One genre of `tracks` tracks at one energy; `drop` leaves a column out (a refused file)."""
    raw = data_dir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "genres.toml").write_text(CATALOGUE)
    lines = [raw_line(n, energy=str(energy)) for n in range(1, tracks + 1)]
    header = [column for column in lines[0] if column != drop] if drop else None
    write_raw_csv(raw / "ambient.csv", lines, header)


def ingest(data_dir: Path) -> int:
    """The pipeline's CLI, `python -m pipeline ingest`, on data_dir."""
    return main(["ingest", "--data-dir", str(data_dir), "--no-data-docs"])


def live_version(data_dir: Path) -> str:
    return os.path.basename(os.path.realpath(data_dir / "curated" / "current"))


def expected(data_dir: Path, version: str) -> dict[str, tuple[bytes, str | None]]:
    """Each path's body and ETag for one version, from an in-process app over that version."""
    folder = data_dir / "curated" / "versions" / version
    client = create_app({"CURATED_DIR": str(folder), "RELOAD_INTERVAL": 0}).test_client()
    return {path: (client.get(path).data, client.get(path).headers.get("ETag")) for path in PATHS}


def hammer(base: str, stop: threading.Event, answers: list[Answer], offset: int) -> None:
    """Request the paths in turn until stopped, recording every answer and every failure."""
    turn = offset
    while not stop.is_set():
        path = PATHS[turn % len(PATHS)]
        turn += 1
        try:
            status, headers, body = request(base + path)
            answers.append(Answer(time.monotonic(), path, status, headers.get("ETag"), body))
        except OSError as error:
            answers.append(Answer(time.monotonic(), path, None, None, repr(error).encode()))


def version_of(answer: Answer, versions: Versions) -> str | None:
    """The one version whose body and ETag the answer has; None if it has no one version's."""
    for version, answers in versions.items():
        if (answer.body, answer.etag) == answers[answer.path]:
            return version
    return None


def switched(answers: list[Answer], since: float, versions: Versions) -> bool:
    """Whether the last 30 answers, all after `since`, come from the newest version."""
    newest = list(versions)[-1]
    recent = [answer for answer in answers[-30:] if answer.at > since]
    return len(recent) == 30 and all(version_of(a, versions) == newest for a in recent)


def publish(data_dir: Path, tracks: int, energy: float, versions: Versions) -> float:
    """Write new raw data, ingest it (a new version) and return when the ingest ended."""
    write_raw(data_dir, tracks=tracks, energy=energy)
    assert ingest(data_dir) == 0
    published = time.monotonic()
    version = live_version(data_dir)
    versions[version] = expected(data_dir, version)
    return published


def test_a_publish_under_load_switches_every_worker_without_a_failed_request(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    write_raw(data_dir, tracks=20, energy=0.3)
    assert ingest(data_dir) == 0
    first = live_version(data_dir)
    versions = {first: expected(data_dir, first)}
    answers: list[Answer] = []
    stop = threading.Event()

    def answered_since(moment: float, count: int = 30) -> Callable[[], bool]:
        return lambda: sum(answer.at > moment for answer in answers) >= count

    with (
        gunicorn(data_dir / "curated" / "current", tmp_path / "server") as server,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        loads = [pool.submit(hammer, server.base, stop, answers, n) for n in range(CLIENTS)]
        assert wait_for(answered_since(0))  # the load runs before anything is published
        publishing = time.monotonic()
        published = publish(data_dir, 25, 0.6, versions)
        second = live_version(data_dir)
        assert wait_for(lambda: switched(answers, published, versions))
        write_raw(data_dir, tracks=30, energy=0.9, drop="energy")
        refused = time.monotonic()
        assert ingest(data_dir) == 1
        assert live_version(data_dir) == second
        # A refused ingest moves no pointer, so nothing happens to wait for. A third publish
        # does: each worker switches to it from the second version, so every look at the
        # pointer since the refusal found the second (the log says "was <second>").
        assert wait_for(answered_since(refused))
        republishing = time.monotonic()
        republished = publish(data_dir, 35, 0.1, versions)
        third = live_version(data_dir)
        assert wait_for(lambda: switched(answers, republished, versions))
        stop.set()
        for load in loads:
            load.result()
    log = server.log.read_text()

    assert [a for a in answers if a.status != 200] == []
    assert [a for a in answers if version_of(a, versions) is None] == []  # no mixed answer
    seen = [(a.at, version_of(a, versions)) for a in answers]
    assert {v for at, v in seen if at < publishing} == {first}
    assert {v for at, v in seen if refused < at < republishing} == {second}
    last_old = max(at for at, v in seen if v == first)
    assert last_old - published < SWITCH_TIMEOUT_S
    assert log.count(f"now serving curated dataset {second} (was {first})") == 2  # each worker
    assert log.count(f"now serving curated dataset {third} (was {second})") == 2
