"""Row 8: memory of a serving lastseen process, and its growth over many sign-ins.

A password sign-in spends tens of milliseconds in argon2, so 100,000 of them would take
most of an hour. The sign-ins here go through the backend API's ``POST /v1/sessions``
instead, which creates a client and a session through the same `Sessions.create_session`
path. Each has a real User-Agent and a random public address, so the User-Agent caches
fill and the GeoIP file is read as under real traffic.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from bench import corpus, databases, load, servers
from bench.context import RunContext
from bench.lastseen_server import SECRET_KEY, TRIVIAL_PATH
from bench.measure import LOAD_CPU, Sample
from bench.results import Check, Figure, Goal, RowResult
from lastseen.enrich.geoip import bundled_geolite2_path
from lastseen.store.sql import SQLStore

MIB = 1024 * 1024
# Growth of anonymous memory over the second half of the sign-ins that still counts as
# flat: what a few more SQLite pages or allocator arenas take, far below a leak's growth.
FLAT_LIMIT_MIB = 2.0
# Sign-ins per second assumed for sizing the first wrk segment.
INITIAL_RATE_GUESS = 500.0
# wrk sends this many requests at once, so a segment overshoots its count by at most this.
SIGN_IN_CONNECTIONS = 8


def run(ctx: RunContext) -> RowResult:
    row = RowResult("8", "Memory of a serving process over sign-ins")
    geoip = bundled_geolite2_path()
    if geoip is None:
        row.skipped = "maxminddb-geolite2 is not installed: pip install -e '.[geoip]'"
        return row

    workdir = ctx.scratch("memory")
    database = workdir / "lastseen.db"
    engine = databases.migrated_sqlite(database)
    user = databases.add_user(SQLStore(engine), "memory@example.com")
    engine.dispose()

    segments = ctx.scaled(10, 5)
    per_segment = ctx.scaled(10_000, 1_000)
    total = segments * per_segment
    port = servers.free_port()
    arguments = ["--database-url", f"sqlite:///{database}", "--port", str(port)]
    arguments += ["--geoip-db", geoip]

    samples: list[tuple[int, dict[str, float]]] = []
    rates: list[float] = []
    with servers.running(
        "bench.lastseen_server",
        arguments,
        port=port,
        ready_path=TRIVIAL_PATH,
        log=workdir / "lastseen-server.log",
        taskset=ctx.taskset,
    ) as server:
        samples.append((0, _memory(server.pid)))
        sender = _SignIns(ctx, workdir, server.url, user.id)
        done = 0
        # Bounded: wrk's counts only approximate a segment, so allow extra segments.
        for _ in range(3 * segments):
            if done >= total:
                break
            sent, seconds = sender.send(min(per_segment, total - done))
            done += sent
            rates.append(sent / seconds)
            samples.append((done, _memory(server.pid)))

    _report(row, samples, rates, sender.name)
    mmdb_mib = Path(geoip).stat().st_size / MIB
    row.notes += [
        f"The server opens the bundled GeoLite2-City file ({mmdb_mib:.1f} MiB) with "
        "maxminddb's memory-mapping C reader, so the pages it reads count as RssFile: "
        "they are shared page cache, not memory of this process alone.",
        "Sign-ins: `POST /v1/sessions` of the backend API (secret key), one new client and "
        f"session each, User-Agents cycling over {len(corpus.user_agents(2000)):,} real "
        "strings and a new random public IPv4 address each time, "
        f"{SIGN_IN_CONNECTIONS} connections. Memory is read from /proc/PID/status between "
        "segments, while the server is idle.",
        f"Flat means RssAnon grows by less than {FLAT_LIMIT_MIB:g} MiB over the second half "
        "of the sign-ins.",
    ]
    return row


def _report(
    row: RowResult, samples: list[tuple[int, dict[str, float]]], rates: list[float], name: str
) -> None:
    def figure(label: str, value: float, unit: str = "MiB", note: str = "") -> Figure:
        return Figure(label, Sample((value,), unit), note=note)

    start = samples[0][1]
    end_count, end = samples[-1]
    # The first sample at or past half of the sign-ins.
    middle_count, middle = next(
        (count, memory) for count, memory in samples if count >= end_count / 2
    )
    row.figures += [
        figure("VmRSS at start (idle)", start["VmRSS"]),
        figure("RssAnon at start", start["RssAnon"]),
        figure("RssFile at start", start["RssFile"]),
        figure(f"VmRSS after {end_count:,} sign-ins", end["VmRSS"]),
        figure(f"RssAnon after {end_count:,} sign-ins", end["RssAnon"]),
        figure(f"RssFile after {end_count:,} sign-ins", end["RssFile"]),
        figure(
            f"RssAnon growth, {middle_count:,} → {end_count:,} sign-ins",
            end["RssAnon"] - middle["RssAnon"],
        ),
        Figure(
            "sign-ins per second",
            Sample(tuple(rates), "sign-ins/s", higher_is_better=True),
            note=f"one value per segment, {name}",
        ),
    ]
    growth = end["RssAnon"] - middle["RssAnon"]
    check = Check(
        "RssAnon flat after warm-up",
        row.figures[-2],
        Goal.BOOLEAN,
        FLAT_LIMIT_MIB,
        passed=growth < FLAT_LIMIT_MIB,
        target_label=f"growth < {FLAT_LIMIT_MIB:g} MiB",
    )
    row.checks.append(check)
    trajectory = ", ".join(f"{count:,}: {memory['RssAnon']:.1f}" for count, memory in samples)
    row.notes.append(f"RssAnon (MiB) after each segment of sign-ins: {trajectory}.")


def _memory(pid: int) -> dict[str, float]:
    """Read VmRSS, RssAnon and RssFile of ``pid`` in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[name] = int(value.split()[0]) * 1024 / MIB
    return fields


class _SignIns:
    """Sends sign-ins in segments of about a given count, with wrk when it is installed."""

    def __init__(self, ctx: RunContext, workdir: Path, url: str, user_id: str) -> None:
        self.ctx = ctx
        self.url = url + "/v1/sessions"
        agents = corpus.user_agents(2000)
        addresses = corpus.public_ipv4(20_000, seed=corpus.SEED + 8)
        self.bodies = [
            json.dumps(
                {
                    "user_id": user_id,
                    "user_agent": agents[index % len(agents)],
                    "ip_address": str(address),
                }
            )
            for index, address in enumerate(addresses)
        ]
        self.headers = {"authorization": f"Bearer {SECRET_KEY}"}
        self.script = workdir / "sign-ins.lua"
        self.position = 0
        # wrk runs for a duration, not a count, so each segment's duration is sized from
        # the rate of the segment before.
        self.rate = INITIAL_RATE_GUESS

    @property
    def name(self) -> str:
        return "wrk" if self.ctx.wrk else "httpx"

    def send(self, count: int) -> tuple[int, float]:
        """Send about ``count`` sign-ins; return how many were sent and the seconds taken.

        httpx sends exactly ``count``. wrk sends for the time ``count`` took at the last
        segment's rate, so its count is near ``count``.
        """
        if self.ctx.wrk:
            return self._wrk(count)
        return self._httpx(count)

    def _httpx(self, count: int) -> tuple[int, float]:
        start = time.perf_counter()
        with httpx.Client(headers=self.headers, timeout=10.0) as client:
            for _ in range(count):
                body = self.bodies[self.position % len(self.bodies)]
                self.position += 1
                response = client.post(
                    self.url, content=body, headers={"content-type": "application/json"}
                )
                response.raise_for_status()
        return count, time.perf_counter() - start

    def _wrk(self, count: int) -> tuple[int, float]:
        self.script.write_text(_lua_script(self.bodies, self.position, self.headers))
        command = [
            self.ctx.wrk or "wrk",
            "-t1",
            f"-c{SIGN_IN_CONNECTIONS}",
            f"-d{max(1, round(count / self.rate))}s",
            "-s",
            str(self.script),
            self.url,
        ]
        if self.ctx.taskset:
            command = [self.ctx.taskset, "-c", str(LOAD_CPU), *command]
        start = time.perf_counter()
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=count / self.rate * 2 + 60
        ).stdout
        seconds = time.perf_counter() - start
        self.position += load.wrk_request_count(output)
        failures = load.wrk_failures(output)
        if failures:
            raise RuntimeError(f"{failures} sign-ins failed under wrk:\n{output}")
        sent = load.wrk_request_count(output)
        self.rate = max(sent / seconds, 1.0)
        return sent, seconds


def _lua_script(bodies: list[str], position: int, headers: dict[str, str]) -> str:
    # Lua long brackets take the JSON bodies verbatim, unless a body contains the closer.
    if any("]==]" in body for body in bodies):
        raise ValueError("a sign-in body contains the Lua long-bracket closer ]==]")
    rows = ",\n".join(f"[==[{body}]==]" for body in bodies)
    header_lines = "\n".join(
        f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in headers.items()
    )
    return f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{header_lines}
local bodies = {{
{rows}
}}
local next_body = {position}
request = function()
  next_body = next_body + 1
  return wrk.format(nil, nil, nil, bodies[(next_body % #bodies) + 1])
end
"""
