"""pyproject.toml declares every third-party package the shipped code imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contract", "pipeline", "service")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_level_modules(package: Path) -> set[str]:
    """Top-level names of every absolute import in a package's modules."""
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_a_declared_dependency() -> None:
    modules = set().union(*(imported_top_level_modules(PROJECT_ROOT / p) for p in PACKAGES))
    third_party = modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}
    distributions = packages_distributions()
    needed = {_normal(d) for module in third_party for d in distributions.get(module, [module])}
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    declared = {
        _normal(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0])
        for spec in pyproject["project"]["dependencies"]
    }
    assert sorted(needed - declared) == []
