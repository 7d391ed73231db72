"""Record when each session stopped authenticating, for host apps that poll revocations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("ended_at", sa.BigInteger))
    op.create_index("ix_sessions_ended_at", "sessions", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_ended_at", "sessions")
    # In place on SQLite too: rebuilding the sessions table would delete every activity
    # through the ON DELETE CASCADE foreign key.
    op.execute("ALTER TABLE sessions DROP COLUMN ended_at")
