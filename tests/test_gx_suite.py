"""pipeline/gx_suite.py: one GX suite run, its results cross-checked, GX errors translated."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

from pipeline import gx_suite
from pipeline.errors import PipelineError
from pipeline.expectations import ExpectationResult, Rule, row_rules
from pipeline.gx_suite import suite_results

ENERGY = [rule for rule in row_rules() if rule.in_gx and rule.column == "energy"]
FRAME = pd.DataFrame({"energy": [0.5, 1.2, 0.0]})  # one value out of [0, 1]


def test_results_agreeing_with_their_mirrors_are_returned_in_rule_order() -> None:
    assert suite_results(FRAME, ENERGY, [1], None) == [
        ExpectationResult(
            "expect_column_values_to_be_between", "energy", "energy between 0 and 1", False, 1
        )
    ]


def test_a_mirror_disagreeing_with_gx_is_reported_as_a_bug() -> None:
    with pytest.raises(
        PipelineError,
        match=r"^bug in pipeline/expectations\.py or pipeline/gx_suite\.py: GX finds 1 rows "
        r"failing 'energy between 0 and 1' \(success=False\) but its Polars mirror finds 0$",
    ):
        suite_results(FRAME, ENERGY, [0], None)


def test_an_error_inside_a_gx_check_becomes_a_pipeline_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def on_missing_column(gx: Any, rule: Rule) -> Any:
        return gx.expectations.ExpectColumnValuesToNotBeNull(column="no_such_column")

    monkeypatch.setattr(gx_suite, "_expectation", on_missing_column)
    with pytest.raises(
        PipelineError, match="Great Expectations could not check 'energy between 0 and 1'"
    ):
        suite_results(FRAME, ENERGY, [1], None)


def test_a_gx_exception_becomes_a_pipeline_error(monkeypatch: pytest.MonkeyPatch) -> None:
    gx = gx_suite.import_gx()

    def broken_context(**kwargs: object) -> None:
        raise gx.exceptions.DataContextError("no context today")

    monkeypatch.setattr(gx, "get_context", broken_context)
    with pytest.raises(
        PipelineError, match="Great Expectations failed: DataContextError: no context today"
    ):
        suite_results(FRAME, ENERGY, [1], None)


@pytest.mark.parametrize("module", ["pipeline.validate", "pipeline.gx_suite"])
def test_importing_the_pipeline_does_not_import_great_expectations(module: str) -> None:
    check = f"import sys, {module}; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0
