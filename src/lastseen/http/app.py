"""The application factory: one FastAPI app serving the frontend and backend APIs."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from lastseen.domain.clock import Clock, system_clock
from lastseen.enrich.geoip import GeoIP
from lastseen.errors import ServiceError
from lastseen.http import backend, frontend
from lastseen.http.errors import (
    handle_http_exception,
    handle_service_error,
    handle_unexpected,
    handle_validation_error,
)
from lastseen.http.middleware import MethodOverrideMiddleware, RequestLimitsMiddleware
from lastseen.http.runtime import Runtime
from lastseen.pages import router as pages_router
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher
from lastseen.service.revocations import RedisRevocationPublisher
from lastseen.service.sessions import Sessions
from lastseen.service.tokens import KeyRing, SecretKeys, Tokens
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import require_current
from lastseen.store.sql import SQLStore
from lastseen.tokens.signing import resolve_encryption_key

logger = logging.getLogger("lastseen")

MAX_BODY_BYTES = 64 * 1024
# Room for a 10 kB User-Agent and the usual cookies, far below what would strain memory.
MAX_HEADER_BYTES = 32 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    geoip: GeoIP | None = None,
    clock: Clock = system_clock,
) -> FastAPI:
    """Build the app. The database must already have the current schema (``lastseen migrate``)."""
    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.database_url)
    require_current(engine)

    store = SQLStore(
        engine, activity_flush_interval=settings.activity_flush_interval.total_seconds()
    )
    sessions = Sessions(
        store,
        Enricher(geoip),
        lifetimes=settings.lifetimes,
        touch_interval=settings.touch_interval,
        clock=clock,
    )
    keys = KeyRing(
        store,
        resolve_encryption_key(settings.encryption_key, settings.encryption_key_file),
        clock=clock,
    )
    runtime = Runtime(
        settings=settings,
        sessions=sessions,
        accounts=Accounts(sessions),
        keys=keys,
        tokens=Tokens(keys, lifetime=settings.token_lifetime, clock=clock),
        secret_keys=SecretKeys(store, clock=clock),
        in_loop=engine.dialect.name == "sqlite",
    )
    # Load (or create) the signing key now, so the first token request does not pay for it.
    keys.jwks()

    publisher = None
    if settings.redis_url:
        publisher = RedisRevocationPublisher(settings.redis_url)
        sessions.end_listeners.append(publisher)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        try:
            if publisher is not None:
                publisher.close()
            store.close()
        finally:
            engine.dispose()

    app = FastAPI(
        title="lastseen",
        summary="Sessions with activities: sign in, list every device, revoke.",
        version="0.1.0",
        lifespan=lifespan,
        # The interactive docs pages load their scripts from a CDN; lastseen makes no
        # outside requests, so only the OpenAPI document is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime

    app.add_exception_handler(ServiceError, handle_service_error)
    app.add_exception_handler(HTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(Exception, handle_unexpected)

    app.include_router(frontend.router)
    app.include_router(frontend.well_known)
    app.include_router(backend.router)
    app.include_router(pages_router)

    app.add_middleware(MethodOverrideMiddleware)
    app.add_middleware(
        RequestLimitsMiddleware, max_body_bytes=MAX_BODY_BYTES, max_header_bytes=MAX_HEADER_BYTES
    )
    return app
