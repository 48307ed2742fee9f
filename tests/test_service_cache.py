"""service/cache.py: a version's serving tables, built once per host as standard Arrow IPC files,
shared by every worker, rebuilt for other code or when damaged, and open to analysts' tools."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import sys
import threading
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset
import pytest
from conftest import TINY_TRACKS, TINY_VERSION, write_curated

import contract as c
from contract import verified
from service import cache, serving
from service.dataset import load_dataset


@pytest.fixture()
def version(tmp_path: Path) -> Path:
    """The six-track version in a folder of its own (so its cache is this test's alone)."""
    return write_curated(tmp_path / "versions" / TINY_VERSION, TINY_TRACKS)


def count_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every build of serving tables from here on."""
    built: list[Path] = []
    real = serving.serving_tables

    def counted(folder: Path):  # type: ignore[no-untyped-def]
        built.append(folder)
        yield from real(folder)

    monkeypatch.setattr(serving, "serving_tables", counted)
    return built


def test_an_entry_is_built_once_beside_the_versions_and_then_reused(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = count_builds(monkeypatch)
    first = cache.entry(version, TINY_VERSION)
    assert first == version.parent / ".serving" / f"{TINY_VERSION}-{cache.LAYOUT}"
    assert sorted(p.name for p in first.iterdir()) == sorted([*cache.FILES, cache.DESCRIPTION])
    inode = (first / "rows.arrow").stat().st_ino
    assert cache.entry(version, TINY_VERSION) == first
    load_dataset(version)  # a worker's load finds it too
    assert len(built) == 1 and (first / "rows.arrow").stat().st_ino == inode


def test_workers_loading_at_once_build_it_once(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = count_builds(monkeypatch)
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(cache.entry(version, TINY_VERSION)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len(set(found)) == 1 and len(found) == 4


def test_other_code_builds_its_own_entry_and_the_version_stays_servable(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cache.entry(version, TINY_VERSION)
    monkeypatch.setattr(cache, "LAYOUT", "0therlayout0")  # code that renders other responses
    after = cache.entry(version, TINY_VERSION)
    assert after.name == f"{TINY_VERSION}-0therlayout0" and before.is_dir()
    assert load_dataset(version).version == TINY_VERSION


def test_a_damaged_or_unfinished_entry_is_built_again(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = cache.entry(version, TINY_VERSION)
    texts = entry / "texts.arrow"
    texts.write_bytes(texts.read_bytes()[:-10])  # cut short: its size is not the recorded one
    built = count_builds(monkeypatch)
    assert cache.entry(version, TINY_VERSION) == entry and len(built) == 1
    rows = entry / "rows.arrow"
    damaged = bytearray(rows.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one byte flipped: same size, another sha256
    rows.write_bytes(bytes(damaged))
    assert cache.entry(version, TINY_VERSION) == entry and len(built) == 2
    (entry / cache.DESCRIPTION).unlink()  # a build that stopped before its description
    assert cache.entry(version, TINY_VERSION) == entry and len(built) == 3
    body = load_dataset(version).index.texts[0].tobytes()
    assert b'"name":"Bravo"' in body


def test_only_the_most_recently_used_entries_are_kept(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layouts = [f"layout{n:06}" for n in range(cache.KEEP + 2)]
    for layout in layouts:
        monkeypatch.setattr(cache, "LAYOUT", layout)
        cache.entry(version, TINY_VERSION)
    kept = sorted(p.name.rsplit("-", 1)[1] for p in cache.cache_root(version).iterdir()
                  if not p.name.startswith("."))  # fmt: skip
    assert kept == layouts[-cache.KEEP :]


def test_the_cache_files_open_as_they_are_in_polars_pyarrow_and_duckdb(version: Path) -> None:
    entry = cache.entry(version, TINY_VERSION)
    tracks = pl.read_parquet(version / c.TRACKS)
    rows = pl.read_ipc(entry / "rows.arrow")
    assert rows["id"].to_list() == tracks["id"].to_list()
    assert rows["energy"].to_list() == tracks["energy"].to_list()
    by_energy = rows["id"].gather(rows["order_energy_asc"]).to_list()
    assert by_energy == tracks.sort("energy", "id")["id"].to_list()
    texts = pyarrow.ipc.open_file(entry / "texts.arrow").read_all()
    first = json.loads(texts.column("json")[0].as_py())
    assert first["id"] == tracks["id"][0] and first["genres"] == ["ambient"]
    dataset = pyarrow.dataset.dataset(entry / "rows.arrow", format="ipc")  # noqa: F841
    (found,) = duckdb.sql("SELECT count(*), max(popularity) FROM dataset").fetchall()
    assert found == (tracks.height, tracks["popularity"].max())
    described = json.loads((entry / cache.DESCRIPTION).read_text())
    assert described["version"] == TINY_VERSION and described["layout"] == cache.LAYOUT


def test_a_large_version_is_built_in_a_child_process_that_gives_its_memory_back(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = count_builds(monkeypatch)  # counts builds in this process only
    monkeypatch.setattr(cache, "IN_PROCESS_MAX", 0)  # every version is "large"
    entry = cache.entry(version, TINY_VERSION)
    assert built == [] and cache.describe(entry)["version"] == TINY_VERSION
    # The child stamped what it hashed as it wrote: the workers map it without hashing again.
    names = sorted(cache.describe(entry)["files"])
    assert verified.already_verified(entry, names, cache.DESCRIPTION)
    assert load_dataset(version).index.genre_ids == ("ambient", "sleep", "piano")


def test_a_child_build_that_fails_is_the_dataset_s_error(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "IN_PROCESS_MAX", 0)
    (version / c.GENRES).unlink()  # the child cannot read the version
    with pytest.raises(c.CuratedDatasetError, match=r"cannot build the serving cache .*genres"):
        cache.entry(version, TINY_VERSION)
    assert [p for p in cache.cache_root(version).iterdir() if p.is_dir()] == []


def test_an_artist_text_changed_after_it_was_verified_is_never_sent(version: Path) -> None:
    from service.artists import artist_text
    from service.index import DamagedData, track_texts

    dataset = load_dataset(version)
    artists = dataset.artists
    good = [artist_text(artists, code) for code in range(len(artists.start))]
    assert all(json.loads(text)["name"] for text in good)
    data, offsets = artists.texts
    changed = data.copy()  # the mapped bytes are read-only: change a copy, as a disk would
    changed[offsets[1] + 2] ^= 0x01
    damaged = dataclasses.replace(artists, texts=(changed, offsets))
    assert artist_text(damaged, 0) == good[0]  # the others are still sent
    with pytest.raises(DamagedData, match="artist 1"):
        artist_text(damaged, 1)
    assert track_texts(dataset.index, [0])  # tracks are checked the same way (test_never_down)


def test_a_worker_waiting_for_another_builder_beats_for_gunicorn(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another process holds the host's lock (a build of minutes at ten million tracks),
    a booting worker keeps telling gunicorn it is alive: here the lock is let go only when the
    waiting worker has beaten, so the build can only finish after a beat."""
    root = cache.cache_root(version)
    root.mkdir(parents=True)
    holder = open(root / ".lock", "w")  # noqa: SIM115 - released by the heartbeat
    fcntl.flock(holder, fcntl.LOCK_EX)
    beats: list[int] = []

    def beat() -> None:
        if not beats:
            holder.close()  # the other builder is done
        beats.append(1)

    monkeypatch.setattr(cache, "HEARTBEAT", beat)
    never_beaten = threading.Timer(60, holder.close)  # so a broken heartbeat fails, not hangs
    never_beaten.start()
    try:
        assert cache.describe(cache.entry(version, TINY_VERSION))["version"] == TINY_VERSION
    finally:
        never_beaten.cancel()
    assert beats


def test_a_worker_building_in_a_child_process_beats_for_gunicorn(
    version: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The child build here starts only once the worker has beaten (it waits for a file the
    heartbeat writes): a build longer than gunicorn's timeout keeps its worker alive."""
    monkeypatch.setattr(cache, "IN_PROCESS_MAX", 0)
    signal = tmp_path / "beaten"
    real = cache.build_command

    def waiting(folder: Path, version: str, final: Path) -> tuple[list[str], dict[str, str]]:
        command, env = real(folder, version, final)
        script = (
            "import os, runpy, sys, time\n"
            "deadline = time.monotonic() + 60\n"  # a broken heartbeat fails the build, not hangs
            f"while not os.path.exists({str(signal)!r}):\n"
            "    if time.monotonic() > deadline: sys.exit('the worker never beat')\n"
            "    time.sleep(0.01)\n"
            f"sys.argv = {['service.cache', *command[3:]]!r}\n"
            "runpy.run_module('service.cache', run_name='__main__')\n"
        )
        return [sys.executable, "-c", script], env

    monkeypatch.setattr(cache, "build_command", waiting)
    monkeypatch.setattr(cache, "BEAT_S", 0.05)
    monkeypatch.setattr(cache, "HEARTBEAT", lambda: signal.touch())
    assert cache.describe(cache.entry(version, TINY_VERSION))["version"] == TINY_VERSION
    assert signal.exists()


def test_a_worker_stopped_while_it_waits_for_its_child_build_stops_the_child(
    version: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """gunicorn stopping a booting worker (its quit raises in the worker) must not leave a
    build of gigabytes running unowned beside the next worker's build."""
    monkeypatch.setattr(cache, "IN_PROCESS_MAX", 0)
    started = tmp_path / "child-pid"
    script = (
        f"import os, time; open({str(started)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    )
    monkeypatch.setattr(cache, "build_command", lambda *_: ([sys.executable, "-c", script], {}))
    monkeypatch.setattr(cache, "BEAT_S", 0.05)

    class Stopped(Exception):
        pass

    def beat() -> None:
        if started.exists() and started.read_text():
            raise Stopped  # as gunicorn's SystemExit would, in the middle of the wait

    monkeypatch.setattr(cache, "HEARTBEAT", beat)
    with pytest.raises(Stopped):
        cache.entry(version, TINY_VERSION)
    with pytest.raises(ProcessLookupError):  # killed and reaped: no such process any more
        os.kill(int(started.read_text()), 0)


def test_a_build_folder_a_dead_build_left_is_removed_before_the_next_build(
    version: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build killed by the OOM killer leaves gigabytes: gone before the next build needs the
    space, not only after it succeeded."""
    root = cache.cache_root(version)
    abandoned = root / ".building-deadbeef-x"
    abandoned.mkdir(parents=True)
    (abandoned / "texts.arrow").write_bytes(b"half a file")
    seen_at_build: list[bool] = []
    real = cache.write_entry

    def watched(*args: object) -> None:
        seen_at_build.append(abandoned.exists())
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "write_entry", watched)
    cache.entry(version, TINY_VERSION)
    assert seen_at_build == [False]
