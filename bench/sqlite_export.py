"""Export curated tracks to SQLite for Datasette, indexed as a peer setting up an API would.

Table `tracks` (primary key `id`) with one index per column the API filters on (every numeric
feature, popularity and duration, key, mode, time signature, explicit, mood and Camelot code); table `track_genres` (genre membership, as the API's `genre`
filter uses) indexed by genre; then ANALYZE. Two views give Datasette's table API the API's
semantics: `tracks_api` (all tracks) and `tracks_by_genre` (one row per membership, column
`member_genre`). On a view Datasette's `_next` is a plain row offset, like the API's `offset`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl

INDEXED_COLUMNS = (
    "popularity", "energy", "tempo", "valence", "danceability", "acousticness",
    "instrumentalness", "speechiness", "liveness", "loudness", "duration_ms",
    "key", "mode", "time_signature", "explicit", "mood", "camelot",
)  # fmt: skip
SQL_TYPES = {pl.String: "TEXT", pl.Float64: "REAL", pl.Boolean: "INTEGER"}
VIEWS = (
    "CREATE VIEW tracks_api AS SELECT * FROM tracks",
    "CREATE VIEW tracks_by_genre AS SELECT m.genre_id AS member_genre, t.* "
    "FROM track_genres m JOIN tracks t ON t.id = m.track_id",
)


def column_sql(name: str, dtype: pl.DataType) -> str:
    """Column definition for one frame column ('id' is the primary key)."""
    sql_type = SQL_TYPES.get(type(dtype), "INTEGER")
    return f'"{name}" {sql_type}' + (" PRIMARY KEY" if name == "id" else "")


def insert_frame(connection: sqlite3.Connection, table: str, frame: pl.DataFrame) -> None:
    """Create `table` with the frame's columns and insert its rows."""
    columns = ", ".join(column_sql(name, dtype) for name, dtype in frame.schema.items())
    marks = ", ".join("?" for _ in frame.columns)
    connection.execute(f"CREATE TABLE {table} ({columns})")
    connection.executemany(f"INSERT INTO {table} VALUES ({marks})", frame.iter_rows())


def export_tracks(tracks: pl.DataFrame, members: pl.DataFrame, database: Path) -> Path:
    """Write tracks and memberships (genre_id, track_id) to a fresh SQLite file; its path."""
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    with sqlite3.connect(database) as connection:
        insert_frame(connection, "tracks", tracks)
        insert_frame(connection, "track_genres", members.select("genre_id", "track_id"))
        for column in INDEXED_COLUMNS:
            connection.execute(f'CREATE INDEX "tracks_{column}" ON tracks ("{column}")')
        connection.execute("CREATE INDEX track_genres_genre ON track_genres (genre_id, track_id)")
        for view in VIEWS:
            connection.execute(view)
        connection.execute("ANALYZE")
    connection.close()
    return database
