"""Migrate, seed and serve the peer project: ``python -m bench.peers.serve --peer NAME``.

The database gets one user with 10 sessions, created through the peer's SessionStore as
a sign-in would create them (without a password check). The requester's session key is
written to ``--seed-file`` as JSON before the server starts listening.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def _seed(user_agents: list[str], addresses: list[str], requester_agent: str) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.utils.module_loading import import_string

    store_class = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    user = User(username="bench")
    user.set_unusable_password()
    user.save()

    keys = []
    for index, (agent, address) in enumerate(zip(user_agents, addresses, strict=True)):
        # The requester's session matches the load generator's address and User-Agent,
        # so requests under load do not rewrite it.
        if index == 0:
            agent, address = requester_agent, "127.0.0.1"
        store = store_class(user_agent=agent, ip=address)
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save(must_create=True)
        keys.append(str(store.session_key))
    return keys[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", required=True, choices=("user_sessions", "qsessions"))
    parser.add_argument("--database", required=True, help="SQLite file to create")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--seed-file", required=True, help="where to write the session key")
    parser.add_argument("--seed", required=True, help="JSON: user_agents, addresses, requester")
    args = parser.parse_args()

    os.environ["BENCH_PEER"] = args.peer
    os.environ["BENCH_PEER_DATABASE"] = args.database
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers.settings"

    import django
    import uvicorn
    from django.core.asgi import get_asgi_application
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    seed = json.loads(args.seed)
    session_key = _seed(seed["user_agents"], seed["addresses"], seed["requester"])
    Path(args.seed_file).write_text(json.dumps({"session_key": session_key}))

    uvicorn.run(
        get_asgi_application(),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,
        log_level="warning",
        # Django's ASGI handler does not implement the lifespan protocol.
        lifespan="off",
    )


if __name__ == "__main__":
    main()
