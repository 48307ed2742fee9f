"""pipeline/gx_suite.py: the rules and a run's results rendered as GX's suite and Data Docs, and
GX's errors translated. (The rules are checked in Polars: tests/test_validate.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import gx_suite
from pipeline.errors import PipelineError
from pipeline.expectations import ExpectationResult, row_rules

RULES = [rule for rule in row_rules() if rule.column == "energy"]  # the type check, the range
RESULTS = [
    ExpectationResult(rule.expectation, rule.column, rule.description, count == 0, count)
    for rule, count in zip(RULES, [0, 1], strict=True)
]


def test_every_rule_but_the_type_checks_is_a_gx_expectation_of_its_type() -> None:
    gx = gx_suite.import_gx()
    for rule in row_rules():
        if rule.in_gx:
            configuration = gx_suite.expectation(gx, rule).configuration
            assert configuration.type == rule.expectation
            assert configuration.kwargs == {"column": rule.column, **rule.kwargs}


def test_the_data_docs_show_the_suite_and_this_run_s_counts_and_values(tmp_path: Path) -> None:
    gx_suite.write_data_docs(RULES, RESULTS, 3, [[], ["1.2"]], tmp_path)
    assert (tmp_path / "index.html").is_file()
    (page,) = list(tmp_path.glob("validations/**/*.html"))
    text = page.read_text()
    assert "expect_column_values_to_be_between" in text or "values must be" in text
    assert "1.2" in text  # the failing value the run found, shown by GX
    assert "parse_as_type" not in text  # the type checks are not GX's


def test_a_gx_exception_becomes_a_pipeline_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gx = gx_suite.import_gx()

    def broken_context(**kwargs: object) -> None:
        raise gx.exceptions.DataContextError("no context today")

    monkeypatch.setattr(gx, "get_context", broken_context)
    with pytest.raises(
        PipelineError,
        match="Great Expectations could not write Data Docs: DataContextError: no context today",
    ):
        gx_suite.write_data_docs(RULES, RESULTS, 3, [[], ["1.2"]], tmp_path)


@pytest.mark.parametrize("module", ["pipeline.validate", "pipeline.gx_suite"])
def test_importing_the_pipeline_does_not_import_great_expectations(module: str) -> None:
    check = f"import sys, {module}; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0
