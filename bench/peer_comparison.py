"""Row 7: the session list served by lastseen, django-user-sessions and django-qsessions.

All three run as ASGI apps on one uvicorn worker (uvloop, httptools, no access log) with
SQLite, pinned to the same CPU, and list a user's 10 sessions for a signed-in request.
The three servers stay up together and are loaded in turn, so each repetition compares
them under the same machine conditions.
"""

from __future__ import annotations

import importlib.metadata
import json
from contextlib import ExitStack

from bench import corpus, load, seeding, servers
from bench.context import RunContext
from bench.lastseen_server import TRIVIAL_PATH
from bench.results import Check, Goal, RowResult
from lastseen.enrich.geoip import bundled_geolite2_path

LASTSEEN = "lastseen GET /v1/me/sessions/active"
PEERS = {
    "user_sessions": "django-user-sessions GET /sessions/active",
    "qsessions": "django-qsessions GET /sessions/active",
}


def run(ctx: RunContext) -> RowResult:
    row = RowResult("7", "Session list against Django session apps")
    workdir = ctx.scratch("peers")
    generator = load.LoadGenerator(workdir, ctx.wrk, ctx.taskset)
    seconds = ctx.scaled(5, 1)
    browser_agent = {"user-agent": seeding.LOAD_USER_AGENT}

    with ExitStack() as stack:
        targets: dict[str, tuple[load.Request, int]] = {}

        database = workdir / "lastseen.db"
        signed_in = seeding.seed_sqlite(database)
        port = servers.free_port()
        arguments = ["--database-url", f"sqlite:///{database}", "--port", str(port)]
        geoip = bundled_geolite2_path()
        if geoip is not None:
            arguments += ["--geoip-db", geoip]
        server = stack.enter_context(
            servers.running(
                "bench.lastseen_server",
                arguments,
                port=port,
                ready_path=TRIVIAL_PATH,
                log=workdir / "lastseen-server.log",
                taskset=ctx.taskset,
            )
        )
        headers = {**browser_agent, "cookie": f"__client={signed_in.client_token}"}
        targets[LASTSEEN] = (
            load.Request("GET", server.url + "/v1/me/sessions/active", headers),
            server.pid,
        )

        for peer, label in PEERS.items():
            request, pid = _start_peer(ctx, stack, peer)
            targets[label] = (request, pid)

        for label, (request, _pid) in targets.items():
            _check_list(label, request)

        results = load.interleave_load(
            generator,
            targets,
            seconds=seconds,
            repetitions=ctx.repetitions,
            warmup_seconds=max(1, seconds / 2),
        )

    for label, runs in results.items():
        row.figures.append(load.load_figure(label, runs))

    # The target is against the faster peer, chosen by median rate in this run.
    faster = max(PEERS.values(), key=lambda label: row.figure(label).sample.median)
    check = Check(
        f"lastseen vs the faster peer ({faster.split(' GET')[0]})",
        row.figure(LASTSEEN),
        Goal.MIN_RATE_RATIO,
        2.0,
        row.figure(faster),
    )
    if not generator.keeps_up(results[LASTSEEN], results[faster]):
        check.judged = False
        check.note = load.GENERATOR_BOUND
    row.checks.append(check)

    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("Django", "django-user-sessions", "django-qsessions", "uvicorn")
    )
    row.notes += [
        f"Load: {generator.name}, {generator.connections} keep-alive connections, {seconds} s per "
        "repetition after a warm-up run, servers loaded in turn.",
        "Every request is signed in: lastseen with its `__client` cookie, the peers with "
        "Django's `sessionid` cookie. Each request reads the list from SQLite. The signed-in "
        "caller comes from a cache in both: lastseen keeps it for one second (row 5 lists "
        "what else it reuses), and django-qsessions keeps the session in Django's cache.",
        "Each list has 10 sessions. lastseen returns Clerk's session objects with the latest "
        "activity (browser, device, city, country). The peers return IP address, "
        "User-Agent, the app's device description, last activity and expiry, but no "
        "location: both apps look locations up at read time through "
        "django.contrib.gis.geoip2, which needs the geoip2 package.",
        "Peers: a minimal Django project in bench/peers (auth, contenttypes, the peer app; "
        "its session middleware and AuthenticationMiddleware; DEBUG off; SQLite in WAL "
        "mode; Django's default CONN_MAX_AGE=0). django-qsessions uses its documented "
        "cached_db engine with Django's default in-process cache.",
        f"Versions: {versions}.",
    ]
    return row


def _start_peer(ctx: RunContext, stack: ExitStack, peer: str) -> tuple[load.Request, int]:
    workdir = ctx.scratch("peers")
    database = workdir / f"{peer}.db"
    database.unlink(missing_ok=True)
    seed_file = workdir / f"{peer}-seed.json"
    seed_file.unlink(missing_ok=True)
    seed = {
        "user_agents": list(corpus.user_agents(2000)[:10]),
        "addresses": [str(a) for a in corpus.public_ipv4(10, seed=corpus.SEED + 5)],
        "requester": seeding.LOAD_USER_AGENT,
    }
    port = servers.free_port()
    server = stack.enter_context(
        servers.running(
            "bench.peers.serve",
            [
                "--peer",
                peer,
                "--database",
                str(database),
                "--port",
                str(port),
                "--seed-file",
                str(seed_file),
                "--seed",
                json.dumps(seed),
            ],
            port=port,
            ready_path="/ready",
            log=workdir / f"{peer}-server.log",
            taskset=ctx.taskset,
        )
    )
    session_key = json.loads(seed_file.read_text())["session_key"]
    headers = {"user-agent": seeding.LOAD_USER_AGENT, "cookie": f"sessionid={session_key}"}
    return load.Request("GET", server.url + "/sessions/active", headers), server.pid


def _check_list(label: str, request: load.Request) -> None:
    """Fetch the list once and check that it is signed in and has 10 sessions."""
    import httpx

    response = httpx.request(request.method, request.url, headers=request.headers)
    if response.status_code != 200:
        raise RuntimeError(f"{label} returned HTTP {response.status_code}: {response.text[:500]}")
    count = len(response.json())
    if count != 10:
        raise RuntimeError(f"{label} listed {count} sessions, expected 10")
