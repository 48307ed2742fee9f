"""Shared fixtures: small literal frames, and a curated dataset built by the real pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import extract
from pipeline.__main__ import main
from pipeline.errors import UpstreamError
from pipeline.run import Settings, ingest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CATALOGUE = PROJECT_ROOT / "data" / "raw" / "genres.toml"


@pytest.fixture(scope="session")
def upstream_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real upstream file, found the way `make raw` finds it; skip the test if it cannot be."""
    try:
        return extract.find_upstream(tmp_path_factory.mktemp("upstream"))
    except UpstreamError as error:
        pytest.skip(f"real upstream data unavailable: {error}")


@pytest.fixture(scope="session")
def real_data_dir(upstream_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the default catalogue, ingested from the real upstream by the pipeline."""
    data_dir = tmp_path_factory.mktemp("real-data")
    (data_dir / "raw").mkdir()
    shutil.copy(DEFAULT_CATALOGUE, data_dir / "raw" / "genres.toml")
    assert main(["raw", "--data-dir", str(data_dir)]) == 0
    ingest(Settings(data_dir=data_dir), log=lambda message: None)
    return data_dir


@pytest.fixture(scope="session")
def real_curated_dir(real_data_dir: Path) -> Path:
    """The `current` curated folder built from the real upstream (default catalogue)."""
    return real_data_dir / "curated" / "current"
