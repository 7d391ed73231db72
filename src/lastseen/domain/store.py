"""The storage protocol the service layer depends on; ``lastseen.store`` implements it."""

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from lastseen.domain.keys import SecretKey, SigningKey
from lastseen.domain.sessions import Activity, Session, SessionStatus
from lastseen.domain.users import Client, User


class IdentifierTaken(Exception):
    """Raised by ``add_user`` when another user already has one of the unique identifiers."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is taken")
        self.field = field


class Store(Protocol):
    # Users
    def add_user(self, user: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def find_user(self, identifier: str) -> User | None: ...
    def record_sign_in(self, user_id: str, now: datetime) -> None: ...
    def search_users(
        self,
        *,
        user_ids: Collection[str] = (),
        email_addresses: Collection[str] = (),
        usernames: Collection[str] = (),
        external_ids: Collection[str] = (),
        limit: int = 10,
        offset: int = 0,
    ) -> list[User]: ...
    def delete_user(self, user_id: str) -> bool: ...

    # Clients
    def add_client(self, client: Client) -> None: ...
    def get_client(self, client_id: str) -> Client | None: ...
    def find_client(self, token_hash: str) -> Client | None: ...
    def find_client_session(
        self, token_hash: str, session_id: str
    ) -> tuple[Client, Session | None] | None: ...
    def set_last_active_session(
        self, client_id: str, session_id: str | None, now: datetime
    ) -> None: ...

    # Sessions
    def add_session(self, session: Session, activity: Activity) -> None: ...
    def get_session(self, session_id: str) -> Session | None: ...
    def list_user_sessions(
        self, user_id: str, statuses: Collection[SessionStatus] | None = None
    ) -> list[Session]: ...
    def list_client_sessions(self, client_id: str) -> list[Session]: ...
    def search_sessions(
        self,
        *,
        now: datetime,
        user_id: str | None = None,
        client_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Session], int]: ...
    def set_status(
        self,
        session_ids: Sequence[str],
        status: SessionStatus,
        now: datetime,
        only_from: Collection[SessionStatus],
    ) -> int: ...

    def list_ended_since(self, since: datetime, limit: int) -> list[str]: ...

    # Activity
    def touch(self, session_id: str, activity_id: str, now: datetime) -> None: ...
    def add_activity(self, activity: Activity) -> None: ...

    # Maintenance
    def sweep(self, now: datetime, batch_size: int) -> int: ...


class KeyStore(Protocol):
    # Signing keys
    def add_signing_key(
        self, key: SigningKey, retire_others_at: datetime | None = None
    ) -> None: ...
    def list_signing_keys(self) -> list[SigningKey]: ...

    # Secret keys
    def add_secret_key(self, key: SecretKey) -> None: ...
    def find_secret_key(self, key_hash: str) -> SecretKey | None: ...
    def list_secret_keys(self) -> list[SecretKey]: ...
    def revoke_secret_key(self, key_id: str, now: datetime) -> bool: ...
