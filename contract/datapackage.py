"""datapackage.json: a version described the Frictionless Data Package way, for other tools.

Each Parquet table is a resource with its path, size, sha256 and Table Schema; the tracks' fields
carry the catalogue's descriptions and constraints (contract/fields.py). Generated at publish,
listed in the manifest like the tables, never edited by hand.
"""

from __future__ import annotations

from typing import Any

import polars as pl

import contract as c
from contract.fields import FIELD

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
PRIMARY_KEYS = {c.TRACKS: ["id"], c.TRACK_GENRES: ["genre_id", "track_id"], c.GENRES: ["id"]}


def frictionless_type(dtype: pl.DataType) -> str:
    """The Table Schema type of a curated column's dtype."""
    if dtype == pl.String:
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "number"
    return "datetime"


def field_schema(table: str, name: str, dtype: pl.DataType) -> dict[str, Any]:
    """One column as a Table Schema field; a track field gets its catalogue description."""
    schema: dict[str, Any] = {"name": name, "type": frictionless_type(dtype)}
    field = FIELD.get(name) if table == c.TRACKS else None
    if field is None:
        return schema
    constraints: dict[str, Any] = {"required": not field.nullable}
    if field.minimum is not None:
        constraints["exclusiveMinimum" if field.exclusive_minimum else "minimum"] = field.minimum
    if field.maximum is not None:
        constraints["maximum"] = field.maximum
    if field.enum:
        constraints["enum"] = list(field.enum)
    if field.pattern:
        constraints["pattern"] = field.pattern.removeprefix("^").removesuffix("$")
    unit = f" Unit: {field.unit}." if field.unit else ""
    return {**schema, "description": field.description + unit, "constraints": constraints}


def datapackage(version: str, created_at: str, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The descriptor of a version whose tables have the given manifest file entries."""
    resources = []
    for table, columns in c.CURATED_SCHEMAS.items():
        entry = files[table]
        schema: dict[str, Any] = {
            "fields": [field_schema(table, name, dtype) for name, dtype in columns.items()]
        }
        if table in PRIMARY_KEYS:
            schema["primaryKey"] = PRIMARY_KEYS[table]
        resources.append(
            {
                "name": table.removesuffix(".parquet"),
                "path": table,
                "format": "parquet",
                "mediatype": "application/vnd.apache.parquet",
                "bytes": entry["bytes"],
                "hash": f"sha256:{entry['sha256']}",
                "schema": schema,
            }
        )
    return {
        "$schema": PROFILE,
        "name": "kapiko",
        "title": "kapiko: Spotify audio features of curated genres",
        "version": version,
        "created": created_at,
        "licenses": [
            {"name": "ODbL-1.0", "title": "upstream: Spotify Tracks Dataset (ODbL 1.0 on Kaggle)"}
        ],
        "resources": resources,
    }
