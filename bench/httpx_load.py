"""A closed-loop HTTP load generator written with httpx, for machines without wrk.

``python -m bench.httpx_load --url URL --seconds S`` keeps ``--connections`` requests in
flight for S seconds and prints one JSON object: requests_per_second, p50_ms, p99_ms and
failures. It costs far more CPU per request than wrk, so on one core it may saturate
before the server does. The caller detects that from the server's CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


async def _worker(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    deadline: float,
    latencies: list[float],
    failures: list[int],
) -> None:
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            response = await client.request(method, url)
            response.read()
            ok = response.status_code < 400
        except httpx.HTTPError:
            ok = False
        latencies.append(time.perf_counter() - start)
        if not ok:
            failures.append(1)


async def _load(
    method: str, url: str, headers: dict[str, str], seconds: float, connections: int
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    failures: list[int] = []
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10.0) as client:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(
                _worker(client, method, url, deadline, latencies, failures)
                for _ in range(connections)
            )
        )
        elapsed = time.perf_counter() - start

    if not latencies:
        return {"requests_per_second": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "failures": 0}
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests_per_second": len(latencies) / elapsed,
        "p50_ms": percentiles[49] * 1000,
        "p99_ms": percentiles[98] * 1000,
        "failures": len(failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="URL to request, on loopback")
    parser.add_argument("--method", default="GET", help="HTTP method (default GET)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration in seconds")
    parser.add_argument("--connections", type=int, default=32, help="requests in flight")
    parser.add_argument("--headers", default="{}", help="request headers as a JSON object")
    args = parser.parse_args()
    host = httpx.URL(args.url).host
    if host not in LOOPBACK_HOSTS:
        parser.error(f"--url must point at a loopback address, got host {host!r}")

    result = asyncio.run(
        _load(args.method, args.url, json.loads(args.headers), args.seconds, args.connections)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
