"""Loopback HTTP load: wrk when it is installed, else a load generator written with httpx.

Both run on LOAD_CPU while the server runs alone on SERVER_CPU, keep a fixed number of
keep-alive connections busy for a fixed time, and report requests per second and the
latency percentiles. The server's own CPU time over the run is read as well, which shows
when the load generator, not the server, was the bottleneck.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.measure import LOAD_CPU, Sample
from bench.results import Figure
from bench.servers import REPOSITORY_ROOT

CONNECTIONS = 32
# The httpx generator spends about a millisecond of CPU per request, and more per request
# as connections are added (measured: 940 req/s with 4 connections, 300 with 32).
HTTPX_CONNECTIONS = 4

# Below this share of one core the server was waiting for requests. Under the httpx
# generator that means the generator was the bottleneck. wrk is far cheaper per request
# than any Python server, so under wrk it means other processes took the server's CPU.
SATURATED_BUSY = 0.85

GENERATOR_BOUND = (
    "not judged: the httpx load generator could not keep the server busy, so it set the rate"
)


@dataclass(frozen=True)
class Request:
    """One request shape: method, URL and headers, sent over and over."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    # Responses outside 2xx and 3xx, plus socket errors.
    failures: int
    # Server CPU time over the run divided by the run's wall time, in cores.
    server_busy: float
    generator: str

    @property
    def server_cpu_us_per_request(self) -> float:
        if self.requests_per_second <= 0:
            return float("nan")
        return self.server_busy * 1e6 / self.requests_per_second


class LoadGenerator:
    """Sends a `Request` for a fixed time and measures the server that responds to it."""

    def __init__(self, workdir: Path, wrk: str | None, taskset: str | None) -> None:
        self.workdir = workdir
        self.wrk = wrk
        self.taskset = taskset

    @property
    def name(self) -> str:
        return "wrk" if self.wrk else "httpx (bench.httpx_load)"

    @property
    def connections(self) -> int:
        return CONNECTIONS if self.wrk else HTTPX_CONNECTIONS

    def keeps_up(self, *series: list[LoadResult]) -> bool:
        """Tell whether the rates of ``series`` measure the server, not this generator."""
        if self.wrk:
            return True
        return all(
            statistics.median(run.server_busy for run in runs) >= SATURATED_BUSY for runs in series
        )

    def run(self, request: Request, seconds: float, server_pid: int) -> LoadResult:
        """Load the server for ``seconds`` and return what was measured."""
        server = psutil.Process(server_pid)
        before = _cpu_seconds(server)
        start = time.perf_counter()
        result = self._wrk(request, seconds) if self.wrk else self._httpx(request, seconds)
        wall = time.perf_counter() - start
        busy = (_cpu_seconds(server) - before) / wall
        rate, p50, p99, failures = result
        if rate <= 0:
            raise RuntimeError(f"no request to {request.url} succeeded under load")
        return LoadResult(rate, p50, p99, failures, busy, self.name)

    def _pinned(self, command: list[str]) -> list[str]:
        if self.taskset is None:
            return command
        return [self.taskset, "-c", str(LOAD_CPU), *command]

    def _wrk(self, request: Request, seconds: float) -> tuple[float, float, float, int]:
        assert self.wrk is not None
        script = self.workdir / f"wrk-{request.method.lower()}.lua"
        script.write_text(f'wrk.method = "{request.method}"\n', encoding="ascii")
        command = [
            self.wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
        ]
        for name, value in request.headers.items():
            command += ["-H", f"{name}: {value}"]
        command.append(request.url)
        output = subprocess.run(
            self._pinned(command), capture_output=True, text=True, check=True, timeout=seconds + 30
        ).stdout
        return parse_wrk(output)

    def _httpx(self, request: Request, seconds: float) -> tuple[float, float, float, int]:
        command = [
            sys.executable,
            "-m",
            "bench.httpx_load",
            "--method",
            request.method,
            "--url",
            request.url,
            "--seconds",
            str(seconds),
            "--connections",
            str(HTTPX_CONNECTIONS),
            "--headers",
            json.dumps(request.headers),
        ]
        output = subprocess.run(
            self._pinned(command),
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
            cwd=REPOSITORY_ROOT,
        ).stdout
        data = json.loads(output)
        return (
            float(data["requests_per_second"]),
            float(data["p50_ms"]),
            float(data["p99_ms"]),
            int(data["failures"]),
        )


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    """Read requests/s, p50 and p99 in ms, and failures from ``wrk --latency`` output."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")

    failures = wrk_failures(output)
    return (
        float(rate[1]),
        float(p50[1]) * _UNITS_MS[p50[2]],
        float(p99[1]) * _UNITS_MS[p99[2]],
        failures,
    )


def wrk_failures(output: str) -> int:
    """Count the non-2xx/3xx responses and socket errors that wrk reported."""
    failures = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        failures += int(non_2xx[1])
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket:
        failures += sum(int(count) for count in socket.groups())
    return failures


def wrk_request_count(output: str) -> int:
    """Return the number of requests wrk completed."""
    match = re.search(r"(\d+) requests in", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return int(match[1])


def interleave_load(
    generator: LoadGenerator,
    targets: dict[str, tuple[Request, int]],
    *,
    seconds: float,
    repetitions: int,
    warmup_seconds: float,
) -> dict[str, list[LoadResult]]:
    """Load each target (request, server pid) ``repetitions`` times, rotating the order.

    Each target first gets a discarded warm-up run, which fills caches and lets the
    server's allocator and the kernel's socket buffers settle.
    """
    names = list(targets)
    for name in names:
        request, pid = targets[name]
        generator.run(request, warmup_seconds, pid)

    results: dict[str, list[LoadResult]] = {name: [] for name in names}
    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            request, pid = targets[name]
            results[name].append(generator.run(request, seconds, pid))
    return results


def load_figure(label: str, runs: list[LoadResult]) -> Figure:
    """Summarise load runs as a requests/s figure with median latency and server CPU."""
    sample = Sample(tuple(run.requests_per_second for run in runs), "req/s", higher_is_better=True)
    failures = sum(run.failures for run in runs)
    cpu_per_request = statistics.median(run.server_cpu_us_per_request for run in runs)
    figure = Figure(
        label,
        sample,
        extra={
            "p50 ms": f"{statistics.median(run.p50_ms for run in runs):.2f}",
            "p99 ms": f"{statistics.median(run.p99_ms for run in runs):.2f}",
            "server CPU µs/req": f"{cpu_per_request:.0f}",
            "server busy": f"{statistics.median(run.server_busy for run in runs):.0%}",
        },
    )
    if failures:
        figure.note = f"{failures} failed requests (non-2xx/3xx or socket errors)"
    return figure
