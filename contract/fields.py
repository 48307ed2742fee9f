"""The field catalogue: every field of a track, declared once, in the order the API sends them.

Each entry says what a field is (type, unit, allowed values, a one-line description), where it
comes from (a raw CSV column, derived by a fixed rule, or the genre catalogue), how it is stored
in the curated dataset, and what it can do in the API: filter (a range, one value, or any of a
list), sort, facet counts, histograms, genre averages, and a place in the similarity space with
its transform. Everything else reads this table: the raw validation, the curated schemas, the
filters, sorts and facets, the OpenAPI document, `GET /api/v1/fields` (which the explorer draws
its controls from) and the data dictionary's column table. Adding a numeric feature is one
new entry here.

The keys follow a Frictionless Table Schema field (`name`, `type`, `description`,
`constraints`: minimum, maximum, enum, pattern, required); the rest are kapiko's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract.music import CAMELOT_CODES, CAMELOT_PATTERN, KEY_NAMES, MOODS

TRACK_ID_PATTERN = r"^[0-9A-Za-z]{22}$"
UNIT_EDGES = tuple(i / 10 for i in range(11))  # the 0-1 features: ten buckets 0.1 wide


@dataclass(frozen=True)
class Space:
    """A field's place in the similarity space: its position there and the transform applied
    before standardising ("identity", or "sqrt" for features that crowd near 0)."""

    position: int
    transform: str = "identity"


@dataclass(frozen=True)
class Field:
    """One track field; see the module docstring. `storage` is its curated dtype (None: sent by
    the API but not a column of tracks.parquet); `raw` the raw CSV column it is read from."""

    name: str
    type: str  # "string", "integer", "number", "boolean" or "array"
    description: str
    label: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # the minimum itself is not allowed (duration > 0)
    enum: tuple[Any, ...] = ()
    pattern: str | None = None
    expected: str | None = None  # what one value must be, in words, where a pattern is terse
    nullable: bool = False
    storage: str | None = None  # polars dtype name of the curated column
    raw: str | None = None  # the raw CSV column
    origin: str = "raw"  # "raw", "derived" (pipeline/derive.py) or "catalogue" (the genres)
    edges: tuple[float, ...] = ()  # histogram buckets [e_i, e_i+1), the last one closed
    scale: float = 1.0  # a bucket's label is its lower edge times this (per cent for 0-1)
    feature: bool = False  # an audio feature: averaged per genre and overall, in /compare
    filter: str = ""  # "range" (min_/max_), "one" (=value), "any" (=a comma list), or ""
    sort: bool = False  # <name> highest first and <name>_asc (strings: A-Z, and _desc)
    facet: bool = False  # counted by value in meta.facets
    space: Space | None = None
    step: float | None = None  # the explorer's slider step and decimals
    digits: int | None = None
    slider_max: float | None = None  # the slider's end where the range has no maximum

    @property
    def values(self) -> tuple[Any, ...]:
        """Every value of a categorical field in facet order (None last when nullable)."""
        if self.type == "boolean":
            values: tuple[Any, ...] = (False, True)
        elif self.enum:
            values = self.enum
        else:
            low, high = int(self.minimum or 0), int(self.maximum or 0)
            values = tuple(range(low, high + 1))
        return (*values, None) if self.nullable else values

    @property
    def what(self) -> str:
        """The field and its unit or range, in words: "tempo in BPM", "energy (0-1)"."""
        if self.unit:
            return f"{self.label.lower()} in {UNIT_WORDS.get(self.unit, self.unit)}"
        return f"{self.name} ({self.minimum:g}-{self.maximum:g})"


UNIT_WORDS = {"ms": "milliseconds"}
EN_DASH, MINUS = "\u2013", "\u2212"  # the typography of the data dictionary's ranges


def _unit_feature(name: str, label: str, description: str, position: int, **kw: Any) -> Field:
    """An audio feature on Spotify's 0-1 scale."""
    return Field(
        name, "number", description, label, minimum=0.0, maximum=1.0, storage="float64",
        raw=name, edges=UNIT_EDGES, scale=100.0, feature=True, filter="range", sort=True,
        space=Space(position, kw.pop("transform", "identity")), step=0.01, digits=2, **kw,
    )  # fmt: skip


FIELDS: tuple[Field, ...] = (
    Field("id", "string", "Spotify track id: 22 letters and digits.", "Id",
          pattern=TRACK_ID_PATTERN, storage="string", raw="track_id"),
    Field("name", "string", "Track title.", "Name", storage="string", raw="track_name",
          sort=True),
    Field("artists", "string", "Performing artist(s); several are separated by ';'.", "Artists",
          storage="string", raw="artists"),
    Field("album", "string", "Album title.", "Album", storage="string", raw="album_name"),
    Field("genre_id", "string", "Primary genre: the first catalogue genre the track is in.",
          "Genre", storage="string", origin="catalogue"),
    Field("genre_name", "string", "The primary genre's display name.", "Genre name",
          origin="catalogue"),
    Field("genres", "array", "Every genre of the track, in catalogue order.", "Genres",
          origin="catalogue"),
    Field("popularity", "integer", "Spotify popularity: higher means more, and more recent, "
          "plays; the highest of the track's upstream rows.", "Popularity", minimum=0,
          maximum=100, storage="int16", raw="popularity", filter="range", sort=True, step=1,
          digits=0),
    Field("duration_ms", "integer", "Track length.", "Duration", unit="ms", minimum=0,
          exclusive_minimum=True, storage="int64", raw="duration_ms", filter="range",
          sort=True, step=5000, digits=0, slider_max=1_200_000),
    Field("tempo", "number", "Estimated tempo; 0 means no beat was detected (common in sleep "
          "and ambient).", "Tempo", unit="BPM", minimum=0.0, maximum=250.0, storage="float64",
          raw="tempo", edges=tuple(float(bpm) for bpm in range(0, 251, 10)), feature=True,
          filter="range", sort=True, space=Space(9), step=1, digits=0),
    _unit_feature("energy", "Energy", "Perceived intensity and activity.", 2),
    _unit_feature("valence", "Valence", "Musical positiveness: high is happy, low sad or "
                  "angry.", 3),
    Field("loudness", "number", "Overall loudness; values just above 0 dB occur upstream.",
          "Loudness", unit="dB", minimum=-60.0, maximum=5.0, storage="float64", raw="loudness",
          edges=tuple(float(db) for db in range(-60, 6, 5)), feature=True, filter="range",
          sort=True, space=Space(8), step=0.5, digits=1),
    _unit_feature("acousticness", "Acousticness", "Confidence that the track is acoustic.", 4),
    _unit_feature("danceability", "Danceability", "Suitability for dancing.", 1),
    _unit_feature("instrumentalness", "Instrumentalness", "Likelihood of no vocals.", 5,
                  transform="sqrt"),
    _unit_feature("speechiness", "Speechiness", "Presence of spoken word.", 6,
                  transform="sqrt"),
    _unit_feature("liveness", "Liveness", "Likelihood of a live recording.", 7),
    Field("mood", "string", "Mood quadrant of valence x energy, split at 0.5: happy, tense, "
          "sad or calm.", "Mood", enum=MOODS, storage="string", origin="derived",
          filter="any", facet=True),
    Field("key", "integer", "Musical key: 0=C, 1=C#, ... 11=B, -1=no key detected.", "Key",
          minimum=-1, maximum=11, storage="int8", raw="key", filter="any", facet=True),
    Field("key_name", "string", "The key as text, C to B; null when no key was detected.",
          "Key name", enum=KEY_NAMES, nullable=True, storage="string", origin="derived"),
    Field("mode", "integer", "0 = minor, 1 = major.", "Mode", minimum=0, maximum=1,
          storage="int8", raw="mode", filter="one", facet=True),
    Field("camelot", "string", "Camelot key code, 1A-12A (minor) or 1B-12B (major); null when "
          "no key was detected.", "Camelot", enum=CAMELOT_CODES, pattern=CAMELOT_PATTERN,
          expected="a Camelot code: 1A-12A (minor) or 1B-12B (major)", nullable=True, storage="string", origin="derived", filter="any", facet=True),
    Field("time_signature", "integer", "Estimated beats per bar (0-7; 0 and 1 occur).",
          "Time signature", minimum=0, maximum=7, storage="int8", raw="time_signature",
          filter="one", facet=True),
    Field("explicit", "boolean", "Explicit lyrics (upstream writes False for unknown too).",
          "Explicit", storage="bool", raw="explicit", filter="one", facet=True),
    Field("source", "string", "Where the features come from.", "Source", enum=("spotify",),
          storage="string", origin="derived"),
)  # fmt: skip

FIELD: dict[str, Field] = {field.name: field for field in FIELDS}
TRACK_FIELDS: tuple[str, ...] = tuple(FIELD)  # the order of a track's JSON and CSV columns
STORED: tuple[Field, ...] = tuple(f for f in FIELDS if f.storage is not None)
RAW_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.raw is not None)
FEATURES: tuple[str, ...] = tuple(f.name for f in FIELDS if f.feature)
UNIT_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FIELDS if f.feature and (f.minimum, f.maximum) == (0.0, 1.0)
)
HISTOGRAM_EDGES: dict[str, tuple[float, ...]] = {f.name: f.edges for f in FIELDS if f.edges}
RANGES: dict[str, tuple[float, float]] = {
    f.name: (f.minimum, f.maximum)
    for f in FIELDS
    if f.minimum is not None and f.maximum is not None and f.type in ("integer", "number")
}
RANGE_FILTERS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.filter == "range")
# Categorical fields (filtered by value, or counted): their values in facet order.
CATEGORIES: dict[str, tuple[Any, ...]] = {
    f.name: f.values for f in FIELDS if f.filter in ("one", "any") or f.facet
}
FACETS: tuple[str, ...] = (*(f.name for f in FIELDS if f.facet), "genre")
SIMILARITY_FEATURES: tuple[str, ...] = tuple(
    f.name
    for f in sorted((f for f in FIELDS if f.space), key=lambda f: f.space.position)  # type: ignore[union-attr]
)
SIMILARITY_TRANSFORMS: dict[str, str] = {
    name: FIELD[name].space.transform  # type: ignore[union-attr]
    for name in SIMILARITY_FEATURES
}
# The API contract's seven sort names come first and keep their meaning (docs/api.md).
SEED_SORTS: tuple[str, ...] = ("popularity", "energy", "energy_asc", "tempo", "tempo_asc",
                               "valence", "name")  # fmt: skip


def _sorts() -> dict[str, tuple[str, bool]]:
    """Sort name -> (column, descending). A number sorts highest first as <name> and lowest
    first as <name>_asc; a string A-Z (ignoring case) as <name> and Z-A as <name>_desc."""
    sorts: dict[str, tuple[str, bool]] = {}
    for field in FIELDS:
        if not field.sort:
            continue
        text = field.type == "string"
        sorts[field.name] = (field.name, not text)
        sorts[f"{field.name}_{'desc' if text else 'asc'}"] = (field.name, text)
    seed = {name: sorts[name] for name in SEED_SORTS}
    return {**seed, **{name: key for name, key in sorts.items() if name not in seed}}


SORTS: dict[str, tuple[str, bool]] = _sorts()
SORT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(column for column, _ in SORTS.values()))


def bucket_labels(feature: str) -> list[int]:
    """Labels of a feature's histogram buckets, lowest first (e.g. 0, 10, ... 90)."""
    field = FIELD[feature]
    return [round(edge * field.scale) for edge in field.edges[:-1]]


def describe_fields() -> list[dict[str, Any]]:
    """The catalogue as `GET /api/v1/fields` sends it: what each field is and can do."""
    return [_described(field) for field in FIELDS]


def _described(field: Field) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    if field.minimum is not None:
        key = "exclusiveMinimum" if field.exclusive_minimum else "minimum"
        constraints[key] = field.minimum
    if field.maximum is not None:
        constraints["maximum"] = field.maximum
    if field.enum:
        constraints["enum"] = list(field.enum)
    if field.pattern:
        constraints["pattern"] = field.pattern.removeprefix("^").removesuffix("$")
    sorts = [name for name, (column, _) in SORTS.items() if column == field.name]
    return {
        "name": field.name,
        "type": field.type,
        "label": field.label,
        "unit": field.unit or None,
        "description": field.description,
        "constraints": constraints,
        "nullable": field.nullable,
        "origin": field.origin,
        "filter": _filter_params(field),
        "sorts": sorts,
        "facet": field.facet,
        "histogram": {"edges": list(field.edges), "scale": field.scale} if field.edges else None,
        "feature": field.feature,
        "similarity": {"position": field.space.position, "transform": field.space.transform}
        if field.space
        else None,
        "display": {"step": field.step, "digits": field.digits, "slider_max": field.slider_max},
    }


def _filter_params(field: Field) -> list[str]:
    """The query parameters that filter on a field."""
    if field.filter == "range":
        return [f"min_{field.name}", f"max_{field.name}"]
    return [field.name] if field.filter else []


def dictionary_table() -> str:
    """The markdown table of tracks.parquet's columns for docs/data-dictionary.md (a test checks
    the page holds exactly this; `python -m contract.fields` prints it)."""
    lines = ["| column | type | unit / range | null | meaning |", "|---|---|---|---|---|"]
    for field in STORED:
        lines.append(
            f"| `{field.name}` | {field.storage} | {_allowed(field)} | "
            f"{'yes' if field.nullable else 'no'} | {field.description} |"
        )
    return "\n".join(lines)


def _allowed(field: Field) -> str:
    """A field's unit and allowed values, in words."""
    if field.enum:
        shown = [f"`{value}`" for value in field.enum]
        return ", ".join(shown if len(shown) <= 4 else [*shown[:3], "…", shown[-1]])
    if field.pattern:
        return f"`{field.pattern}`"
    parts = [field.unit] if field.unit else []
    if field.minimum is not None and field.maximum is not None:
        span = f"{field.minimum:g}{EN_DASH}{field.maximum:g}"
        parts.append(span.replace("-", MINUS))
    elif field.minimum is not None:
        parts.append(f"{'>' if field.exclusive_minimum else '≥'} {field.minimum:g}")
    return ", ".join(parts)
