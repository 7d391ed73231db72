"""Start a benchmark server as a child process on SERVER_CPU, wait for it, and stop it.

Every server listens on 127.0.0.1 only and is stopped by its own process id.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.measure import SERVER_CPU

# The folder that contains the bench package, so that `python -m bench...` children find
# it whatever the working directory of the run.
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Server:
    pid: int
    url: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(
    module: str,
    arguments: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log: Path,
    taskset: str | None,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run ``python -m module arguments`` pinned to SERVER_CPU until the block ends.

    The server must listen on 127.0.0.1:``port``; it counts as started once a GET of
    ``ready_path`` returns a status below 500.
    """
    command = [sys.executable, "-m", module, *arguments]
    if taskset is not None:
        command = [taskset, "-c", str(SERVER_CPU), *command]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPOSITORY_ROOT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, url + ready_path, log)
        yield Server(process.pid, url, log)
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with code {process.returncode} before it responded; "
                f"its log {log}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"the server did not respond to {url} within {START_TIMEOUT:.0f} s; see {log}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGINT lets uvicorn shut down gracefully. taskset replaces itself with the server
    # (exec), so this process id is the server's.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
