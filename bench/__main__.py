"""Run the benchmark suite: ``python -m bench`` (full) or ``python -m bench --quick``.

A full run writes docs/benchmarks.md; it took 9 minutes on a 2-CPU AMD EPYC virtual
machine. A quick run uses smaller inputs and one-second load runs, took under two minutes
there, and writes nothing unless ``--output`` is given. CI runs it as a smoke test.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import environment, report
from bench.context import RunContext
from bench.measure import LOAD_CPU, SERVER_CPU, cpus_available, pin_to_cpu
from bench.results import RowResult

# Row number -> module with a `run(ctx) -> RowResult` function.
ROWS = {
    "1": "bench.useragent",
    "2": "bench.geoip",
    "3": "bench.tokens",
    "4": "bench.activity",
    "5": "bench.http_endpoints",
    "6": "bench.listing",
    "7": "bench.peer_comparison",
    "8": "bench.memory",
    "9": "bench.revocation",
}

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

INTRO = """
`python -m bench` writes this page from a full run, so rerun it to refresh the numbers.
Every target compares lastseen with a floor measured in the same run: the building block
lastseen stands on (ua-parser-rs, maxminddb, PyJWT, one raw SQL statement), a trivial route
of the same server, or a peer library. The machine's speed drifts from minute to minute,
and the floors drift with it, so compare ratios between runs rather than absolute figures.
Per-operation costs are wall-clock times of a loop over prepared inputs divided by its
length, with the process pinned to one CPU and the garbage collector on.

The "other load" note under each row is the CPU that processes outside this run used
while the row ran, in cores (PostgreSQL's server counts as outside). A row measured while
other load was high is less reliable than its min/max spread suggests.

To run it: `pip install -e '.[geoip,test,bench]'` and `apt-get install wrk` (without wrk,
the HTTP rows fall back to a slower load generator written with httpx), then
`python -m bench --postgres-url postgresql://USER@HOST:PORT/DB` for the full run, which
creates and drops its own database on that server. `python -m bench --quick` is the smoke
run that CI uses, and `--rows 1,2` runs only some rows. Quick runs use smaller inputs, so
their verdicts are not the reference.
"""


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: smaller inputs, 1 s load runs, about two minutes in all",
    )
    parser.add_argument(
        "--rows",
        default=",".join(ROWS),
        help="comma-separated row numbers to run (default: all, 1 to 9)",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=5,
        help="repetitions per figure, at least 5 (default 5)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LASTSEEN_BENCH_POSTGRES_URL"),
        help="admin URL of a PostgreSQL server for rows 4 and 6, where a database is created "
        "and dropped (default: $LASTSEEN_BENCH_POSTGRES_URL; without one, both rows skip "
        "PostgreSQL)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"Markdown report to write (default: {DEFAULT_OUTPUT} for a full run of all rows, "
        "nothing for a quick or partial run)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 when a target is missed, not only when a row fails",
    )

    arguments = parser.parse_args(argv)
    if arguments.repetitions < 5:
        parser.error(f"--repetitions must be at least 5, got {arguments.repetitions}")

    rows = [number.strip() for number in arguments.rows.split(",") if number.strip()]
    unknown = [number for number in rows if number not in ROWS]
    if unknown:
        parser.error(f"unknown row {', '.join(unknown)}: rows are {', '.join(ROWS)}")
    arguments.rows = rows
    return arguments


def run_row(number: str, ctx: RunContext) -> RowResult:
    """Run one row; a crash becomes a skipped row with the error, so the others still run."""
    meter = environment.LoadMeter()
    meter.start()
    start = time.monotonic()
    print(f"-- row {number}: running", file=sys.stderr, flush=True)
    try:
        row: RowResult = importlib.import_module(ROWS[number]).run(ctx)
    except Exception as error:  # reported in the results, and the exit status reports the failure
        traceback.print_exc()
        row = RowResult(number, ROWS[number], skipped=f"failed: {type(error).__name__}: {error}")
        row.notes.append("failed")
    row.seconds = time.monotonic() - start
    other, steal = meter.stop()
    row.notes.append(
        f"Other load while this row ran: {other:.2f} cores; hypervisor steal {steal:.2f} "
        f"cores; the row took {row.seconds:.0f} s."
    )
    print(f"-- row {number}: done in {row.seconds:.0f} s", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    cpus = tuple(cpus_available())
    pinned = len(cpus) >= 2 and pin_to_cpu(LOAD_CPU)
    pinning = (
        f"benchmark process and load generators on CPU {LOAD_CPU}, servers on CPU {SERVER_CPU}"
        if pinned and shutil.which("taskset")
        else "none (needs two CPUs and taskset)"
    )

    workdir = Path(tempfile.mkdtemp(prefix="lastseen-bench-"))
    ctx = RunContext(
        quick=arguments.quick,
        repetitions=arguments.repetitions,
        workdir=workdir,
        postgres_url=arguments.postgres_url,
        cpus=cpus,
        pin_servers=pinned,
    )
    started = datetime.now(UTC)
    start = time.monotonic()
    try:
        rows = [run_row(number, ctx) for number in arguments.rows]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    info = report.RunInfo(
        command=_command(argv),
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.monotonic() - start,
        quick=arguments.quick,
        repetitions=arguments.repetitions,
        machine=environment.machine_lines(cpus),
        packages=environment.package_versions(),
        tools=environment.tool_versions(ctx.wrk, arguments.postgres_url),
        pinning=pinning,
    )
    print(report.console(rows, info))

    output = arguments.output
    if output is None and not arguments.quick and arguments.rows == list(ROWS):
        output = DEFAULT_OUTPUT
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report.markdown(rows, info, INTRO), encoding="utf-8")
        print(f"\nwrote {output}")

    failed = any(row.skipped and row.skipped.startswith("failed") for row in rows)
    missed = any(check.met is False for row in rows for check in row.checks)
    return 1 if failed or (arguments.strict and missed) else 0


def _command(argv: list[str] | None) -> str:
    arguments = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", "bench", *arguments])


if __name__ == "__main__":
    sys.exit(main())
