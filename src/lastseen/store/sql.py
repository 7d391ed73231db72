"""The SQL store: the storage protocol over SQLAlchemy Core, for SQLite and PostgreSQL."""

import functools
import json
import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from lastseen.domain.clock import from_millis, to_millis
from lastseen.domain.keys import SecretKey, SigningKey
from lastseen.domain.sessions import LIVE_STATUSES, Activity, Session, SessionStatus
from lastseen.domain.store import IdentifierTaken
from lastseen.domain.users import Client, User
from lastseen.store.activity_buffer import ActivityBuffer, Batch, SessionWrite
from lastseen.store.prepared import Prepared
from lastseen.store.tables import (
    clients,
    secret_keys,
    session_activities,
    sessions,
    signing_keys,
    users,
)

logger = logging.getLogger("lastseen.store")

# Columns in the order of the dataclasses' fields, so that rows are read by position,
# because reading a row by column name costs more than building the object.
_USER_COLUMNS = [
    users.c[name]
    for name in (
        "id",
        "email_address",
        "username",
        "password_hash",
        "external_id",
        "first_name",
        "last_name",
        "created_at",
        "updated_at",
        "last_sign_in_at",
    )
]
_CLIENT_COLUMNS = [
    clients.c[name]
    for name in ("id", "token_hash", "created_at", "updated_at", "last_active_session_id")
]
_SESSION_COLUMNS = [
    sessions.c[name]
    for name in (
        "id",
        "user_id",
        "client_id",
        "status",
        "created_at",
        "updated_at",
        "last_active_at",
        "expire_at",
        "abandon_at",
        "inactivity_timeout",
    )
]
# The facts of an activity that sessions.latest_* copy, in the order of Activity's fields.
# An activity's facts never change, but its last_seen_at, copied too, does.
_ACTIVITY_FACTS = (
    "ip_address",
    "user_agent",
    "browser_name",
    "browser_version",
    "os_name",
    "os_version",
    "device_type",
    "device_category",
    "is_mobile",
    "city",
    "country",
    "country_code",
    "first_seen_at",
)
_LATEST_COLUMNS = [
    sessions.c.latest_activity_id,
    *(sessions.c[f"latest_{name}"] for name in _ACTIVITY_FACTS),
    sessions.c.latest_last_seen_at,
]
_SESSION_WITH_ACTIVITY_COLUMNS = [*_SESSION_COLUMNS, *_LATEST_COLUMNS]
_SESSION_ORDER = (sessions.c.last_active_at.desc(), sessions.c.id.desc())
_STATUSES = {str(status): status for status in SessionStatus}


class _HotStatements:
    """The statements of the hot paths, compiled once for one engine."""

    def __init__(self, engine: Engine) -> None:
        def prepare(statement: Any) -> Prepared:
            return Prepared(engine, statement)

        with_activity = select(*_SESSION_WITH_ACTIVITY_COLUMNS)
        self.get_user = prepare(select(*_USER_COLUMNS).where(users.c.id == bindparam("id")))
        self.get_client = prepare(select(*_CLIENT_COLUMNS).where(clients.c.id == bindparam("id")))
        self.find_client = prepare(
            select(*_CLIENT_COLUMNS).where(clients.c.token_hash == bindparam("token_hash"))
        )
        self.get_session = prepare(with_activity.where(sessions.c.id == bindparam("id")))
        self.find_client_session = prepare(
            select(*_CLIENT_COLUMNS, *_SESSION_WITH_ACTIVITY_COLUMNS)
            .select_from(
                clients.outerjoin(
                    sessions,
                    and_(
                        sessions.c.id == bindparam("session_id"),
                        sessions.c.client_id == clients.c.id,
                    ),
                )
            )
            .where(clients.c.token_hash == bindparam("token_hash"))
        )
        # The lists are sorted in Python (SQLStore._sessions), because for ten sessions
        # SQLite's sorter cost about 6 µs more than sorting the objects afterwards.
        self.user_sessions = prepare(
            with_activity.where(sessions.c.user_id == bindparam("user_id"))
        )
        self.live_user_sessions = prepare(
            with_activity.where(
                sessions.c.user_id == bindparam("user_id"),
                or_(*(sessions.c.status == str(status) for status in sorted(LIVE_STATUSES))),
            )
        )
        self.client_sessions = prepare(
            with_activity.where(sessions.c.client_id == bindparam("client_id"))
        )
        # A write older than the stored time changes nothing, because another process that
        # buffered later activity of the same session has flushed it first.
        self.touch_activities = prepare(
            update(session_activities)
            .where(
                session_activities.c.id == bindparam("activity_id"),
                session_activities.c.last_seen_at <= bindparam("millis"),
            )
            .values(last_seen_at=bindparam("millis"))
        )
        self.insert_activity = prepare(
            insert(session_activities).values(
                {column: bindparam(column.name) for column in session_activities.c}
            )
        )
        # One statement for touched sessions and sessions with a new latest activity (the
        # activity id is NULL for a touch), so that a batch updates sessions in id order.
        # A touch keeps the copied facts, and a new activity replaces them. As for activities,
        # a write older than the stored last_active_at changes nothing.
        touch = cast(bindparam("activity_id"), String).is_(None)
        facts = {
            f"latest_{name}": case(
                (touch, sessions.c[f"latest_{name}"]),
                else_=bindparam(name, type_=session_activities.c[name].type),
            )
            for name in _ACTIVITY_FACTS
        }
        # The latest activity's time is read from its row, which this transaction has just
        # written, because a touch may be of an older activity than the latest.
        latest_id = func.coalesce(
            bindparam("activity_id", type_=String), sessions.c.latest_activity_id
        )
        latest_seen = (
            select(session_activities.c.last_seen_at)
            .where(session_activities.c.id == latest_id)
            .scalar_subquery()
        )
        self.update_sessions = prepare(
            update(sessions)
            .where(
                sessions.c.id == bindparam("session_id"),
                sessions.c.last_active_at <= bindparam("millis"),
            )
            .values(
                **facts,
                latest_activity_id=latest_id,
                latest_last_seen_at=func.coalesce(latest_seen, bindparam("millis")),
                last_active_at=bindparam("millis"),
                updated_at=bindparam("millis"),
            )
        )


class SQLStore:
    """Stores users, clients, sessions and activities through one SQLAlchemy engine.

    With ``activity_flush_interval`` (seconds), activity writes are buffered and written in
    batches (see lastseen.store.activity_buffer), and reads of sessions write what is
    pending first. Only a flush writes pending activity, so call ``close()`` before
    disposing of the engine.
    """

    def __init__(self, engine: Engine, *, activity_flush_interval: float | None = None) -> None:
        self.engine = engine
        self._hot = _HotStatements(engine)
        # Prepared statements run on the DBAPI cursor, so they raise the driver's errors.
        self._integrity_errors = (IntegrityError, engine.dialect.loaded_dbapi.IntegrityError)
        self._buffer = None
        # An in-memory SQLite database exists once per connection, and so once per thread:
        # the flushing thread would write to an empty one.
        in_memory = engine.dialect.name == "sqlite" and engine.url.database in (
            None,
            "",
            ":memory:",
        )
        if activity_flush_interval and not in_memory:
            self._buffer = ActivityBuffer(self._write_batch, flush_interval=activity_flush_interval)

    def close(self) -> None:
        """Write the pending activity and stop the thread that flushes it."""
        if self._buffer is not None:
            self._buffer.close()

    def flush(self) -> None:
        """Write the pending activity now."""
        if self._buffer is not None:
            self._buffer.flush()

    def _flush_pending(self, session_id: str) -> None:
        """Write the pending activity now if some of it is the session's."""
        if self._buffer is not None and self._buffer.is_pending(session_id):
            self._buffer.flush()

    # Users

    def add_user(self, user: User) -> None:
        """Insert ``user``; raise IdentifierTaken when an identifier belongs to another user."""
        try:
            self._insert_user(user)
        except IntegrityError:
            field = self._taken_identifier(user)
            if field is None:
                raise
            raise IdentifierTaken(field) from None

    def _taken_identifier(self, user: User) -> str | None:
        conditions = {
            "email_address": func.lower(users.c.email_address) == func.lower(user.email_address),
            "username": users.c.username == user.username,
            "external_id": users.c.external_id == user.external_id,
        }
        for field, condition in conditions.items():
            if getattr(user, field) and self._one_user(condition) is not None:
                return field
        return None

    def _insert_user(self, user: User) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(users).values(
                    id=user.id,
                    email_address=user.email_address,
                    username=user.username,
                    password_hash=user.password_hash,
                    external_id=user.external_id,
                    first_name=user.first_name,
                    last_name=user.last_name,
                    created_at=to_millis(user.created_at),
                    updated_at=to_millis(user.updated_at),
                    last_sign_in_at=None,
                )
            )

    def get_user(self, user_id: str) -> User | None:
        with self.engine.connect() as connection:
            row = self._hot.get_user.fetch_one(connection, id=user_id)
        return None if row is None else _user(row)

    def find_user(self, identifier: str) -> User | None:
        identifier = identifier.strip()
        return self._one_user(
            or_(
                # The database lowers both sides: SQLite's lower() changes only ASCII letters,
                # so comparing with Python's str.lower() would miss stored non-ASCII capitals.
                func.lower(users.c.email_address) == func.lower(identifier),
                users.c.username == identifier,
            )
        )

    def search_users(
        self,
        *,
        user_ids: Collection[str] = (),
        email_addresses: Collection[str] = (),
        usernames: Collection[str] = (),
        external_ids: Collection[str] = (),
        limit: int = 10,
        offset: int = 0,
    ) -> list[User]:
        """Return users matching every given filter, newest first."""
        conditions = []
        if user_ids:
            conditions.append(users.c.id.in_(list(user_ids)))
        if email_addresses:
            lowered = [func.lower(address) for address in email_addresses]
            conditions.append(func.lower(users.c.email_address).in_(lowered))
        if usernames:
            conditions.append(users.c.username.in_(list(usernames)))
        if external_ids:
            conditions.append(users.c.external_id.in_(list(external_ids)))

        query = (
            select(*_USER_COLUMNS)
            .where(and_(true(), *conditions))
            .order_by(users.c.created_at.desc(), users.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            return [_user(row) for row in connection.execute(query)]

    def delete_user(self, user_id: str) -> bool:
        """Delete a user; the database deletes the user's sessions and activities with it."""
        self.flush()
        with self.engine.begin() as connection:
            result = connection.execute(delete(users).where(users.c.id == user_id))
        return result.rowcount == 1

    def record_sign_in(self, user_id: str, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(users).where(users.c.id == user_id).values(last_sign_in_at=to_millis(now))
            )

    def _one_user(self, condition: Any) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(*_USER_COLUMNS).where(condition).limit(1)).first()
        return None if row is None else _user(row)

    # Clients

    def add_client(self, client: Client) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(clients).values(
                    id=client.id,
                    token_hash=client.token_hash,
                    last_active_session_id=client.last_active_session_id,
                    created_at=to_millis(client.created_at),
                    updated_at=to_millis(client.updated_at),
                )
            )

    def get_client(self, client_id: str) -> Client | None:
        with self.engine.connect() as connection:
            row = self._hot.get_client.fetch_one(connection, id=client_id)
        return None if row is None else _client(row)

    def find_client(self, token_hash: str) -> Client | None:
        with self.engine.connect() as connection:
            row = self._hot.find_client.fetch_one(connection, token_hash=token_hash)
        return None if row is None else _client(row)

    def find_client_session(
        self, token_hash: str, session_id: str
    ) -> tuple[Client, Session | None] | None:
        """Return the client with ``token_hash`` and its session ``session_id``, in one query.

        None when no client matches, and the session is None when the client has no such one.
        """
        self._flush_pending(session_id)
        with self.engine.connect() as connection:
            row = self._hot.find_client_session.fetch_one(
                connection, token_hash=token_hash, session_id=session_id
            )
        if row is None:
            return None

        split = len(_CLIENT_COLUMNS)
        session = None if row[split] is None else _session_from_tuple(row[split:])
        return _client(row[:split]), session

    def set_last_active_session(
        self, client_id: str, session_id: str | None, now: datetime
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(clients)
                .where(clients.c.id == client_id)
                .values(last_active_session_id=session_id, updated_at=to_millis(now))
            )

    # Sessions

    def add_session(self, session: Session, activity: Activity) -> None:
        with self.engine.begin() as connection:
            values = _activity_values(activity)
            connection.execute(insert(sessions).values(**_session_values(session, values)))
            connection.execute(insert(session_activities).values(**values))

    def get_session(self, session_id: str) -> Session | None:
        self._flush_pending(session_id)
        with self.engine.connect() as connection:
            row = self._hot.get_session.fetch_one(connection, id=session_id)
        return None if row is None else _session_from_tuple(row)

    def list_user_sessions(
        self, user_id: str, statuses: Collection[SessionStatus] | None = None
    ) -> list[Session]:
        self.flush()
        if statuses is None:
            return self._sessions(self._hot.user_sessions, user_id=user_id)
        if frozenset(statuses) == LIVE_STATUSES:
            return self._sessions(self._hot.live_user_sessions, user_id=user_id)

        query = (
            select(*_SESSION_WITH_ACTIVITY_COLUMNS)
            .where(sessions.c.user_id == user_id, sessions.c.status.in_([str(s) for s in statuses]))
            .order_by(*_SESSION_ORDER)
        )
        with self.engine.connect() as connection:
            return [_session(row) for row in connection.execute(query)]

    def list_client_sessions(self, client_id: str) -> list[Session]:
        self.flush()
        return self._sessions(self._hot.client_sessions, client_id=client_id)

    def set_status(
        self,
        session_ids: Sequence[str],
        status: SessionStatus,
        now: datetime,
        only_from: Collection[SessionStatus],
    ) -> int:
        if not session_ids:
            return 0
        with self.engine.begin() as connection:
            result = connection.execute(
                update(sessions)
                .where(
                    sessions.c.id.in_(list(session_ids)),
                    sessions.c.status.in_([str(s) for s in only_from]),
                )
                .values(status=str(status), updated_at=to_millis(now), ended_at=to_millis(now))
            )
        return result.rowcount

    def list_ended_since(self, since: datetime, limit: int) -> list[str]:
        """Return ids of sessions that stopped authenticating at or after ``since``."""
        query = (
            select(sessions.c.id)
            .where(sessions.c.ended_at >= to_millis(since))
            .order_by(sessions.c.ended_at)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def search_sessions(
        self,
        *,
        now: datetime,
        user_id: str | None = None,
        client_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Session], int]:
        """Return one page of sessions, newest first, and the total that match.

        ``status`` is matched as readers see it: a stored ``active`` session past its
        deadline counts as ``expired`` (or ``abandoned``), not ``active``.
        """
        self.flush()
        conditions = []
        if user_id is not None:
            conditions.append(sessions.c.user_id == user_id)
        if client_id is not None:
            conditions.append(sessions.c.client_id == client_id)
        if status is not None:
            conditions.append(_status_condition(status, to_millis(now)))
        condition = and_(true(), *conditions)

        page = (
            select(*_SESSION_WITH_ACTIVITY_COLUMNS)
            .where(condition)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(sessions).where(condition)
        with self.engine.connect() as connection:
            found = [_session(row) for row in connection.execute(page)]
            total = connection.execute(count).scalar_one()
        return found, total

    def _sessions(self, statement: Prepared, **values: Any) -> list[Session]:
        """Run a list statement and return its sessions, most recently active first."""
        with self.engine.connect() as connection:
            rows = statement.fetch_all(connection, **values)
        found = [_session_from_tuple(row) for row in rows]
        found.sort(key=_recent_first, reverse=True)
        return found

    # Activity

    def touch(self, session_id: str, activity_id: str, now: datetime) -> None:
        millis = to_millis(now)
        if self._buffer is not None:
            self._buffer.touch(session_id, activity_id, millis)
            return

        batch = Batch()
        batch.sessions[session_id] = SessionWrite(millis)
        batch.seen_activities[activity_id] = millis
        self._write_batch(batch)

    def add_activity(self, activity: Activity) -> None:
        values = _activity_values(activity)
        if self._buffer is not None:
            self._buffer.add_activity(values)
            return

        batch = Batch()
        batch.new_activities[activity.id] = values
        batch.sessions[activity.session_id] = SessionWrite(values["last_seen_at"], activity.id)
        self._write_batch(batch)

    def _write_batch(self, batch: Batch) -> None:
        try:
            with self.engine.begin() as connection:
                self._write_activity(connection, batch)
            return
        except self._integrity_errors:
            if len(batch.new_activities) <= 1 and self._buffer is None:
                raise

        # A session was deleted, with its user, while its activity waited. Insert the new
        # rows one at a time, drop those of missing sessions, then write the rest.
        for values in batch.new_activities.values():
            try:
                with self.engine.begin() as connection:
                    self._hot.insert_activity.execute(connection, **values)
            except self._integrity_errors:
                self._rewrite_activity(values)
        with self.engine.begin() as connection:
            self._write_activity(connection, batch, insert_new=False)

    def _rewrite_activity(self, values: dict[str, Any]) -> None:
        """Write the time of an activity whose insert failed, or log that it is dropped."""
        # A retried batch can contain rows that an earlier attempt of this fallback wrote.
        query = select(session_activities.c.id).where(session_activities.c.id == values["id"])
        with self.engine.begin() as connection:
            if connection.execute(query).first() is not None:
                self._hot.touch_activities.execute(
                    connection, activity_id=values["id"], millis=values["last_seen_at"]
                )
                return
        logger.info("activity dropped: session not found session_id=%s", values["session_id"])

    def _write_activity(
        self, connection: Connection, batch: Batch, *, insert_new: bool = True
    ) -> None:
        # Rows are locked in id order, so that processes flushing the same sessions at the
        # same time wait for each other instead of deadlocking on PostgreSQL.
        hot = self._hot
        if insert_new and batch.new_activities:
            inserts = [batch.new_activities[key] for key in sorted(batch.new_activities)]
            hot.insert_activity.execute_many(connection, inserts)
        if batch.seen_activities:
            hot.touch_activities.execute_many(
                connection,
                [
                    {"activity_id": activity_id, "millis": batch.seen_activities[activity_id]}
                    for activity_id in sorted(batch.seen_activities)
                ],
            )

        hot.update_sessions.execute_many(
            connection,
            [
                _session_update(session_id, write, batch)
                for session_id, write in sorted(batch.sessions.items())
            ],
        )

    # Maintenance

    def sweep(self, now: datetime, batch_size: int) -> int:
        """Persist the clock's ``expired`` and ``abandoned`` for up to ``batch_size`` sessions."""
        # A pending touch of an idle session can keep it from expiring.
        self.flush()
        millis = to_millis(now)
        live = [str(s) for s in LIVE_STATUSES]
        abandoned = and_(
            sessions.c.status.in_([*live, str(SessionStatus.EXPIRED)]),
            sessions.c.abandon_at <= millis,
        )
        expired = and_(
            sessions.c.status.in_(live),
            or_(
                sessions.c.expire_at <= millis,
                and_(
                    sessions.c.inactivity_timeout.is_not(None),
                    # The timeout is an INTEGER of seconds: widen it before converting to
                    # milliseconds, or PostgreSQL overflows on timeouts above 24 days.
                    sessions.c.last_active_at
                    + cast(sessions.c.inactivity_timeout, BigInteger) * 1000
                    <= millis,
                ),
            ),
        )

        changed = 0
        with self.engine.begin() as connection:
            for status, condition in (
                (SessionStatus.ABANDONED, abandoned),
                (SessionStatus.EXPIRED, expired),
            ):
                remaining = batch_size - changed
                if remaining <= 0:
                    break

                # SKIP LOCKED lets several sweepers share the work on PostgreSQL; SQLite
                # ignores it and serialises writers anyway.
                batch = select(sessions.c.id).where(condition).limit(remaining)
                ids = list(connection.execute(batch.with_for_update(skip_locked=True)).scalars())
                if ids:
                    connection.execute(
                        update(sessions)
                        .where(sessions.c.id.in_(ids), condition)
                        .values(status=str(status), updated_at=millis, ended_at=millis)
                    )
                changed += len(ids)
        return changed

    # Signing keys

    def add_signing_key(self, key: SigningKey, retire_others_at: datetime | None = None) -> None:
        """Insert ``key``; with ``retire_others_at``, the other current keys stop signing."""
        with self.engine.begin() as connection:
            if retire_others_at is not None:
                connection.execute(
                    update(signing_keys)
                    .where(signing_keys.c.retired_at.is_(None))
                    .values(retired_at=to_millis(retire_others_at))
                )
            connection.execute(
                insert(signing_keys).values(
                    kid=key.kid,
                    private_key=key.private_key,
                    public_jwk=json.dumps(key.public_jwk),
                    created_at=to_millis(key.created_at),
                    retired_at=None if key.retired_at is None else to_millis(key.retired_at),
                )
            )

    def list_signing_keys(self) -> list[SigningKey]:
        """Return every signing key, the newest first."""
        query = select(signing_keys).order_by(
            signing_keys.c.created_at.desc(), signing_keys.c.kid.desc()
        )
        with self.engine.connect() as connection:
            return [
                SigningKey(
                    kid=row.kid,
                    private_key=row.private_key,
                    public_jwk=json.loads(row.public_jwk),
                    created_at=from_millis(row.created_at),
                    retired_at=None if row.retired_at is None else from_millis(row.retired_at),
                )
                for row in connection.execute(query)
            ]

    # Secret keys

    def add_secret_key(self, key: SecretKey) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(secret_keys).values(
                    id=key.id,
                    key_hash=key.key_hash,
                    label=key.label,
                    created_at=to_millis(key.created_at),
                    revoked_at=None,
                )
            )

    def find_secret_key(self, key_hash: str) -> SecretKey | None:
        """Return the unrevoked secret key with ``key_hash``."""
        keys = self._secret_keys(
            and_(secret_keys.c.key_hash == key_hash, secret_keys.c.revoked_at.is_(None))
        )
        return keys[0] if keys else None

    def list_secret_keys(self) -> list[SecretKey]:
        return self._secret_keys(true())

    def revoke_secret_key(self, key_id: str, now: datetime) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(secret_keys)
                .where(secret_keys.c.id == key_id, secret_keys.c.revoked_at.is_(None))
                .values(revoked_at=to_millis(now))
            )
        return result.rowcount == 1

    def _secret_keys(self, condition: Any) -> list[SecretKey]:
        query = select(secret_keys).where(condition).order_by(secret_keys.c.created_at)
        with self.engine.connect() as connection:
            return [
                SecretKey(
                    id=row.id,
                    key_hash=row.key_hash,
                    label=row.label,
                    created_at=from_millis(row.created_at),
                    revoked_at=None if row.revoked_at is None else from_millis(row.revoked_at),
                )
                for row in connection.execute(query)
            ]


def _status_condition(status: SessionStatus, millis: int) -> Any:
    live = sessions.c.status.in_([str(s) for s in LIVE_STATUSES])
    abandoned = sessions.c.abandon_at <= millis
    idle = and_(
        sessions.c.inactivity_timeout.is_not(None),
        sessions.c.last_active_at + cast(sessions.c.inactivity_timeout, BigInteger) * 1000
        <= millis,
    )
    expired = or_(sessions.c.expire_at <= millis, idle)

    if status is SessionStatus.ABANDONED:
        clock_driven = sessions.c.status.in_([*(str(s) for s in LIVE_STATUSES), "expired"])
        return or_(sessions.c.status == "abandoned", and_(clock_driven, abandoned))
    if status is SessionStatus.EXPIRED:
        stored = and_(sessions.c.status == "expired", ~abandoned)
        return or_(stored, and_(live, ~abandoned, expired))
    if status in LIVE_STATUSES:
        return and_(sessions.c.status == str(status), ~abandoned, ~expired)
    return sessions.c.status == str(status)


def _user(row: Sequence[Any]) -> User:
    user_id, email, username, password_hash, external_id, first_name, last_name = row[:7]
    created_at, updated_at, last_sign_in_at = row[7:]
    return User(
        user_id,
        email,
        username,
        password_hash,
        external_id,
        first_name,
        last_name,
        from_millis(created_at),
        from_millis(updated_at),
        None if last_sign_in_at is None else from_millis(last_sign_in_at),
    )


def _client(row: Sequence[Any]) -> Client:
    client_id, token_hash, created_at, updated_at, last_active_session_id = row
    return Client(
        client_id,
        token_hash,
        from_millis(created_at),
        from_millis(updated_at),
        last_active_session_id,
    )


def _session_update(session_id: str, write: SessionWrite, batch: Batch) -> dict[str, Any]:
    """Parameters of ``update_sessions`` for one session's pending write."""
    parameters = {
        "session_id": session_id,
        "activity_id": write.latest_activity_id,
        "millis": write.last_active_at,
    }
    if write.latest_activity_id is None:
        parameters.update(_NO_FACTS)
    else:
        activity = batch.new_activities[write.latest_activity_id]
        parameters.update((name, activity[name]) for name in _ACTIVITY_FACTS)
    return parameters


_NO_FACTS = dict.fromkeys(_ACTIVITY_FACTS)


def _session_values(session: Session, activity: dict[str, Any]) -> dict[str, Any]:
    """Column values of a new session whose latest activity has the column ``activity``."""
    timeout = session.inactivity_timeout
    return {
        "id": session.id,
        "user_id": session.user_id,
        "client_id": session.client_id,
        "status": str(session.status),
        "created_at": to_millis(session.created_at),
        "updated_at": to_millis(session.updated_at),
        "last_active_at": to_millis(session.last_active_at),
        "expire_at": to_millis(session.expire_at),
        "abandon_at": to_millis(session.abandon_at),
        "inactivity_timeout": None if timeout is None else int(timeout.total_seconds()),
        "latest_activity_id": activity["id"],
        **{f"latest_{name}": activity[name] for name in _ACTIVITY_FACTS},
        "latest_last_seen_at": activity["last_seen_at"],
    }


def _activity_values(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "session_id": activity.session_id,
        "ip_address": activity.ip_address,
        "user_agent": activity.user_agent,
        "browser_name": activity.browser_name,
        "browser_version": activity.browser_version,
        "os_name": activity.os_name,
        "os_version": activity.os_version,
        "device_type": activity.device_type,
        "device_category": activity.device_category,
        "is_mobile": activity.is_mobile,
        "city": activity.city,
        "country": activity.country,
        "country_code": activity.country_code,
        "first_seen_at": to_millis(activity.first_seen_at),
        "last_seen_at": to_millis(activity.last_seen_at),
    }


def _session(row: Sequence[Any]) -> Session:
    """Build a session from a row of ``_SESSION_WITH_ACTIVITY_COLUMNS``."""
    (
        session_id,
        user_id,
        client_id,
        status,
        created_at,
        updated_at,
        last_active_at,
        expire_at,
        abandon_at,
        timeout,
    ) = row[:10]
    return Session(
        session_id,
        user_id,
        client_id,
        _STATUSES[status],
        from_millis(created_at),
        from_millis(updated_at),
        from_millis(last_active_at),
        from_millis(expire_at),
        from_millis(abandon_at),
        None if timeout is None else timedelta(seconds=timeout),
        _activity(session_id, row[10:]),
    )


# Sessions are immutable and a row determines its session, so rows read again (the same
# sessions listed on every page load) reuse the objects built before. The bound keeps the
# cache near 3 MiB (4,096 sessions with real User-Agents, measured with tracemalloc).
_session_from_tuple = functools.lru_cache(maxsize=4096)(_session)


def _recent_first(session: Session) -> tuple[datetime, str]:
    # The order of _SESSION_ORDER, for sorting with reverse=True.
    return session.last_active_at, session.id


def _activity(session_id: str, row: Sequence[Any]) -> Activity | None:
    """Build the latest activity from ``_LATEST_COLUMNS``, or None when the session has none."""
    activity_id, ip_address, user_agent = row[:3]
    browser_name, browser_version, os_name, os_version, device_type, category = row[3:9]
    is_mobile, city, country, country_code, first_seen_at, last_seen_at = row[9:]
    # A session stored before the copy existed may point at an activity that is gone, which
    # left nothing to copy.
    if activity_id is None or first_seen_at is None:
        return None

    return Activity(
        activity_id,
        session_id,
        ip_address,
        user_agent,
        browser_name,
        browser_version,
        os_name,
        os_version,
        device_type,
        category,
        bool(is_mobile),
        city,
        country,
        country_code,
        from_millis(first_seen_at),
        from_millis(last_seen_at),
    )
