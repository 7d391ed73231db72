"""Create users, clients, sessions and session activities.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("email_address", sa.String(320)),
        sa.Column("username", sa.String(64), unique=True),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("external_id", sa.String(255), unique=True),
        sa.Column("first_name", sa.String(255)),
        sa.Column("last_name", sa.String(255)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("last_sign_in_at", sa.BigInteger),
    )
    op.create_index(
        "ux_users_email_address_lower",
        "users",
        [sa.func.lower(sa.column("email_address"))],
        unique=True,
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("last_active_session_id", sa.String(64)),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey("clients.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("last_active_at", sa.BigInteger, nullable=False),
        sa.Column("expire_at", sa.BigInteger, nullable=False),
        sa.Column("abandon_at", sa.BigInteger, nullable=False),
        sa.Column("inactivity_timeout", sa.Integer),
        sa.Column("latest_activity_id", sa.String(64)),
    )
    op.create_index("ix_sessions_user_id_status", "sessions", ["user_id", "status"])
    op.create_index("ix_sessions_client_id", "sessions", ["client_id"])
    op.create_index("ix_sessions_status_expire_at", "sessions", ["status", "expire_at"])

    op.create_table(
        "session_activities",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("user_agent", sa.String),
        sa.Column("browser_name", sa.String),
        sa.Column("browser_version", sa.String),
        sa.Column("os_name", sa.String),
        sa.Column("os_version", sa.String),
        sa.Column("device_type", sa.String),
        sa.Column("device_category", sa.String(16), nullable=False),
        sa.Column("is_mobile", sa.Boolean, nullable=False),
        sa.Column("city", sa.String),
        sa.Column("country", sa.String),
        sa.Column("country_code", sa.String(8)),
        sa.Column("first_seen_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_session_activities_session_id_last_seen_at",
        "session_activities",
        ["session_id", "last_seen_at"],
    )


def downgrade() -> None:
    op.drop_table("session_activities")
    op.drop_table("sessions")
    op.drop_table("clients")
    op.drop_table("users")
