"""The machine, software versions and background load that a report records."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGES = (
    "lastseen",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "SQLAlchemy",
    "psycopg",
    "PyJWT",
    "cryptography",
    "ua-parser",
    "ua-parser-rs",
    "ua-parser-builtins",
    "maxminddb",
    "maxminddb-geolite2",
    "user-agents",
    "device-detector",
    "woothee",
    "Django",
    "django-user-sessions",
    "django-qsessions",
    "httpx",
    "psutil",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines(cpus: tuple[int, ...]) -> list[str]:
    """Describe the machine in a few lines: CPU, cores, memory, OS and virtualisation."""
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    virtualisation = _lscpu_field("Hypervisor vendor")
    if virtualisation is None:
        virtualisation = "none reported by lscpu"
    else:
        virtualisation = (
            f"{virtualisation} ({_lscpu_field('Virtualization type') or 'type unknown'})"
        )
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs ({len(cpus)} usable by this run)",
        f"Memory: {memory}",
        f"OS: {platform.platform()}, hypervisor: {virtualisation}",
        f"Python: {platform.python_implementation()} {platform.python_version()}",
        f"SQLite library: {sqlite3.sqlite_version}",
    ]


def _lscpu_field(name: str) -> str | None:
    try:
        output = subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in output.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def package_versions() -> list[tuple[str, str]]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def tool_versions(wrk: str | None, postgres_url: str | None) -> list[tuple[str, str]]:
    tools = []
    if wrk:
        # wrk -v prints its version and exits with status 1.
        result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        first = (result.stdout or result.stderr).strip().splitlines()
        tools.append(("wrk", first[0] if first else "unknown"))
    else:
        tools.append(("wrk", "not installed: HTTP rows use bench.httpx_load"))
    if postgres_url:
        tools.append(("PostgreSQL server", _postgres_version(postgres_url)))
    return tools


def _postgres_version(url: str) -> str:
    from sqlalchemy import text

    from lastseen.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    except Exception as error:  # the report shows the error type instead of failing the run
        return f"unavailable ({type(error).__name__})"
    finally:
        engine.dispose()


@dataclass
class LoadMeter:
    """CPU used by other processes while a row ran, in cores, and hypervisor steal.

    "Own" CPU is this process's plus that of its children that have exited (servers and
    load generators). The PostgreSQL server is not a child, so its work counts as other.
    """

    start_wall: float = 0.0
    start_busy: float = 0.0
    start_steal: float = 0.0
    start_own: float = 0.0

    def start(self) -> None:
        self.start_wall = time.monotonic()
        self.start_busy, self.start_steal = _system_busy()
        self.start_own = _own_cpu()

    def stop(self) -> tuple[float, float]:
        """Return (other processes' CPU, steal), each in cores, since `start`."""
        wall = time.monotonic() - self.start_wall
        busy, steal = _system_busy()
        own = _own_cpu() - self.start_own
        if wall <= 0:
            return 0.0, 0.0
        other = (busy - self.start_busy - own) / wall
        return max(0.0, other), (steal - self.start_steal) / wall


def _system_busy() -> tuple[float, float]:
    """Return the seconds all CPUs spent busy (excluding steal), and stolen, since boot."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    ticks = [int(value) for value in fields]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    hertz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hertz, steal / hertz


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
