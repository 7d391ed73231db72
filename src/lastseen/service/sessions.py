"""Session use-cases: authenticate, record activity, list, revoke, end, remove, sweep."""

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from lastseen import errors
from lastseen.domain import ids
from lastseen.domain.clock import Clock, system_clock
from lastseen.domain.sessions import (
    DETACHED_STATUSES,
    LIVE_STATUSES,
    Activity,
    Lifetimes,
    Session,
    SessionStatus,
    new_session,
)
from lastseen.domain.store import Store
from lastseen.domain.users import Client, User
from lastseen.enrich.useragent import parse_user_agent
from lastseen.service.activity import ActivityFacts, Enricher, RequestFacts
from lastseen.service.requesters import Requester, RequesterCache

logger = logging.getLogger("lastseen.sessions")

_NO_CLIENT = "No signed-in client was found for this request."


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a client token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class Sessions:
    """The session use-cases over one store, with the instance's lifetimes and clock."""

    def __init__(
        self,
        store: Store,
        enricher: Enricher,
        *,
        lifetimes: Lifetimes | None = None,
        touch_interval: timedelta = timedelta(seconds=60),
        requester_ttl: timedelta = timedelta(seconds=1),
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.enricher = enricher
        self.lifetimes = lifetimes or Lifetimes()
        self.touch_interval = touch_interval
        self.clock = clock
        self.requesters = RequesterCache(ttl=requester_ttl.total_seconds())
        #: Called with the ids of sessions that stopped authenticating, after the write, so
        #: that caches of verified tokens can drop them (see lastseen.service.revocations).
        self.end_listeners: list[Callable[[Sequence[str]], None]] = []

    # Creating

    def create_session(self, user: User, client: Client, facts: RequestFacts) -> Session:
        """Start an active session for ``user`` on ``client``, with its first activity."""
        now = self.clock()
        session = new_session(
            session_id=ids.new_id(ids.SESSION),
            user_id=user.id,
            client_id=client.id,
            lifetimes=self.lifetimes,
            now=now,
        )
        activity = _activity(session.id, self.enricher.describe(facts), now)
        self.store.add_session(session, activity)
        self._set_current_session(client.id, session.id, now)
        logger.info(
            "session created session_id=%s user_id=%s client_id=%s",
            session.id,
            user.id,
            client.id,
        )
        return _with_activity(session, activity)

    # Authenticating

    def find_client(self, client_token: str | None) -> Client | None:
        if not client_token:
            return None
        return self.store.find_client(hash_token(client_token))

    def current_session(self, client: Client, requested_id: str | None = None) -> Session | None:
        """Return the client's live session ``requested_id``, else its last active one."""
        session_id = requested_id or client.last_active_session_id
        if session_id is None:
            return None
        session = self.store.get_session(session_id)
        if session is None or session.client_id != client.id:
            return None
        session = session.at(self.clock())
        return session if session.status in LIVE_STATUSES else None

    def authenticate(
        self,
        client_token: str | None,
        requested_id: str | None,
        facts: RequestFacts,
        *,
        cached: bool = False,
    ) -> Requester:
        """Resolve the signed-in caller and record the request as the session's activity.

        With ``cached``, a requester resolved in the last ``requester_ttl`` is reused, so
        only reads should pass it: see lastseen.service.requesters.
        """
        if not client_token:
            raise errors.authentication_invalid(_NO_CLIENT)

        key = (hash_token(client_token), requested_id)
        generation = self.requesters.generation()
        requester = self.requesters.get(key) if cached else None
        now = self.clock()
        if requester is None or not requester.session.is_live_at(now):
            requester = self._resolve(key, generation)

        # The session is live at now, so its stored status is current and needs no .at(now).
        session = self.record_activity(requester.session, facts)
        if session is not requester.session:
            requester = replace(requester, session=session)
            self.requesters.put(key, requester, since=generation)
        return requester

    def _resolve(self, key: tuple[str, str | None], generation: int) -> Requester:
        token_hash, requested_id = key
        client = self.store.find_client(token_hash)
        if client is None:
            raise errors.authentication_invalid(_NO_CLIENT)

        session = self.current_session(client, requested_id)
        if session is None:
            raise errors.authentication_invalid(
                "The requesting session is missing, not on this client, or no longer active."
            )

        user = self.store.get_user(session.user_id)
        if user is None:
            raise errors.authentication_invalid("The session's user no longer exists.")

        requester = Requester(client=client, session=session, user=user)
        self.requesters.put(key, requester, since=generation)
        return requester

    # Activity

    def record_activity(
        self, session: Session, facts: RequestFacts, *, force: bool = False
    ) -> Session:
        """Record a request on ``session``.

        A changed IP address or user agent starts a new activity row at once. Otherwise
        ``last_active_at`` is written at most once per touch interval, unless ``force``.
        """
        now = self.clock()
        latest = session.latest_activity

        # Parsing and the GeoIP lookup run only for a new row, not on every throttled request.
        if (
            latest is None
            or latest.ip_address != facts.stored_ip_address
            or latest.user_agent != facts.stored_user_agent
            or _hints_refine(latest, facts)
        ):
            activity = _activity(session.id, self.enricher.describe(facts), now)
            self.store.add_activity(activity)
            return _with_activity(session, activity, last_active_at=now)

        if force or now - session.last_active_at >= self.touch_interval:
            self.store.touch(session.id, latest.id, now)
            activity = replace(latest, last_seen_at=now)
            return _with_activity(session, activity, last_active_at=now)

        return session

    def report_activity(self, session_id: str, facts: RequestFacts) -> Session:
        """Record a host app's request on a live session, with the usual throttle."""
        session = self.get_session(session_id)
        if session is None:
            raise errors.session_not_found(session_id)
        if session.status not in LIVE_STATUSES:
            raise errors.invalid_action_for_session(session_id, "touch")
        return self.record_activity(session, facts)

    # Listing

    def list_active_sessions(self, user_id: str) -> list[Session]:
        """Return the user's sessions that authenticate now, on every client."""
        now = self.clock()
        stored = self.store.list_user_sessions(user_id, LIVE_STATUSES)
        current = (session.at(now) for session in stored)
        return [session for session in current if session.status in LIVE_STATUSES]

    def list_sessions(self, user_id: str) -> list[Session]:
        """Return all the user's sessions, any status, with the clock's statuses applied."""
        now = self.clock()
        return [session.at(now) for session in self.store.list_user_sessions(user_id)]

    def list_client_sessions(self, client_id: str) -> list[Session]:
        """Return the sessions still on a client: live, ended, expired and replaced ones."""
        now = self.clock()
        sessions = (session.at(now) for session in self.store.list_client_sessions(client_id))
        return [session for session in sessions if session.status not in DETACHED_STATUSES]

    def search(
        self,
        *,
        user_id: str | None = None,
        client_id: str | None = None,
        status: SessionStatus | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> tuple[list[Session], int]:
        """Return a page of sessions, newest first, with the clock's statuses applied."""
        now = self.clock()
        found, total = self.store.search_sessions(
            now=now, user_id=user_id, client_id=client_id, status=status, limit=limit, offset=offset
        )
        return [session.at(now) for session in found], total

    def ended_since(self, since: datetime, limit: int = 10_000) -> list[str]:
        """Return ids of sessions that stopped authenticating at or after ``since``."""
        return self.store.list_ended_since(since, limit)

    def get_session(self, session_id: str) -> Session | None:
        session = self.store.get_session(session_id)
        return None if session is None else session.at(self.clock())

    # Revoking

    def revoke_session(self, requester: Requester, session_id: str) -> Session:
        """Revoke one of the requester's other sessions.

        The current session cannot be revoked (sign out instead). A session that is not the
        requester's, including one that does not exist, is "not authorized", so that callers
        cannot probe other users' session ids.
        """
        if session_id == requester.session.id:
            raise errors.invalid_action_for_session(session_id, "revoke")

        target = self.store.get_session(session_id)
        if target is None or target.user_id != requester.user.id:
            raise errors.action_for_session_not_authorized(session_id)

        revoked = self._change_status(target, SessionStatus.REVOKED, "revoke")
        logger.info(
            "session revoked session_id=%s user_id=%s by_session_id=%s",
            session_id,
            requester.user.id,
            requester.session.id,
        )
        return revoked

    def revoke_other_sessions(self, requester: Requester) -> int:
        """Revoke every live session of the requester's user but the current one."""
        others = [
            session.id
            for session in self.list_active_sessions(requester.user.id)
            if session.id != requester.session.id
        ]
        count = self.store.set_status(others, SessionStatus.REVOKED, self.clock(), LIVE_STATUSES)
        self._announce(others)
        logger.info(
            "other sessions revoked user_id=%s kept_session_id=%s count=%d",
            requester.user.id,
            requester.session.id,
            count,
        )
        return count

    def revoke_by_admin(self, session_id: str) -> Session:
        """Revoke any session by id, as the backend API does."""
        session = self.store.get_session(session_id)
        if session is None:
            raise errors.session_not_found(session_id)
        revoked = self._change_status(session, SessionStatus.REVOKED, "revoke")
        logger.info(
            "session revoked session_id=%s user_id=%s by=admin", session.id, session.user_id
        )
        return revoked

    def revoke_user_sessions(self, user_id: str) -> int:
        live = [session.id for session in self.list_active_sessions(user_id)]
        count = self.store.set_status(live, SessionStatus.REVOKED, self.clock(), LIVE_STATUSES)
        self._announce(live)
        return count

    # Signing out on a client

    def client_session(self, client: Client, session_id: str) -> Session:
        """Return a session of ``client``; 404 when it is not there or was abandoned."""
        return self.on_client(client, session_id, self.store.get_session(session_id))

    def find_client_session(
        self, client_token: str | None, session_id: str
    ) -> tuple[Client, Session | None] | None:
        """Return the client of ``client_token`` and its session ``session_id`` as stored.

        One read in place of find_client and client_session, for the token endpoint, which
        checks the session with ``on_client``. None when the token names no client.
        """
        if not client_token:
            return None
        return self.store.find_client_session(hash_token(client_token), session_id)

    def on_client(self, client: Client, session_id: str, stored: Session | None) -> Session:
        """Return ``stored`` as of now, or raise 404 unless it is ``client``'s and not abandoned."""
        session = None if stored is None else stored.at(self.clock())
        if (
            session is None
            or session.client_id != client.id
            or session.status is SessionStatus.ABANDONED
        ):
            raise errors.session_not_found(session_id)
        return session

    def touch(self, client: Client, session_id: str, facts: RequestFacts) -> Session:
        """Mark a client's session as in use now and make it the client's current one."""
        session = self.client_session(client, session_id)
        if session.status not in LIVE_STATUSES:
            raise errors.signed_out(
                f"Session {session_id} is {session.status} and cannot be touched."
            )
        session = self.record_activity(session, facts, force=True)
        self._set_current_session(client.id, session.id, self.clock())
        return session

    def end(self, client: Client, session_id: str) -> Session:
        """Sign out of one session on this client; it stays on the client as ``ended``."""
        session = self.client_session(client, session_id)
        ended = self._change_status(session, SessionStatus.ENDED, "end")
        self._forget_current(client, session_id)
        logger.info("session ended session_id=%s client_id=%s", session_id, client.id)
        return ended

    def remove(self, client: Client, session_id: str) -> Session:
        """Sign out of one session and take it off this client."""
        session = self.client_session(client, session_id)
        removed = self._change_status(session, SessionStatus.REMOVED, "remove")
        self._forget_current(client, session_id)
        logger.info("session removed session_id=%s client_id=%s", session_id, client.id)
        return removed

    def remove_all(self, client: Client) -> int:
        """Sign out of every live session on this client."""
        now = self.clock()
        live = [s.id for s in self.store.list_client_sessions(client.id) if s.is_live_at(now)]
        count = self.store.set_status(live, SessionStatus.REMOVED, now, LIVE_STATUSES)
        self._announce(live)
        self._set_current_session(client.id, None, now)
        logger.info("client signed out client_id=%s count=%d", client.id, count)
        return count

    # Maintenance

    def sweep(self, batch_size: int = 500) -> int:
        """Persist ``expired`` and ``abandoned`` in batches; return how many changed."""
        total = 0
        while True:
            changed = self.store.sweep(self.clock(), batch_size)
            total += changed
            if changed < batch_size:
                return total

    # Helpers

    def _change_status(self, session: Session, status: SessionStatus, action: str) -> Session:
        now = self.clock()
        if not session.is_live_at(now):
            raise errors.invalid_action_for_session(session.id, action)
        if not self.store.set_status([session.id], status, now, LIVE_STATUSES):
            # Another request changed it between the read and the write.
            raise errors.invalid_action_for_session(session.id, action)
        self._announce([session.id])
        return replace(session, status=status, updated_at=now)

    def _set_current_session(self, client_id: str, session_id: str | None, now: datetime) -> None:
        self.store.set_last_active_session(client_id, session_id, now)
        self.requesters.drop([client_id])

    def _announce(self, session_ids: Sequence[str]) -> None:
        if not session_ids:
            return
        self.requesters.drop(session_ids)
        for listener in self.end_listeners:
            try:
                listener(session_ids)
            except Exception:
                # The write has happened; a failed broadcast only delays refusal until
                # the tokens expire or the next poll, so it must not fail the request.
                logger.exception("session end broadcast failed count=%d", len(session_ids))

    def _forget_current(self, client: Client, session_id: str) -> None:
        current = self.store.get_client(client.id)
        if current is None or current.last_active_session_id != session_id:
            return
        now = self.clock()
        remaining = [s for s in self.store.list_client_sessions(client.id) if s.is_live_at(now)]
        self._set_current_session(client.id, remaining[0].id if remaining else None, now)


def _hints_refine(latest: Activity, facts: RequestFacts) -> bool:
    """Tell whether detailed client hints now give more than the latest activity recorded.

    Browsers send the detailed hints only after a page asked for them (Accept-CH), so the
    first request of a session often lacks them. Requests without them never count, or a
    client that sends them on some requests only would start a new row each time.
    """
    hints = facts.hints
    if hints.full_version_list is None and hints.platform_version is None and hints.model is None:
        return False
    agent = parse_user_agent(facts.user_agent, hints)
    return (latest.browser_name, latest.browser_version, latest.os_version, latest.device_type) != (
        agent.browser_name,
        agent.browser_version,
        agent.os_version,
        agent.device_type,
    )


def _with_activity(
    session: Session, activity: Activity, *, last_active_at: datetime | None = None
) -> Session:
    return replace(
        session,
        latest_activity=activity,
        last_active_at=last_active_at or session.last_active_at,
        updated_at=last_active_at or session.updated_at,
    )


def _activity(session_id: str, described: ActivityFacts, now: datetime) -> Activity:
    agent, location = described.agent, described.location
    return Activity(
        id=ids.new_id(ids.ACTIVITY),
        session_id=session_id,
        ip_address=described.ip_address,
        user_agent=described.user_agent,
        browser_name=agent.browser_name,
        browser_version=agent.browser_version,
        os_name=agent.os_name,
        os_version=agent.os_version,
        device_type=agent.device_type,
        device_category=agent.device_category,
        is_mobile=agent.is_mobile,
        city=location.city if location else None,
        country=location.country if location else None,
        country_code=location.country_code if location else None,
        first_seen_at=now,
        last_seen_at=now,
    )
