"""The ``lastseen`` command: serve, migrate, users, sessions, sweep."""

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy import Engine

from lastseen.domain.clock import system_clock
from lastseen.enrich.geoip import GeoIP, bundled_geolite2_path
from lastseen.errors import ConfigurationError, ServiceError
from lastseen.service.accounts import Accounts
from lastseen.service.activity import Enricher
from lastseen.service.sessions import Sessions
from lastseen.service.tokens import KeyRing, SecretKeys
from lastseen.settings import Settings
from lastseen.store.engine import make_engine
from lastseen.store.schema import migrate
from lastseen.store.sql import SQLStore
from lastseen.tokens.signing import resolve_encryption_key

logger = logging.getLogger("lastseen")


def load_geoip(settings: Settings) -> GeoIP | None:
    """Open the configured GeoIP database, else the bundled GeoLite2 file, else none."""
    if settings.geoip_db:
        try:
            geoip = GeoIP(settings.geoip_db)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"invalid LASTSEEN_GEOIP_DB: {exc}") from exc
        info = geoip.info
        logger.info("GeoIP on: %s (%s, built %s)", info.path, info.database_type, info.build_date)
        return geoip

    bundled = bundled_geolite2_path()
    if bundled is None:
        logger.warning(
            "GeoIP off: city and country stay empty; set LASTSEEN_GEOIP_DB to a City .mmdb "
            "file or install lastseen[geoip]"
        )
        return None

    geoip = GeoIP(bundled)
    logger.warning(
        "GeoIP on: the GeoLite2-City file bundled by maxminddb-geolite2, built %s; its "
        "locations are dated, so set LASTSEEN_GEOIP_DB to a current file for production",
        geoip.info.build_date,
    )
    return geoip


def _services(
    settings: Settings, geoip: GeoIP | None = None, engine: Engine | None = None
) -> Accounts:
    engine = engine or make_engine(settings.database_url)
    migrate(engine)
    sessions = Sessions(
        SQLStore(engine),
        Enricher(geoip),
        lifetimes=settings.lifetimes,
        touch_interval=settings.touch_interval,
        clock=system_clock,
    )
    return Accounts(sessions)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from lastseen.http.app import create_app

    geoip = load_geoip(settings)
    engine = make_engine(settings.database_url)
    accounts = _services(settings, geoip, engine)
    if args.demo:
        from lastseen.demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

        seed_demo(accounts)
        print(
            f"Demo user: {DEMO_EMAIL}  password: {DEMO_PASSWORD}  "
            f"(sign in at http://{args.host}:{args.port})",
            flush=True,
        )

    app = create_app(settings, engine=engine, geoip=geoip)
    logger.info(
        "lastseen listening on http://%s:%d database=%s", args.host, args.port, _safe_url(settings)
    )
    # Proxy headers are handled by lastseen's trusted-proxy rules, not by uvicorn's.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, log_config=None)
    return 0


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    migrate(make_engine(settings.database_url))
    print(f"database is up to date: {_safe_url(settings)}")
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or os.environ.get("LASTSEEN_USER_PASSWORD")
    if password is None:
        password = getpass.getpass("Password: ")
    user = _services(settings).create_user(
        email_address=args.email,
        username=args.username,
        password=password,
        external_id=args.external_id,
        first_name=args.first_name,
        last_name=args.last_name,
    )
    print(user.id)
    return 0


def cmd_sessions_list(args: argparse.Namespace, settings: Settings) -> int:
    accounts = _services(settings)
    user = accounts.store.get_user(args.user) or accounts.store.find_user(args.user)
    if user is None:
        print(f"no user with id, email address or username {args.user!r}", file=sys.stderr)
        return 1

    sessions = (
        accounts.sessions.list_sessions(user.id)
        if args.all
        else accounts.sessions.list_active_sessions(user.id)
    )
    print(
        f"{'SESSION':<33} {'STATUS':<9} {'LAST ACTIVE (UTC)':<19} {'BROWSER':<22} "
        f"{'DEVICE':<18} {'IP':<39} LOCATION"
    )
    for session in sessions:
        activity = session.latest_activity
        browser = device = ip = location = ""
        if activity is not None:
            browser = " ".join(filter(None, (activity.browser_name, activity.browser_version)))
            device = activity.device_type or ""
            ip = activity.ip_address or ""
            location = ", ".join(filter(None, (activity.city, activity.country)))
        print(
            f"{session.id:<33} {session.status:<9} "
            f"{session.last_active_at:%Y-%m-%d %H:%M:%S} {browser:<22.22} {device:<18.18} "
            f"{ip:<39} {location}"
        )
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    changed = _services(settings).sessions.sweep(batch_size=args.batch_size)
    print(f"{changed} sessions marked expired or abandoned")
    return 0


def cmd_config(_args: argparse.Namespace, settings: Settings) -> int:
    """Print the effective settings, with secrets masked."""
    for name, value in settings.describe().items():
        print(f"{name}={value}")
    return 0


def _key_store(settings: Settings) -> SQLStore:
    engine = make_engine(settings.database_url)
    migrate(engine)
    return SQLStore(engine)


def cmd_keys_create_secret(args: argparse.Namespace, settings: Settings) -> int:
    key, plain = SecretKeys(_key_store(settings)).create(args.label)
    print(plain)
    print(f"created secret key {key.id}; it is shown only now, so store it safely", file=sys.stderr)
    return 0


def cmd_keys_list_secrets(_args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'ID':<31} {'CREATED (UTC)':<19} {'REVOKED (UTC)':<19} LABEL")
    for key in SecretKeys(_key_store(settings)).list():
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M:%S}" if key.revoked_at else "-"
        print(f"{key.id:<31} {key.created_at:%Y-%m-%d %H:%M:%S} {revoked:<19} {key.label or ''}")
    return 0


def cmd_keys_revoke_secret(args: argparse.Namespace, settings: Settings) -> int:
    if not SecretKeys(_key_store(settings)).revoke(args.key_id):
        print(f"lastseen: no unrevoked secret key with id {args.key_id!r}", file=sys.stderr)
        return 1
    print(f"revoked secret key {args.key_id}")
    return 0


def cmd_keys_rotate(_args: argparse.Namespace, settings: Settings) -> int:
    encryption_key = resolve_encryption_key(settings.encryption_key, settings.encryption_key_file)
    ring = KeyRing(_key_store(settings), encryption_key)
    ring.jwks()
    key = ring.rotate()
    print(
        f"new signing key {key.kid}; earlier keys stay in the JWKS, so their tokens verify "
        "until they expire. Servers switch within 30 seconds."
    )
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lastseen",
        description="A session service: sign in, see every device, revoke. "
        "Settings come from LASTSEEN_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="apply migrations and serve the HTTP API")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--demo", action="store_true", help="create a demo user signed in on ten devices"
    )
    serve.set_defaults(handler=cmd_serve)

    config = commands.add_parser("config", help="print the effective settings, secrets masked")
    config.set_defaults(handler=cmd_config)

    migrate_ = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_.set_defaults(handler=cmd_migrate)

    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = users.add_parser("create", help="create a user; prints its id")
    create.add_argument("--email", help="email address")
    create.add_argument("--username", help="username (4 to 64 letters, digits, _ . -)")
    create.add_argument(
        "--password",
        help="password (default: LASTSEEN_USER_PASSWORD, else asked for on the terminal)",
    )
    create.add_argument("--external-id", help="the host app's own id for the user")
    create.add_argument("--first-name")
    create.add_argument("--last-name")
    create.set_defaults(handler=cmd_users_create)

    sessions = commands.add_parser("sessions", help="inspect sessions").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    list_ = sessions.add_parser("list", help="list a user's sessions with their latest activity")
    list_.add_argument("--user", required=True, help="user id, email address or username")
    list_.add_argument("--all", action="store_true", help="include sessions that are not active")
    list_.set_defaults(handler=cmd_sessions_list)

    keys = commands.add_parser("keys", help="manage secret keys and signing keys").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create_secret = keys.add_parser(
        "create-secret", help="create a backend API secret key; prints it once"
    )
    create_secret.add_argument("--label", help="a note to recognise the key by")
    create_secret.set_defaults(handler=cmd_keys_create_secret)
    keys.add_parser("list-secrets", help="list secret keys (ids, never the keys)").set_defaults(
        handler=cmd_keys_list_secrets
    )
    revoke_secret = keys.add_parser("revoke-secret", help="revoke a secret key by id")
    revoke_secret.add_argument("key_id", help="the key's id, from list-secrets")
    revoke_secret.set_defaults(handler=cmd_keys_revoke_secret)
    keys.add_parser("rotate", help="make a new session-token signing key current").set_defaults(
        handler=cmd_keys_rotate
    )

    sweep = commands.add_parser("sweep", help="persist expired and abandoned statuses")
    sweep.add_argument(
        "--batch-size", type=int, default=500, help="sessions per transaction (default 500)"
    )
    sweep.set_defaults(handler=cmd_sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        result: int = args.handler(args, settings)
    except ConfigurationError as exc:
        print(f"lastseen: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"lastseen: {exc.long_message or exc.message}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
