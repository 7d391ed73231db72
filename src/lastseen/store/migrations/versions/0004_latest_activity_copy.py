"""Copy each session's latest activity facts onto the session row.

Listing sessions then reads the sessions table alone. The copy is filled from
session_activities for the sessions that already exist.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Activity column -> its copy on sessions.
_FACTS: dict[str, TypeEngine[Any]] = {
    "ip_address": sa.String(45),
    "user_agent": sa.String(),
    "browser_name": sa.String(),
    "browser_version": sa.String(),
    "os_name": sa.String(),
    "os_version": sa.String(),
    "device_type": sa.String(),
    "device_category": sa.String(16),
    "is_mobile": sa.Boolean(),
    "city": sa.String(),
    "country": sa.String(),
    "country_code": sa.String(8),
    "first_seen_at": sa.BigInteger(),
    "last_seen_at": sa.BigInteger(),
}


def upgrade() -> None:
    for name, type_ in _FACTS.items():
        op.add_column("sessions", sa.Column(f"latest_{name}", type_))

    # One correlated row per session, in a form SQLite and PostgreSQL both accept. The
    # names are the constants above.
    copies = ", ".join(f"latest_{name}" for name in _FACTS)
    facts = ", ".join(f"a.{name}" for name in _FACTS)
    op.execute(
        f"UPDATE sessions SET ({copies}) = "  # noqa: S608
        f"(SELECT {facts} FROM session_activities a WHERE a.id = sessions.latest_activity_id) "
        "WHERE latest_activity_id IS NOT NULL"
    )


def downgrade() -> None:
    # SQLite drops the columns in place (3.35 and later), because rebuilding the sessions
    # table would delete every activity through the ON DELETE CASCADE foreign key.
    for name in reversed(list(_FACTS)):
        op.execute(f"ALTER TABLE sessions DROP COLUMN latest_{name}")
