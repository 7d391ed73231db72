"""Row 5: two frontend endpoints on one uvicorn worker, against a trivial route of the app.

The server is pinned to one CPU and the load generator to the other. The trivial route
(``GET /bench/trivial``) is added to the app object in `bench.lastseen_server`, so it
shares the server, middleware and exception handlers with the measured endpoints.
"""

from __future__ import annotations

from bench import load, seeding, servers
from bench.context import RunContext
from bench.lastseen_server import TRIVIAL_PATH
from bench.results import Check, Goal, RowResult
from lastseen.enrich.geoip import bundled_geolite2_path


def run(ctx: RunContext) -> RowResult:
    row = RowResult("5", "HTTP endpoints on one uvicorn worker")
    workdir = ctx.scratch("http")
    database = workdir / "lastseen.db"
    signed_in = seeding.seed_sqlite(database)
    generator = load.LoadGenerator(workdir, ctx.wrk, ctx.taskset)
    seconds = ctx.scaled(5, 1)

    port = servers.free_port()
    arguments = ["--database-url", f"sqlite:///{database}", "--port", str(port)]
    geoip = bundled_geolite2_path()
    if geoip is not None:
        arguments += ["--geoip-db", geoip]

    with servers.running(
        "bench.lastseen_server",
        arguments,
        port=port,
        ready_path=TRIVIAL_PATH,
        log=workdir / "lastseen-server.log",
        taskset=ctx.taskset,
    ) as server:
        browser = {
            "cookie": f"__client={signed_in.client_token}",
            "user-agent": seeding.LOAD_USER_AGENT,
        }
        targets = {
            "trivial JSON route (floor)": load.Request("GET", server.url + TRIVIAL_PATH, browser),
            "GET /v1/me/sessions/active": load.Request(
                "GET", server.url + "/v1/me/sessions/active", browser
            ),
            "POST /v1/client/sessions/{id}/tokens": load.Request(
                "POST", f"{server.url}/v1/client/sessions/{signed_in.session_id}/tokens", browser
            ),
        }
        _check_responses(targets)
        results = load.interleave_load(
            generator,
            {name: (request, server.pid) for name, request in targets.items()},
            seconds=seconds,
            repetitions=ctx.repetitions,
            warmup_seconds=max(1, seconds / 2),
        )

    for name, runs in results.items():
        row.figures.append(load.load_figure(name, runs))

    floor = row.figure("trivial JSON route (floor)")
    for name in ("GET /v1/me/sessions/active", "POST /v1/client/sessions/{id}/tokens"):
        check = Check(name, row.figure(name), Goal.MIN_RATE_RATIO, 0.5, floor)
        if not generator.keeps_up(results[name], results[floor.label]):
            check.judged = False
            check.note = load.GENERATOR_BOUND
        row.checks.append(check)

    row.notes += [
        f"Load: {generator.name}, {generator.connections} keep-alive connections, "
        f"{seconds} s per repetition after a warm-up run, endpoints interleaved.",
        "Server: `bench.lastseen_server` (create_app, SQLite, the bundled GeoLite2-City "
        "file open), one uvicorn process with uvloop and httptools, access log off."
        + (" Pinned with taskset to CPU 0, load generator to CPU 1." if ctx.taskset else ""),
        "Every request sends the `__client` cookie of a user with 10 active sessions on 10 "
        "clients. It also sends the User-Agent that its session was created with, so "
        "authentication records activity at most once a touch interval (60 s).",
        "What lastseen reuses between these requests, as it would between any requests: "
        "the list reads the user's sessions from SQLite on every request, and reuses the "
        "Session objects and encoded JSON items of rows it read before. Reads take the "
        "signed-in caller from a cache kept for one second. The token endpoint reads the "
        "client and the session from SQLite in one query on every request, and hands out "
        "the same token until half its lifetime has passed.",
        "Server CPU µs/req is the server process's CPU time over a run divided by the "
        "requests it served.",
    ]
    return row


def _check_responses(targets: dict[str, load.Request]) -> None:
    """Send each request once, so that a broken setup fails here and not under load."""
    import httpx

    for name, request in targets.items():
        response = httpx.request(request.method, request.url, headers=request.headers)
        if response.status_code >= 400:
            raise RuntimeError(
                f"{name} returned HTTP {response.status_code} before the load: "
                f"{response.text[:500]}"
            )
