"""The Great Expectations adapter: run the raw contract's rules as one suite and cross-check it.

Great Expectations is imported only here, and only when a suite runs: it costs seconds. Each
verdict is accepted only if its count agrees with the rule's Polars mirror, which is what names
the failing rows; GX's own errors become PipelineError.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.expectations import ExpectationResult, Rule

log = logging.getLogger(__name__)

SUITE = "raw_contract"


def import_gx() -> Any:
    """Import great_expectations quietly (its INFO logging prints hundreds of lines)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        import great_expectations as gx
    except Exception as error:  # an ImportError, or a clash with an installed library
        raise PipelineError(
            f"cannot import great_expectations ({error}); run `make venv`"
        ) from error
    for name in list(logging.root.manager.loggerDict):  # some GX modules set INFO themselves
        if name.startswith("great_expectations."):
            logging.getLogger(name).setLevel(logging.WARNING)
    log.info("great_expectations imported in %.2f s", time.perf_counter() - started)
    return gx


def suite_results(
    frame: Any, rules: list[Rule], mirrors: list[int], docs_dir: Path | None
) -> list[ExpectationResult]:
    """Run the rules over a pandas frame in GX; each result checked against its mirror's count."""
    verdicts = _run_suite(frame, rules, docs_dir)
    return [
        _cross_checked(rule, verdict, mirror)
        for rule, verdict, mirror in zip(rules, verdicts, mirrors, strict=True)
    ]


def _expectation(gx: Any, rule: Rule) -> Any:
    name = "".join(word.capitalize() for word in rule.expectation.split("_"))
    return getattr(gx.expectations, name)(column=rule.column, **rule.kwargs)


def _build_docs(context: Any, docs_dir: Path) -> None:
    """Write GX Data Docs into docs_dir instead of the ephemeral context's temporary site."""
    started = time.perf_counter()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.delete_data_docs_site("local_site")
    store = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())}
    site = {"class_name": "SiteBuilder", "store_backend": store}
    context.add_data_docs_site(
        SUITE, {**site, "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}
    )
    context.build_data_docs()
    log.info("data docs built in %.2f s at %s", time.perf_counter() - started, docs_dir)


def _run_suite(frame: Any, rules: list[Rule], docs_dir: Path | None) -> list[Any]:
    """Run the rules as one suite in a fresh ephemeral context; GX's results in rule order."""
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    started = time.perf_counter()
    try:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("raw_files").add_dataframe_asset("raw_rows")
        batch = asset.add_batch_definition_whole_dataframe("all_rows")
        expectations = [_expectation(gx, rule) for rule in rules]  # one store write, not 22
        suite = context.suites.add(gx.ExpectationSuite(name=SUITE, expectations=expectations))
        ids = [expectation.id for expectation in suite.expectations]
        definition = gx.ValidationDefinition(name=SUITE, data=batch, suite=suite)
        definition = context.validation_definitions.add(definition)
        result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
        log.info("GX validated %d rows in %.2f s", len(frame), time.perf_counter() - started)
        if docs_dir is not None:
            _build_docs(context, docs_dir)
    except Exception as error:  # GX raises many types; the CLI reports PipelineError
        raise PipelineError(
            f"Great Expectations failed: {type(error).__name__}: {error}"
        ) from error
    by_id = {verdict.expectation_config.id: verdict for verdict in result.results}
    return [by_id[expectation_id] for expectation_id in ids]


def _gx_error(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught while checking (it reports, never raises)."""
    entries = [info] if "raised_exception" in info else list(info.values())
    raised = [
        entry for entry in entries if isinstance(entry, dict) and entry.get("raised_exception")
    ]
    return str(raised[0].get("exception_message")) if raised else None


def _cross_checked(rule: Rule, verdict: Any, mirror: int) -> ExpectationResult:
    """GX's verdict on one rule, refused unless it agrees with the rule's Polars mirror."""
    error = _gx_error(verdict.exception_info or {})
    if error is not None:
        raise PipelineError(f"Great Expectations could not check {rule.description!r}: {error}")
    count = verdict.result.get("unexpected_count")
    if count != mirror or verdict.success != (mirror == 0):
        raise PipelineError(
            f"bug in pipeline/expectations.py or pipeline/gx_suite.py: GX finds {count} rows "
            f"failing {rule.description!r} (success={verdict.success}) but its Polars mirror "
            f"finds {mirror}"
        )
    return ExpectationResult(rule.expectation, rule.column, rule.description, mirror == 0, mirror)
