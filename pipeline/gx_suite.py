"""Great Expectations as the report: the raw contract's rules as a GX suite, and a run's results
as GX validation results, rendered into Data Docs.

The rules are checked once, in Polars (pipeline/expectations.py); here each becomes the GX
expectation of the same type and arguments, and each result a GX result with its counts and
up to 20 failing values, so the run's Data Docs read as if GX had checked the rows. Great
Expectations is imported only here, and only when Data Docs are asked for: it costs seconds.
GX's own errors become PipelineError.
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
BATCH = "raw_rows"


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


def expectation(gx: Any, rule: Rule) -> Any:
    """The GX expectation a rule declares."""
    name = "".join(word.capitalize() for word in rule.expectation.split("_"))
    return getattr(gx.expectations, name)(column=rule.column, **rule.kwargs)


def write_data_docs(
    rules: list[Rule],
    results: list[ExpectationResult],
    rows: int,
    examples: list[list[str | None]],
    docs_dir: Path,
) -> None:
    """Render the suite and this run's results (the type checks are not GX expectations, and
    stay out) as GX Data Docs in docs_dir."""
    gx = import_gx()
    started = time.perf_counter()
    try:
        context = _context(gx, docs_dir)
        checked = [i for i, rule in enumerate(rules) if rule.in_gx]
        suite = gx.ExpectationSuite(
            name=SUITE, expectations=[expectation(gx, rules[i]) for i in checked]
        )
        suite = context.suites.add(suite)
        verdicts = [
            _verdict(configured.configuration, results[i], rows, examples[i])
            for configured, i in zip(suite.expectations, checked, strict=True)
        ]
        _store_result(context, verdicts)
        context.build_data_docs()
    except Exception as error:  # GX raises many types; the CLI reports PipelineError
        raise PipelineError(
            f"Great Expectations could not write Data Docs: {type(error).__name__}: {error}"
        ) from error
    log.info("data docs built in %.2f s at %s", time.perf_counter() - started, docs_dir)


def _context(gx: Any, docs_dir: Path) -> Any:
    """A fresh ephemeral context whose one Data Docs site is docs_dir."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.delete_data_docs_site("local_site")
    store = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())}
    site = {"class_name": "SiteBuilder", "store_backend": store}
    context.add_data_docs_site(
        SUITE, {**site, "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}}
    )
    return context


def _verdict(configuration: Any, result: ExpectationResult, rows: int, values: list) -> Any:
    from great_expectations.core import ExpectationValidationResult

    share = 100.0 * result.unexpected_count / rows if rows else 0.0
    counts = {
        "element_count": rows,
        "unexpected_count": result.unexpected_count,
        "unexpected_percent": share,
        "partial_unexpected_list": values,
    }
    return ExpectationValidationResult(
        success=result.success, expectation_config=configuration, result=counts
    )


def _store_result(context: Any, verdicts: list[Any]) -> None:
    """Keep the results in the context's store, where the Data Docs builder reads them."""
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    passed = sum(verdict.success for verdict in verdicts)
    statistics = {
        "evaluated_expectations": len(verdicts),
        "successful_expectations": passed,
        "unsuccessful_expectations": len(verdicts) - passed,
        "success_percent": 100.0 * passed / len(verdicts) if verdicts else 100.0,
    }
    result = ExpectationSuiteValidationResult(
        success=passed == len(verdicts), results=verdicts, suite_name=SUITE, statistics=statistics
    )
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=SUITE),
        run_id=RunIdentifier(run_name=SUITE),
        batch_identifier=BATCH,
    )
    context.validation_results_store.set(key, result)
