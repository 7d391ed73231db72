"""Users and clients: who signs in, and the browser or app installation they sign in on."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in with an email address or username and a password."""

    id: str
    email_address: str | None
    username: str | None
    password_hash: str | None
    external_id: str | None
    first_name: str | None
    last_name: str | None
    created_at: datetime
    updated_at: datetime
    last_sign_in_at: datetime | None = None

    @property
    def identifier(self) -> str:
        """The identifier shown for the user: the email address, else the username."""
        return self.email_address or self.username or self.id


@dataclass(frozen=True, slots=True)
class Client:
    """One browser or app installation, known by the hash of its client token."""

    id: str
    token_hash: str
    created_at: datetime
    updated_at: datetime
    last_active_session_id: str | None = None
