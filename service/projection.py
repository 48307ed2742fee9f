"""fields=: a track listing or export with only the fields a client asks for, in its order.

Tracks are kept as their JSON texts (service/index.py), so a projection cuts the members it
needs out of the text instead of decoding and encoding the track again: each value comes out
byte for byte as the full object has it. The texts are compact objects whose values are
strings, numbers, booleans, null or lists of strings (contract/fields.py), which one regular
expression splits into members. `id` is always sent: first, unless the list places it.
Never imports Flask.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from contract.fields import TRACK_FIELDS
from service.params import Param

FIELDS_PARAM = Param(
    "fields",
    "string",
    "Only these track fields, comma-separated, in this order (id is always sent: first, unless "
    "listed elsewhere); in JSON, CSV and NDJSON alike. Default: every field.",
    choices=TRACK_FIELDS,
    many=True,
    example=("name", "artists", "tempo", "camelot"),
)
_STRING = r'"(?:[^"\\]|\\.)*"'
_VALUE = rf"{_STRING}|\[(?:{_STRING}(?:,{_STRING})*)?\]|[^,\]}}\[\"]+"
_MEMBER = re.compile(rf'[{{,]"(\w+)":({_VALUE})')


def chosen_fields(given: Sequence[str] | None) -> tuple[str, ...] | None:
    """The fields a `fields` value asks for, with id (None: every field)."""
    if given is None:
        return None
    return tuple(given) if "id" in given else ("id", *given)


def members(text: str) -> dict[str, str]:
    """A track's JSON text as its members' names and value texts, in order."""
    found = _MEMBER.findall(text)
    if sum(len(name) + len(value) + 4 for name, value in found) != len(text) - 1:
        raise ValueError(f"not a flat JSON object of the catalogue's values: {text[:80]}")
    return dict(found)


def projected(texts: Sequence[str], fields: tuple[str, ...] | None) -> list[str]:
    """The texts with only `fields`, in that order (all of them as they are when None)."""
    if fields is None:
        return list(texts)
    out = []
    for text in texts:
        values = members(text)
        out.append("{" + ",".join(f'"{name}":{values[name]}' for name in fields) + "}")
    return out
