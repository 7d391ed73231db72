"""Settings shared by every row of one run: quick or full, scratch space, databases, tools."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunContext:
    """Run-wide settings that each row reads."""

    quick: bool
    # Repetitions per figure. The report gives their median, min and max.
    repetitions: int
    # Scratch directory for SQLite files, scripts and server logs, removed after the run.
    workdir: Path
    # Admin URL of a PostgreSQL server, where rows create and drop their own databases.
    postgres_url: str | None
    # The CPUs found at start, before this process pinned itself to one.
    cpus: tuple[int, ...]
    # Whether servers and load generators are pinned to their own CPUs with taskset.
    pin_servers: bool = True

    @property
    def wrk(self) -> str | None:
        return shutil.which("wrk")

    @property
    def taskset(self) -> str | None:
        """The taskset command that pins servers and load generators, or None."""
        return shutil.which("taskset") if self.pin_servers else None

    def scaled(self, full: int, quick: int) -> int:
        """Pick a size for the run: ``full`` normally, ``quick`` under ``--quick``."""
        return quick if self.quick else full

    def scratch(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path
