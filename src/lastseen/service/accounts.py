"""Account use-cases: create users and sign them in with a password."""

import logging
import re
import secrets
from dataclasses import dataclass

from lastseen import errors
from lastseen.domain import ids
from lastseen.domain.sessions import LIVE_STATUSES, Session
from lastseen.domain.store import IdentifierTaken
from lastseen.domain.users import Client, User
from lastseen.service.activity import RequestFacts
from lastseen.service.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from lastseen.service.sessions import Sessions, hash_token

logger = logging.getLogger("lastseen.accounts")

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{4,64}$")


@dataclass(frozen=True, slots=True)
class SignIn:
    """A completed password sign-in."""

    user: User
    client: Client
    session: Session
    #: The new client token when the sign-in created the client, else None.
    client_token: str | None


def user_not_found(user_id: str) -> errors.ServiceError:
    return errors.ServiceError(
        404, "resource_not_found", "User not found", f"No user was found with id {user_id}"
    )


def identifier_exists(name: str) -> errors.ServiceError:
    return errors.ServiceError(
        422,
        "form_identifier_exists",
        "That identifier is taken",
        f"That {name.replace('_', ' ')} is taken. Please try another.",
        {"param_name": name},
    )


def incorrect_credentials() -> errors.ServiceError:
    # One error for an unknown identifier and a wrong password, so that sign-in does not
    # tell which identifiers have accounts.
    return errors.ServiceError(
        422,
        "form_password_incorrect",
        "Password is incorrect",
        "The identifier or password is incorrect. Try again.",
        {"param_name": "password"},
    )


class Accounts:
    """Creates users and signs them in, starting sessions through :class:`Sessions`."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.store = sessions.store

    def create_user(
        self,
        *,
        password: str | None,
        email_address: str | None = None,
        username: str | None = None,
        external_id: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> User:
        """Create a user with an email address or a username, and a password."""
        email_address = email_address.strip() if email_address else None
        username = username.strip() if username else None
        if not email_address and not username:
            raise errors.param_missing("email_address")
        if email_address and not _EMAIL.match(email_address):
            raise errors.param_invalid("email_address", "must be a valid email address.")
        if username and not _USERNAME.match(username):
            raise errors.param_invalid(
                "username", "must be 4 to 64 letters, digits, '_', '.' or '-'."
            )
        _check_password(password)

        for name, value in (("email_address", email_address), ("username", username)):
            if value and self.store.find_user(value) is not None:
                raise identifier_exists(name)

        now = self.sessions.clock()
        user = User(
            id=ids.new_id(ids.USER),
            email_address=email_address,
            username=username,
            password_hash=hash_password(password) if password else None,
            external_id=external_id or None,
            first_name=first_name or None,
            last_name=last_name or None,
            created_at=now,
            updated_at=now,
        )
        try:
            self.store.add_user(user)
        except IdentifierTaken as exc:
            # Another request took the identifier after the checks above, or it is the
            # external id, which only the database checks.
            raise identifier_exists(exc.field) from None
        logger.info("user created user_id=%s", user.id)
        return user

    def sign_in(
        self,
        *,
        identifier: str,
        password: str,
        client_token: str | None,
        facts: RequestFacts,
    ) -> SignIn:
        """Check a password and start a session on the caller's client, creating the client."""
        user = self.store.find_user(identifier) if identifier else None
        # The hash is checked even for an unknown user, so both failures take the same time.
        if not verify_password(user.password_hash if user else None, password) or user is None:
            logger.info("sign-in failed")
            raise incorrect_credentials()

        client = self.sessions.find_client(client_token)
        new_token = None
        if client is None:
            client, new_token = self.new_client()

        now = self.sessions.clock()
        for session in self.store.list_client_sessions(client.id):
            if session.user_id == user.id and session.status_at(now) in LIVE_STATUSES:
                raise errors.ServiceError(
                    400,
                    "session_exists",
                    "You're already signed in",
                    "This client already has an active session for this user.",
                    {"session_id": session.id},
                )

        session = self.sessions.create_session(user, client, facts)
        self.store.record_sign_in(user.id, now)
        self.sessions.requesters.drop([user.id])
        client = self.store.get_client(client.id) or client
        return SignIn(user=user, client=client, session=session, client_token=new_token)

    def start_session(self, user_id: str, facts: RequestFacts) -> Session:
        """Start a session for a user on a new client, as the backend API does for host apps."""
        user = self.store.get_user(user_id)
        if user is None:
            raise user_not_found(user_id)
        client, _token = self.new_client()
        return self.sessions.create_session(user, client, facts)

    def delete_user(self, user_id: str) -> None:
        """Revoke the user's sessions, then delete the user with all sessions and activity."""
        if self.store.get_user(user_id) is None:
            raise user_not_found(user_id)
        revoked = self.sessions.revoke_user_sessions(user_id)
        self.store.delete_user(user_id)
        self.sessions.requesters.drop([user_id])
        logger.info("user deleted user_id=%s revoked_sessions=%d", user_id, revoked)

    def new_client(self) -> tuple[Client, str]:
        """Create a client and return it with its token, which is stored only as a hash."""
        token = secrets.token_urlsafe(32)
        now = self.sessions.clock()
        client = Client(
            id=ids.new_id(ids.CLIENT),
            token_hash=hash_token(token),
            created_at=now,
            updated_at=now,
        )
        self.store.add_client(client)
        return client, token


def _check_password(password: str | None) -> None:
    if not password:
        raise errors.param_missing("password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.ServiceError(
            422,
            "form_password_length_too_short",
            "Passwords must be 8 characters or more.",
            f"Passwords must be {MIN_PASSWORD_LENGTH} characters or more.",
            {"param_name": "password"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise errors.ServiceError(
            422,
            "form_password_length_too_long",
            "Passwords must be 256 characters or fewer.",
            f"Passwords must be {MAX_PASSWORD_LENGTH} characters or fewer.",
            {"param_name": "password"},
        )
