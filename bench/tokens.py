"""Row 3: session-token check in `LastseenMiddleware.authenticate`, first sight and repeat.

First sight verifies the RS256 signature and the claims. A token seen before is found by
the SHA-256 of its text in the middleware's cache of verified tokens.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.datastructures import Headers

from bench.context import RunContext
from bench.measure import Case, interleave
from bench.results import Check, Figure, Goal, RowResult
from lastseen.domain import ids
from lastseen.domain.sessions import Lifetimes, new_session
from lastseen.integrations.asgi import LastseenMiddleware
from lastseen.tokens.signing import mint_session_token
from lastseen.tokens.verify import JWKS

ISSUER = "http://127.0.0.1:8000"

# Headers a browser's API call carries besides the token, so that the header lookups in
# `authenticate` scan a list of realistic length.
_OTHER_HEADERS = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    (b"accept", b"application/json"),
    (b"accept-language", b"en-GB,en;q=0.7"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
)


def run(ctx: RunContext) -> RowResult:
    row = RowResult("3", "Session-token check in the middleware")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = private_key.public_key()
    kid = "ins_bench"
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    jwks = JWKS({"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]})

    tokens = _mint(private_key, kid, ctx.scaled(2000, 500))
    headers = [_headers(token) for token in tokens]
    middleware = LastseenMiddleware(_no_app, jwks=jwks, report_activity=False)

    first_sight = interleave(
        {
            "authenticate, first sight": _authenticate(middleware, headers, forget=True),
            "PyJWT RS256 decode": _pyjwt_decode(tokens, public_key),
        },
        ctx.repetitions,
    )

    # Repeats cycle over 100 tokens that the middleware has verified before.
    hot_count = ctx.scaled(50_000, 10_000)
    hot_headers = list(itertools.islice(itertools.cycle(headers[:100]), hot_count))
    hot_tokens = list(itertools.islice(itertools.cycle(tokens[:100]), hot_count))
    repeat = interleave(
        {
            "authenticate, seen before": _authenticate(middleware, hot_headers, forget=False),
            "sha256 + dict lookup": _digest_lookup(hot_tokens),
        },
        ctx.repetitions,
    )

    # Signing is not part of the check, but it is what the token endpoint of row 5 spends.
    sign_count = ctx.scaled(500, 100)
    signing = interleave(
        {"PyJWT RS256 encode (what minting a token costs)": _pyjwt_encode(private_key, sign_count)},
        ctx.repetitions,
    )

    for samples in (first_sight, repeat, signing):
        for label, sample in samples.items():
            row.figures.append(Figure(label, sample))

    row.checks += [
        Check(
            "first sight vs PyJWT decode",
            row.figure("authenticate, first sight"),
            Goal.MAX_COST_RATIO,
            1.3,
            floor=row.figure("PyJWT RS256 decode"),
        ),
        Check(
            "seen before, absolute",
            row.figure("authenticate, seen before"),
            Goal.MAX_VALUE,
            5.0,
        ),
    ]
    row.notes += [
        f"{len(tokens):,} distinct RS256 tokens minted by lastseen "
        "(`mint_session_token`, 2048-bit key); the middleware's cache of verified tokens is "
        "emptied before every first-sight repetition.",
        "Each request carries `Authorization: Bearer` and five other browser headers, no "
        "cookie. The middleware is built with a JWKS (no fetch), no revocation check and no "
        "activity reporting.",
        "PyJWT floor: `jwt.decode(token, key, algorithms=['RS256'])` with the public key "
        "object, which checks the signature, exp, nbf and iat.",
        f"Versions: PyJWT {importlib.metadata.version('PyJWT')}, "
        f"cryptography {importlib.metadata.version('cryptography')}.",
    ]
    return row


async def _no_app(scope: object, receive: object, send: object) -> None:
    """Stand in for the host app, which is never called because only `authenticate` runs."""


def _mint(private_key: rsa.RSAPrivateKey, kid: str, count: int) -> list[str]:
    now = datetime.now(UTC)
    tokens = []
    for _ in range(count):
        session = new_session(
            session_id=ids.new_id(ids.SESSION),
            user_id=ids.new_id(ids.USER),
            client_id=ids.new_id(ids.CLIENT),
            lifetimes=Lifetimes(),
            now=now,
        )
        tokens.append(
            mint_session_token(
                session,
                kid=kid,
                private_key=private_key,
                issuer=ISSUER,
                now=now,
                # Long enough that no token expires during the run.
                lifetime=timedelta(hours=2),
            )
        )
    return tokens


def _headers(token: str) -> Headers:
    return Headers(raw=[*_OTHER_HEADERS, (b"authorization", f"Bearer {token}".encode())])


def _authenticate(
    middleware: LastseenMiddleware, headers: Sequence[Headers], *, forget: bool
) -> Case:
    def loop() -> int:
        authenticate = middleware.authenticate
        for request_headers in headers:
            auth = authenticate(request_headers)
            if auth.session_id is None:
                raise RuntimeError(f"the benchmark token was rejected: {auth.reason}")
        return len(headers)

    def setup() -> None:
        middleware._verified.clear()

    return Case(loop, setup if forget else None)


def _pyjwt_decode(tokens: Sequence[str], public_key: rsa.RSAPublicKey) -> Case:
    def loop() -> int:
        decode = jwt.decode
        for token in tokens:
            decode(token, public_key, algorithms=["RS256"])
        return len(tokens)

    return Case(loop)


def _pyjwt_encode(private_key: rsa.RSAPrivateKey, count: int) -> Case:
    claims = {"sub": "user_bench", "sid": "sess_bench", "iss": ISSUER, "exp": 4_000_000_000}

    def loop() -> int:
        encode = jwt.encode
        for _ in range(count):
            encode(claims, private_key, algorithm="RS256")
        return count

    return Case(loop)


def _digest_lookup(tokens: Sequence[str]) -> Case:
    cache = {hashlib.sha256(token.encode()).digest(): token for token in set(tokens)}

    def loop() -> int:
        sha256 = hashlib.sha256
        get = cache.get
        for token in tokens:
            get(sha256(token.encode()).digest())
        return len(tokens)

    return Case(loop)
