"""Two ``lastseen serve`` processes sharing one PostgreSQL database."""

import os
import secrets

import httpx

from helpers import ENCRYPTION_KEY, PASSWORD, Serve


def test_revocation_seen_by_both_processes(postgres_database: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTSEEN_")}
    env.update(
        LASTSEEN_DATABASE_URL=postgres_database,
        LASTSEEN_SECRET_KEY="sk_test_two_processes",
        LASTSEEN_ENCRYPTION_KEY=ENCRYPTION_KEY,
    )
    first, second = Serve(env), Serve(env)
    try:
        first.wait_ready()
        second.wait_ready()
        # The database outlives this test, so the address must be new.
        email = f"ada-{secrets.token_hex(4)}@example.com"
        created = httpx.post(
            f"{first.url}/v1/users",
            json={"email_address": [email], "password": PASSWORD},
            headers={"authorization": "Bearer sk_test_two_processes"},
        )
        sign_in = {"identifier": email, "password": PASSWORD}

        with httpx.Client() as laptop, httpx.Client() as phone:
            laptop.post(f"{first.url}/v1/client/sign_ins", data=sign_in)
            phone_session = phone.post(f"{first.url}/v1/client/sign_ins", data=sign_in).json()[
                "response"
            ]["created_session_id"]
            before = phone.get(f"{second.url}/v1/me/sessions/active")
            # The first process now keeps the phone's requester for reads, for up to 1 s.
            before_first = phone.get(f"{first.url}/v1/me/sessions/active")

            revoked = laptop.post(f"{second.url}/v1/me/sessions/{phone_session}/revoke")
            on_second = phone.get(f"{second.url}/v1/me/sessions/active")
            # Writes check the database, so the other process rejects them at once.
            write_on_first = phone.post(f"{first.url}/v1/me/sessions/revoke_others")
    finally:
        first.stop()
        second.stop()

    assert created.status_code == 200
    assert before.status_code == 200
    assert before_first.status_code == 200
    assert revoked.json()["response"]["status"] == "revoked"
    assert on_second.status_code == 401
    assert write_on_first.status_code == 401
