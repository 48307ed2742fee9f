"""A published folder's manifest, checked against its files and against this code's contract.

The manifest lists every file of a version with its size, rows and sha256, the schema version
and the digest of the serving layout (contract.serving.LAYOUT_SHA256) the folder was built with.
A folder built by code with another schema or layout is refused: `make ingest` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl

import contract as c


class CuratedDatasetError(Exception):
    """The curated folder is missing, incomplete, or does not match its manifest."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def contract_problem(manifest: dict[str, Any], where: str) -> str | None:
    """Why a manifest was not written for this code's contract (schema, serving layout), or None."""
    from contract import serving  # here: contract.serving imports the contract's names

    if manifest.get("schema_version") != c.SCHEMA_VERSION:
        return (
            f"{where}: schema_version {manifest.get('schema_version')!r}, "
            f"this code reads {c.SCHEMA_VERSION}"
        )
    if manifest.get("layout_sha256") != serving.LAYOUT_SHA256:
        return (
            f"{where}: built with another serving layout (layout_sha256 "
            f"{str(manifest.get('layout_sha256'))[:12]}, this code's is "
            f"{serving.LAYOUT_SHA256[:12]}); run `make ingest` to rebuild it"
        )
    return None


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read a curated folder's manifest and check every file against it and the contract.

    Checks the schema version and serving layout, that each contract file (the Parquet tables
    and the serving arrays of contract.serving) is listed with its size and sha256, that each
    file's bytes match (hashed once per host: contract/verified.py), and that each Parquet
    schema and array header is the contract's. Raises CuratedDatasetError.
    """
    from contract import serving, verified

    manifest_path = directory / c.MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise CuratedDatasetError(
            f"no curated dataset at {directory} ({c.MANIFEST} missing)"
        ) from None
    except (OSError, ValueError) as error:
        raise CuratedDatasetError(f"{manifest_path} is unreadable: {error}") from None
    problem = contract_problem(manifest, str(manifest_path))
    if problem:
        raise CuratedDatasetError(problem)
    files = manifest.get("files", {})
    names = [*c.CURATED_SCHEMAS, *(serving.array_file(array) for array in serving.ARRAYS)]
    for name in names:
        _check_listed(directory / name, files.get(name))
    if not verified.already_verified(directory, names):
        for name in names:
            if file_sha256(directory / name) != files[name].get("sha256"):
                raise CuratedDatasetError(
                    f"{directory / name} does not match the sha256 in the manifest"
                )
        verified.mark_verified(directory, names)
    for name, columns in c.CURATED_SCHEMAS.items():
        schema = pl.read_parquet_schema(directory / name)
        if dict(schema) != columns:
            raise CuratedDatasetError(
                f"{directory / name} has columns {dict(schema)}, the contract says {columns}"
            )
    sizes = {key: files[name]["rows"] for key, name in (("n", c.TRACKS), ("m", c.TRACK_GENRES),
                                                         ("g", c.GENRES))}  # fmt: skip
    for array in serving.ARRAYS:
        problem = serving.header_problem(serving.array_path(directory, array), array, sizes)
        if problem:
            raise CuratedDatasetError(f"{directory}: {problem}")
    return manifest


def _check_listed(path: Path, entry: dict[str, Any] | None) -> None:
    if entry is None:
        raise CuratedDatasetError(f"{path.name} is not listed in the manifest")
    if not path.is_file():
        raise CuratedDatasetError(f"{path} is missing")
    if path.stat().st_size != entry.get("bytes"):
        raise CuratedDatasetError(
            f"{path} does not match the sha256 in the manifest (its size differs)"
        )
