"""Command line: `python -m pipeline raw|ingest|rollback|versions` (the Makefile's targets)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.catalogue import Genre, catalogue_entry, load_catalogue
from pipeline.errors import PipelineError, UpstreamError, environmental
from pipeline.settings import Settings

# Modules that import Polars (~0.15 s) are imported in the commands that need them, so that a
# `make raw` with every raw file present, the first step of every `make ingest`, needs none.
if TYPE_CHECKING:
    from pipeline.run import RunResult

MAX_BAD_SHARE_ENV = "KAPIKO_MAX_BAD_SHARE"
_COLUMNS = ("rows_read", "valid", "quarantined", "duplicates", "cut_by_top_n", "tracks")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run one command, print what happened; 1 if refused, 2 on bad usage."""
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings(
        data_dir=args.data_dir,
        catalogue=args.catalogue,
        max_bad_share=_max_bad_share(parser, args.max_bad_share),
        force=args.force,
        data_docs=not args.no_data_docs,
        keep_runs=args.keep_runs,
        store=_store(parser),
        rows_in_memory=args.rows_in_memory,
    )
    try:
        return int(args.command(settings, args) or 0)
    except PipelineError as error:
        print(f"\nkapiko {args.name}: REFUSED\n{shown_lines(str(error))}", file=sys.stderr)
        print("\nThe published dataset is unchanged.", file=sys.stderr)
        return 1
    except Exception as error:
        if not environmental(error):
            raise
        print(
            f"\nkapiko {args.name}: FAILED: the machine, not the data\n{shown_lines(str(error))}\n"
            "\nFree space, or fix the folder's permissions, then run the command again. The "
            "published dataset is unchanged, and nothing this run wrote is left behind.",
            file=sys.stderr,
        )
        return 3


def shown_lines(text: str) -> str:
    """A message for the terminal: every line with its control characters escaped."""
    from contract.text import shown

    return "\n".join(shown(line) for line in text.split("\n"))


def command_raw(settings: Settings, args: argparse.Namespace) -> None:
    """Write raw CSVs for catalogue genres that have none (all upstream genres with --genres all)."""
    genres = load_catalogue(settings.catalogue_path)
    missing = [genre for genre in genres if not (settings.raw_dir / genre.file).exists()]
    if not missing and args.genres != "all":
        print(f"raw files: 0 written, {len(genres)} already present (upstream file not needed)")
        return
    from contract import file_sha256
    from pipeline import extract
    from pipeline.summary import UPSTREAM_RECORD

    upstream_path = _find_upstream(settings, missing, args.genres == "all")
    if args.genres == "all":
        upstream_ids = extract.upstream_genres(upstream_path)
        added = add_upstream_genres(settings.catalogue_path, upstream_ids)
        print(f"catalogue {settings.catalogue_path}: added {added} upstream genres")
    genres = load_catalogue(settings.catalogue_path)
    written, rows = extract.write_raw_files(upstream_path, genres, settings.raw_dir)
    record = {"path": _display(upstream_path), "sha256": file_sha256(upstream_path), "rows": rows}
    (settings.raw_dir / UPSTREAM_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    print(f"raw files: {len(written)} written, {len(genres) - len(written)} already present")


def _find_upstream(settings: Settings, missing: list[Genre], all_genres: bool) -> Path:
    """The upstream file; if it cannot be found, say which genres needed it and what to do."""
    from pipeline import extract

    try:
        return extract.find_upstream(settings.data_dir / "upstream")
    except UpstreamError as error:
        if all_genres:
            raise UpstreamError(f"--genres all needs the upstream file: {error}") from None
        files = ", ".join(genre.file for genre in missing)
        which = ", ".join(genre.id for genre in missing)
        needs = f"genre {which} has" if len(missing) == 1 else f"genres {which} have"
        raise UpstreamError(
            f"{needs} no raw file in {settings.raw_dir} ({files}), and the upstream file to "
            f"write one from cannot be found: {error}\nOr put your own CSV there: the upstream "
            "file is needed only for catalogue genres without a raw file."
        ) from None


def add_upstream_genres(catalogue_path: Path, upstream_ids: list[str]) -> int:
    """Append an entry for every upstream genre the catalogue lacks; keep existing text as is."""
    known = {genre.id for genre in load_catalogue(catalogue_path)}
    missing = [genre_id for genre_id in upstream_ids if genre_id not in known]
    if missing:
        with open(catalogue_path, "a", encoding="utf-8") as handle:
            handle.writelines(catalogue_entry(genre_id) for genre_id in missing)
    return len(missing)


def command_ingest(settings: Settings, args: argparse.Namespace) -> None:
    """Validate the raw files and publish a new curated dataset."""
    from pipeline.run import ingest

    print(f"kapiko ingest: {settings.catalogue_path}", file=sys.stderr)
    result = ingest(settings)
    _print_summary(result)


def command_rollback(settings: Settings, args: argparse.Namespace) -> None:
    """Make the version before the current one (or --version) current again."""
    from pipeline import publish

    with publish.exclusive(settings.curated_dir):
        target, before = publish.rollback(settings.open_store(), args.version)
    print(f"current dataset is now {target} (was {before}); `make versions` lists them all")


def command_versions(settings: Settings, args: argparse.Namespace) -> None:
    """List every published version: created_at, tracks, and which is current."""
    from pipeline import history

    store = settings.open_store()
    log = history.load(store)
    listed = history.states(log, history.present(store))
    if not listed:
        print("no version has been published yet: run `make ingest`")
        return
    width = max(len(item["version"]) for item, _ in listed)
    print(f"{'version':<{width}}  {'created_at':<25}  {'tracks':>7}  state")
    for item, state in listed:
        tracks = "?" if item["tracks"] is None else f"{item['tracks']:,}"
        print(f"{item['version']:<{width}}  {item['created_at']!s:<25}  {tracks:>7}  {state}")
    states = {item["version"]: state for item, state in listed}
    target = log["live"][-2] if len(log["live"]) > 1 else None
    if target is not None and states[target] == "earlier":
        print(f"`make rollback` would make {target} current.")
    elif target is not None:
        print(f"`make rollback` cannot step back: {target} is {states[target]}.")


def _print_summary(result: RunResult) -> None:
    width = max([5, *(len(genre) for genre in result.genres)])
    print(f"{'genre':<{width}}  " + "  ".join(f"{name:>12}" for name in _COLUMNS))
    for genre, counts in result.genres.items():
        print(f"{genre:<{width}}  " + "  ".join(f"{counts[name]:>12,}" for name in _COLUMNS))
    if result.status == "published":
        print(f"\npublished version {result.version} → {result.message}")
        print(f"quality report: {result.run_dir}/report.html")
    elif result.run_dir is not None:
        print(f"\nup to date: version {result.version} holds exactly this data; nothing published")
        print(f"quality report: {result.run_dir}/report.html")
    else:
        print(f"\nup to date: version {result.version} (use --force to check again)")


def _display(path: Path) -> str:
    """The path relative to the working directory, so no machine path is recorded."""
    return os.path.relpath(path)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="root of raw/, curated/, runs/"
    )
    common.add_argument(
        "--catalogue", type=Path, help="genre catalogue (default: DATA_DIR/raw/genres.toml)"
    )
    common.add_argument(
        "--max-bad-share",
        type=_share,
        help=f"refuse a file when more than this share of its rows is quarantined "
        f"(default ${MAX_BAD_SHARE_ENV}, else {Settings.max_bad_share})",
    )
    common.add_argument(
        "--force", action="store_true", help="rebuild even if the inputs are unchanged"
    )
    common.add_argument("--no-data-docs", action="store_true", help="skip the GX Data Docs build")
    common.add_argument(
        "--keep-runs",
        type=_at_least_one,
        default=Settings.keep_runs,
        help=f"run reports kept in DATA_DIR/runs, this run's included (default {Settings.keep_runs})",
    )
    common.add_argument(
        "--rows-in-memory",
        type=_at_least_one,
        default=Settings.rows_in_memory,
        help="rows validated and curated in memory at once; more are streamed through files "
        f"and curated in parts of this size (default {Settings.rows_in_memory:,}; about 1 GB "
        "of memory per million rows)",
    )
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(required=True, dest="name")
    raw = commands.add_parser("raw", parents=[common], help=command_raw.__doc__)
    raw.add_argument("--genres", choices=["catalogue", "all"], default="catalogue")
    raw.set_defaults(command=command_raw)
    commands.add_parser("ingest", parents=[common], help=command_ingest.__doc__).set_defaults(
        command=command_ingest
    )
    rollback = commands.add_parser("rollback", parents=[common], help=command_rollback.__doc__)
    rollback.add_argument("--version", help="the version to make current (see `versions`)")
    rollback.set_defaults(command=command_rollback)
    versions = commands.add_parser("versions", parents=[common], help=command_versions.__doc__)
    versions.set_defaults(command=command_versions)
    return parser


def _share(text: str) -> float:
    """A share of rows from 0 to 1, or an error saying what is allowed."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a share between 0 and 1 (e.g. 0.1 allows 10 % bad rows per file)"
        )
    return value


def _at_least_one(text: str) -> int:
    """A whole number of at least 1, or an error saying so."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _store(parser: argparse.ArgumentParser) -> str:
    """$KAPIKO_STORE, checked: empty for the local folder; a usage error if malformed."""
    location = os.environ.get("KAPIKO_STORE", "").strip()
    if not location:
        return ""  # the usual case: no need to import contract (and Polars) yet
    from contract.bucket import parse_bucket
    from contract.store import StoreError

    try:
        parse_bucket(location)
    except StoreError as error:
        parser.error(str(error))
    return location


def _max_bad_share(parser: argparse.ArgumentParser, given: float | None) -> float:
    """--max-bad-share if given, else $KAPIKO_MAX_BAD_SHARE if set, else the default."""
    if given is not None:
        return given
    text = os.environ.get(MAX_BAD_SHARE_ENV, "")
    if not text:
        return Settings.max_bad_share
    try:
        return _share(text)
    except argparse.ArgumentTypeError as error:
        parser.error(f"{MAX_BAD_SHARE_ENV}={text}: {error}; fix or unset the variable")


if __name__ == "__main__":
    sys.exit(main())
