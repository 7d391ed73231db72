"""Serve lastseen for the HTTP rows: ``python -m bench.lastseen_server --database-url URL``.

The app is built with `create_app`, as ``lastseen serve`` builds it, and gets one extra
route, ``GET /bench/trivial``, which returns a small JSON object without touching the
database. That route is the HTTP floor: it goes through the same server, middleware and
exception handlers as the real endpoints. One uvicorn worker with uvloop and httptools
serves on 127.0.0.1, without access logs.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi.responses import JSONResponse

from lastseen.enrich.geoip import GeoIP
from lastseen.http.app import create_app
from lastseen.settings import Settings

# Fixed keys for a throw-away benchmark database; never used outside it.
SECRET_KEY = "sk_bench_" + "b" * 40
ENCRYPTION_KEY = "bench-encryption-key-" + "e" * 20
TRIVIAL_PATH = "/bench/trivial"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL, already migrated")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--geoip-db", help="City .mmdb file to open (default: none)")
    args = parser.parse_args()

    settings = Settings(
        database_url=args.database_url,
        secret_key=SECRET_KEY,
        encryption_key=ENCRYPTION_KEY,
        geoip_db=args.geoip_db,
    )
    geoip = GeoIP(args.geoip_db) if args.geoip_db else None
    app = create_app(settings, geoip=geoip)

    @app.get(TRIVIAL_PATH, include_in_schema=False)
    async def trivial() -> JSONResponse:
        return JSONResponse({"object": "ping", "ok": True})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=None,
        access_log=False,
        proxy_headers=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
