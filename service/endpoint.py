"""One documented GET endpoint, as service/openapi.py turns it into an OpenAPI operation."""

from __future__ import annotations

from dataclasses import dataclass

from service import params
from service.schemas import Schema


@dataclass(frozen=True)
class Endpoint:
    """One GET endpoint as documented: path, summary, parameters and the payload schema."""

    path: str
    operation_id: str
    summary: str
    data: Schema
    specs: tuple[params.Param, ...] = params.NO_PARAMS
    path_params: tuple[Schema, ...] = ()
    paged: bool = False
    not_found: str = ""
    meta: Schema | None = None  # a meta other than the listing's
    media: tuple[str, ...] = ("json",)  # params.FORMATS this endpoint answers in
    extra_columns: tuple[str, ...] = ()  # CSV columns after the track's fields
    unprocessable: str = ""  # when a well-formed request gets a 422

    @property
    def linked(self) -> bool:
        """Whether its pages link to the next one (it takes a cursor)."""
        return any(spec.name == "cursor" for spec in self.specs)
