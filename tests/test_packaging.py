"""pyproject.toml declares every third-party package the shipped code imports, room by room."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contract", "pipeline", "service")
ROOMS = ("pipeline", "service")  # each is an extra of the same name


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


def declared(specs: list[str]) -> set[str]:
    """Normalised distribution names of requirement specs (other extras of kapiko left out)."""
    names = {_normal(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]) for spec in specs}
    return names - {"kapiko"}


def needed_by(package: str) -> set[str]:
    """Normalised names of the distributions a package's third-party imports come from."""
    modules = imported_top_level_modules(PROJECT_ROOT / package)
    third_party = modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}
    distributions = packages_distributions()
    return {_normal(d) for module in third_party for d in distributions.get(module, [module])}


# contract/ runs in both rooms, so its needs are the core dependencies; each room adds its extra.
@pytest.mark.parametrize(("package", "extra"), [("contract", None), *((p, p) for p in ROOMS)])
def test_every_third_party_import_is_declared_where_that_package_is_installed(
    package: str, extra: str | None
) -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    available = declared(project["dependencies"])
    if extra is not None:
        available |= declared(project["optional-dependencies"][extra])
    assert sorted(needed_by(package) - available) == []


def test_the_dev_extra_installs_both_rooms() -> None:
    extras = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert "kapiko[service,pipeline]" in extras["optional-dependencies"]["dev"]
