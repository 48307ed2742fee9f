"""Where a run reads and writes, and how strict it is; no Polars here, so a no-op starts quickly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # contract imports Polars; a Settings is made before anything needs it
    from contract.store import VersionStore


@dataclass(frozen=True)
class Settings:
    """Where a run reads and writes, and how strict it is."""

    data_dir: Path = Path("data")
    catalogue: Path | None = None
    max_bad_share: float = 0.05
    force: bool = False
    data_docs: bool = True
    keep_runs: int = 10  # run reports kept in runs_dir, the current run's included
    store: str = ""  # KAPIKO_STORE: s3://bucket/prefix to publish there instead of curated_dir
    # Rows a run validates and curates in memory at once: more are streamed through Parquet
    # files in the run's folder and curated in parts of this many rows (pipeline/curate.py).
    rows_in_memory: int = 1_000_000

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def catalogue_path(self) -> Path:
        return self.catalogue or self.raw_dir / "genres.toml"

    @property
    def curated_dir(self) -> Path:
        return self.data_dir / "curated"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def open_store(self) -> VersionStore:
        """Where versions are published: the bucket `store` names, or the folder curated_dir."""
        from contract.store import open_store

        return open_store(self.store, self.curated_dir)
