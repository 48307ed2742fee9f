"""Schemathesis hooks for tests/test_api_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

One failure is dropped, and only for the requests that break a rule no schema can state across
two parameters: the positive_data_acceptance check (ST202) expects schema-valid requests to be
accepted, but the API answers these with a documented 400, which is what users should get:
min_<column> above max_<column>, a batch (ids) combined with other parameters, facets asked
of a CSV or NDJSON page (facet counts only exist in the JSON meta), a recommendation whose
seeds, targets and features do not make a point, a cursor the API did not make (a schema
can say it is base64url, not that it decodes to a cursor of this listing's order) or one
combined with offset, and bpm_tolerance without bpm or bpm_of, or bpm with bpm_of. A mix
path may find no track for a step: a documented 422 for a well-formed request. And the
negative_data_rejection check (ST201) counts only 4xx codes of its own list as rejections: a
generated request too long for gunicorn's request line is rejected with the documented 414 (or
431 for too many headers), before any parameter is read; that is a rejection too.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from contract.fields import RANGE_FILTERS as NUMERIC_COLUMNS


def cross_parameter_rule(query: dict[str, Any]) -> str | None:
    """The cross-parameter rule a query breaks, or None."""
    for column in NUMERIC_COLUMNS:
        low, high = query.get(f"min_{column}"), query.get(f"max_{column}")
        if low is not None and high is not None and float(low) > float(high):
            return f"min_{column} above max_{column}"
    if "ids" in query and len(query) > 1:
        return "ids combined with other parameters"
    if "facets" in query and query.get("format", "json") != "json":
        return "facets with a file format"
    if "cursor" in query:
        return "a cursor the API did not make, or one with offset"
    if "bpm_tolerance" in query and not ({"bpm", "bpm_of"} & set(query)):
        return "bpm_tolerance without bpm or bpm_of"
    if {"bpm", "bpm_of"} <= set(query):
        return "bpm with bpm_of"
    return _recommendation_rule(query)


def _recommendation_rule(query: dict[str, Any]) -> str | None:
    """The rule a recommendations query breaks (no point to be near), or None."""
    targets = {name.removeprefix("target_") for name in query if name.startswith("target_")}
    seeded = "seed_tracks" in query or "seed_genres" in query
    features = query.get("features")
    chosen = set(features.split(",") if isinstance(features, str) else features or ())
    if chosen and targets - chosen:
        return "a target for a feature not in features"
    if chosen and not seeded and chosen - targets:
        return "a feature with neither a target nor a seed"
    return None


def _no_point(case: Any) -> bool:
    """A recommendations request with neither a seed nor a target."""
    query = dict(case.query or {})
    seeded = "seed_tracks" in query or "seed_genres" in query
    targeted = any(name.startswith("target_") for name in query)
    return case.path.endswith("/recommendations") and not (seeded or targeted)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except ST202 on a 400 for a cross-parameter rule or a mix's 422, and
    ST201 on a request rejected for its size."""
    checks = getattr(failure, "checks", ())
    if "negative_data_rejection" in checks and response.status_code in (414, 431):
        return False  # rejected by the documented limit on a request's size
    rejected_valid_data = "positive_data_acceptance" in checks
    if rejected_valid_data and response.status_code == 400:
        return cross_parameter_rule(dict(case.query or {})) is None and not _no_point(case)
    if rejected_valid_data and response.status_code == 422:
        return not case.path.endswith("/mix")  # no track fits a step: documented
    return True
