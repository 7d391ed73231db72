"""Clerk's JSON shapes: sessions, activities, clients, users. Times are Unix milliseconds."""

import json
import threading
from collections.abc import Iterable
from typing import Any

from lastseen.domain.clock import to_millis
from lastseen.domain.sessions import Activity, Session
from lastseen.domain.users import Client, User

JSON = dict[str, Any]

# The options Starlette's JSONResponse passes to json.dumps, in one encoder: json.dumps builds
# a new JSONEncoder on every call that passes options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def activity_json(activity: Activity) -> JSON:
    """Build a ``session_activity`` without its unknown facts, which Clerk omits too."""
    # Keys are tested one by one because this runs once per listed session, and filtering a
    # dict of all candidates was measurably slower (CPython 3.11).
    body: JSON = {"object": "session_activity", "id": activity.id, "is_mobile": activity.is_mobile}
    if activity.device_type is not None:
        body["device_type"] = activity.device_type
    if activity.browser_name is not None:
        body["browser_name"] = activity.browser_name
    if activity.browser_version is not None:
        body["browser_version"] = activity.browser_version
    if activity.ip_address is not None:
        body["ip_address"] = activity.ip_address
    if activity.city is not None:
        body["city"] = activity.city
    if activity.country is not None:
        body["country"] = activity.country

    # Extensions: Clerk's clients ignore keys they do not know.
    if activity.country_code is not None:
        body["country_code"] = activity.country_code
    if activity.os_name is not None:
        body["os_name"] = activity.os_name
    if activity.os_version is not None:
        body["os_version"] = activity.os_version
    if activity.device_category is not None:
        body["device_category"] = activity.device_category
    body["last_seen_at"] = to_millis(activity.last_seen_at)
    return body


def _session_base(session: Session) -> JSON:
    return {
        "object": "session",
        "id": session.id,
        "status": str(session.status),
        "expire_at": to_millis(session.expire_at),
        "abandon_at": to_millis(session.abandon_at),
        "last_active_at": to_millis(session.last_active_at),
        "last_active_organization_id": None,
        "actor": None,
        "tasks": None,
        "created_at": to_millis(session.created_at),
        "updated_at": to_millis(session.updated_at),
    }


def session_with_activities_json(session: Session) -> JSON:
    """Build an item of ``GET /v1/me/sessions/active``: no user, with ``latest_activity``."""
    body = _session_base(session)
    body.update(last_active_token=None, user=None, public_user_data=None)
    if session.latest_activity is not None:
        body["latest_activity"] = activity_json(session.latest_activity)
    return body


def session_list_body(sessions: Iterable[Session]) -> bytes:
    """Encode the JSON array of ``GET /v1/me/sessions/active``, byte for byte as JSONResponse."""
    return b"[" + b",".join(_encoded_item(session) for session in sessions) + b"]"


# Encoded list items by id() of their Session, which the entry keeps alive so that the id
# cannot be reused. Sessions are immutable, and the store hands out the same object for a
# row read again, so identity finds an item without hashing every field. About 1 KiB each.
_ENCODED_ITEMS: dict[int, tuple[Session, bytes]] = {}
_MAX_ENCODED_ITEMS = 4096
_ENCODED_ITEMS_LOCK = threading.Lock()  # PostgreSQL deployments serve from worker threads


def _encoded_item(session: Session) -> bytes:
    entry = _ENCODED_ITEMS.get(id(session))
    if entry is not None and entry[0] is session:
        return entry[1]

    encoded = _ENCODER.encode(session_with_activities_json(session)).encode("utf-8")
    with _ENCODED_ITEMS_LOCK:
        if len(_ENCODED_ITEMS) >= _MAX_ENCODED_ITEMS:
            # Dicts keep insertion order, so this drops the oldest entry.
            del _ENCODED_ITEMS[next(iter(_ENCODED_ITEMS))]
        _ENCODED_ITEMS[id(session)] = (session, encoded)
    return encoded


def frontend_session_json(session: Session, user: User | None, *, activity: bool = False) -> JSON:
    """Build a frontend API session, with its user and public user data."""
    body = _session_base(session)
    body.update(
        last_active_token=None,
        user=None if user is None else user_json(user),
        public_user_data=None if user is None else public_user_data_json(user),
        factor_verification_age=None,
    )
    if activity and session.latest_activity is not None:
        body["latest_activity"] = activity_json(session.latest_activity)
    return body


def backend_session_json(session: Session) -> JSON:
    """Build a backend API session: ids of user and client, no user object."""
    body = _session_base(session)
    body.update(user_id=session.user_id, client_id=session.client_id, latest_activity=None)
    if session.latest_activity is not None:
        body["latest_activity"] = activity_json(session.latest_activity)
    return body


def client_json(
    client: Client, sessions: list[Session], users: dict[str, User], cookie_expires_at: int | None
) -> JSON:
    return {
        "object": "client",
        "id": client.id,
        "sessions": [
            frontend_session_json(session, users.get(session.user_id)) for session in sessions
        ],
        "sign_in": None,
        "sign_up": None,
        "last_active_session_id": client.last_active_session_id,
        "last_authentication_strategy": None,
        "cookie_expires_at": cookie_expires_at,
        "captcha_bypass": False,
        "created_at": to_millis(client.created_at),
        "updated_at": to_millis(client.updated_at),
    }


def public_user_data_json(user: User) -> JSON:
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "image_url": "",
        "has_image": False,
        "identifier": user.identifier,
        "user_id": user.id,
        "username": user.username,
    }


def _email_address_id(user: User) -> str:
    # One email address per user, so its id is derived from the user's id.
    return "idn_" + user.id.removeprefix("user_")


def user_json(user: User) -> JSON:
    """Clerk's full user object; features lastseen lacks are empty lists, nulls or false."""
    created, updated = to_millis(user.created_at), to_millis(user.updated_at)
    emails = []
    if user.email_address:
        emails.append(
            {
                "object": "email_address",
                "id": _email_address_id(user),
                "email_address": user.email_address,
                "reserved": False,
                "verification": None,
                "linked_to": [],
                "created_at": created,
                "updated_at": updated,
            }
        )
    last_sign_in = None if user.last_sign_in_at is None else to_millis(user.last_sign_in_at)
    return {
        "object": "user",
        "id": user.id,
        "external_id": user.external_id,
        "primary_email_address_id": _email_address_id(user) if user.email_address else None,
        "primary_phone_number_id": None,
        "primary_web3_wallet_id": None,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "image_url": "",
        "profile_image_url": "",
        "has_image": False,
        "public_metadata": {},
        "private_metadata": {},
        "unsafe_metadata": {},
        "email_addresses": emails,
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": user.password_hash is not None,
        "two_factor_enabled": False,
        "totp_enabled": False,
        "backup_code_enabled": False,
        "mfa_enabled_at": None,
        "mfa_disabled_at": None,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": last_sign_in,
        "banned": False,
        "locked": False,
        "lockout_expires_in_seconds": None,
        "verification_attempts_remaining": None,
        "delete_self_enabled": True,
        "create_organization_enabled": False,
        "last_active_at": last_sign_in,
        "legal_accepted_at": None,
        "created_at": created,
        "updated_at": updated,
    }
