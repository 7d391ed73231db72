"""Django settings for the peer project, chosen by ``BENCH_PEER`` and ``BENCH_PEER_DATABASE``.

Only what the session list needs is installed: auth, contenttypes and the peer app, with
the peer's session middleware and Django's AuthenticationMiddleware. For qsessions these
are the steps of its README. django-user-sessions ships no such steps in its package, so
it gets the same three pieces from its own modules: the app, the middleware and the engine.
"""

import os

PEERS = {
    "user_sessions": {
        "app": "user_sessions",
        "middleware": "user_sessions.middleware.SessionMiddleware",
        "engine": "user_sessions.backends.db",
    },
    "qsessions": {
        "app": "qsessions",
        "middleware": "qsessions.middleware.SessionMiddleware",
        # Of the db and cached_db engines that its README offers, cached_db saves a query
        # per request. Its cache is Django's default, an in-process LocMemCache.
        "engine": "qsessions.backends.cached_db",
    },
}

PEER = os.environ.get("BENCH_PEER", "user_sessions")
if PEER not in PEERS:
    raise RuntimeError(f"invalid BENCH_PEER {PEER!r}: expected one of {', '.join(PEERS)}")

# A throw-away benchmark project; this key signs nothing that outlives the run.
SECRET_KEY = "bench-peers-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "bench.peers.urls"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    PEERS[PEER]["app"],
]
MIDDLEWARE = [
    PEERS[PEER]["middleware"],
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_ENGINE = PEERS[PEER]["engine"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_PEER_DATABASE", "peer.db"),
        # The same journal settings as lastseen's SQLite engine.
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
