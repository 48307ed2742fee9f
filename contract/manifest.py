"""A published folder's manifest, checked against its files and against this code's contract.

The manifest lists every data file of a version with its size, rows and sha256, the digest of
the data (its identity), and the curated schema version and fingerprint it was written with. A
version with another curated schema is refused with a message naming the migrations between
(contract.schema_problem); one written by older code with the same schema is read as it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

import contract as c
from contract import verified


class CuratedDatasetError(Exception):
    """The curated folder is missing, incomplete, or does not match its manifest."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(directory: Path) -> dict[str, Any]:
    """A folder's manifest.json, parsed (CuratedDatasetError if missing or not JSON)."""
    path = directory / c.MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise CuratedDatasetError(
            f"no curated dataset at {directory} ({c.MANIFEST} missing)"
        ) from None
    except (OSError, ValueError) as error:
        raise CuratedDatasetError(f"{path} is unreadable: {error}") from None
    if not isinstance(manifest, dict):
        raise CuratedDatasetError(f"{path} is not a JSON object")
    return manifest


def checked_files(manifest: dict[str, Any]) -> list[str]:
    """The files of a version the check hashes: the contract's tables and the descriptor."""
    listed = manifest.get("files", {})
    return [*c.CURATED_SCHEMAS, *([c.DATAPACKAGE] if c.DATAPACKAGE in listed else [])]


def read_manifest(directory: Path, rehash: bool = False) -> dict[str, Any]:
    """Read a curated folder's manifest and check every file against it and the contract.

    Checks the schema, that each contract table is listed with its size and sha256, that each
    file's bytes match (hashed once per host: contract/verified.py; `rehash` hashes again
    whatever the stamp says), and that each Parquet schema is the contract's. Raises
    CuratedDatasetError.
    """
    manifest = load_manifest(directory)
    problem = c.schema_problem(
        manifest.get("schema_version"), manifest.get("schema_fingerprint"), str(directory)
    )
    if problem:
        raise CuratedDatasetError(problem)
    files = manifest.get("files", {})
    names = checked_files(manifest)
    for name in names:
        _check_listed(directory / name, files.get(name))
    if rehash or not verified.already_verified(directory, names):
        for name in names:
            if file_sha256(directory / name) != files[name].get("sha256"):
                raise CuratedDatasetError(
                    f"{directory / name} does not match the sha256 in the manifest"
                )
        verified.mark_verified(directory, names)
    for name, columns in c.CURATED_SCHEMAS.items():
        try:
            schema = dict(pl.read_parquet_schema(directory / name))
        except (OSError, pl.exceptions.PolarsError) as error:
            raise CuratedDatasetError(f"{directory / name} is unreadable: {error}") from None
        if schema != columns:
            raise CuratedDatasetError(
                f"{directory / name} has columns {schema}, the contract says {columns}"
            )
    return manifest


def _check_listed(path: Path, entry: dict[str, Any] | None) -> None:
    if not isinstance(entry, dict):
        raise CuratedDatasetError(f"{path.name} is not listed in the manifest")
    if not path.is_file():
        raise CuratedDatasetError(f"{path} is missing")
    if path.stat().st_size != entry.get("bytes"):
        raise CuratedDatasetError(
            f"{path} does not match the sha256 in the manifest (its size differs)"
        )
