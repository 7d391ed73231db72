"""A stopped server writes the activity it still held in memory."""

import os
from pathlib import Path

import httpx
from sqlalchemy import select

from helpers import ENCRYPTION_KEY, PASSWORD, Serve
from lastseen.store.engine import make_engine
from lastseen.store.tables import session_activities, sessions

SECRET_KEY = "sk_test_shutdown"


def test_stop_writes_pending_activity(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTSEEN_")}
    database_url = f"sqlite:///{tmp_path / 'lastseen.db'}"
    env.update(
        LASTSEEN_DATABASE_URL=database_url,
        LASTSEEN_SECRET_KEY=SECRET_KEY,
        LASTSEEN_ENCRYPTION_KEY=ENCRYPTION_KEY,
        # Far longer than the test, so only the shutdown can write the activity.
        LASTSEEN_ACTIVITY_FLUSH_MS="10000",
    )
    server = Serve(env)
    try:
        server.wait_ready()
        with httpx.Client(
            base_url=server.url, headers={"authorization": f"Bearer {SECRET_KEY}"}, timeout=10
        ) as admin:
            user = admin.post(
                "/v1/users", json={"email_address": ["ada@example.com"], "password": PASSWORD}
            ).json()
            session = admin.post(
                "/v1/sessions", json={"user_id": user["id"], "ip_address": "81.2.69.160"}
            ).json()
            # The backend touch records the new address without reading the session list,
            # so the activity stays in memory until the server stops.
            touched = admin.post(
                f"/v1/sessions/{session['id']}/touch", json={"ip_address": "89.160.20.112"}
            )
    finally:
        output = server.stop()

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            latest = connection.execute(
                select(session_activities.c.ip_address)
                .join(sessions, sessions.c.latest_activity_id == session_activities.c.id)
                .where(sessions.c.id == session["id"])
            ).scalar_one()
    finally:
        engine.dispose()

    assert touched.status_code == 200, touched.text
    assert latest == "89.160.20.112", output
