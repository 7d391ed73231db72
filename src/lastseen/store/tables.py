"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; queries use it.

Times are Unix epoch milliseconds in BIGINT columns: the wire format, the same on SQLite
and PostgreSQL, and cheap to compare in SQL.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email_address", String(320)),
    Column("username", String(64), unique=True),
    Column("password_hash", String(255)),
    Column("external_id", String(255), unique=True),
    Column("first_name", String(255)),
    Column("last_name", String(255)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_sign_in_at", BigInteger),
)

# Email addresses are unique and found regardless of case; the index on lower() serves both.
# SQLite's lower() folds ASCII letters only, the same way in the index and in queries.
Index("ux_users_email_address_lower", func.lower(users.c.email_address), unique=True)

clients = Table(
    "clients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("last_active_session_id", String(64)),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(64), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("last_active_at", BigInteger, nullable=False),
    Column("expire_at", BigInteger, nullable=False),
    Column("abandon_at", BigInteger, nullable=False),
    # Each session keeps the inactivity timeout in force when it began, in seconds.
    Column("inactivity_timeout", Integer),
    Column("latest_activity_id", String(64)),
    # A copy of the latest activity's facts, so that a list reads one row per session. The
    # join it replaces made lists 1.3 times slower on a million-row SQLite file.
    Column("latest_ip_address", String(45)),
    Column("latest_user_agent", String),
    Column("latest_browser_name", String),
    Column("latest_browser_version", String),
    Column("latest_os_name", String),
    Column("latest_os_version", String),
    Column("latest_device_type", String),
    Column("latest_device_category", String(16)),
    Column("latest_is_mobile", Boolean),
    Column("latest_city", String),
    Column("latest_country", String),
    Column("latest_country_code", String(8)),
    Column("latest_first_seen_at", BigInteger),
    Column("latest_last_seen_at", BigInteger),
    # When the session stopped authenticating; host apps poll for recent ones to refuse
    # their tokens before the tokens expire.
    Column("ended_at", BigInteger),
    Index("ix_sessions_user_id_status", "user_id", "status"),
    Index("ix_sessions_client_id", "client_id"),
    Index("ix_sessions_status_expire_at", "status", "expire_at"),
    Index("ix_sessions_ended_at", "ended_at"),
)

session_activities = Table(
    "session_activities",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "session_id",
        String(64),
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("ip_address", String(45)),
    Column("user_agent", String),
    Column("browser_name", String),
    Column("browser_version", String),
    Column("os_name", String),
    Column("os_version", String),
    Column("device_type", String),
    Column("device_category", String(16), nullable=False),
    Column("is_mobile", Boolean, nullable=False),
    Column("city", String),
    Column("country", String),
    Column("country_code", String(8)),
    Column("first_seen_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Index("ix_session_activities_session_id_last_seen_at", "session_id", "last_seen_at"),
)

# Keys that sign session tokens. Private keys are PKCS#8 PEM encrypted with the instance's
# encryption key; public keys are kept as JWKs, ready to publish.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key", String, nullable=False),
    Column("public_jwk", String, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Set when a newer key takes over signing; the key stays published until pruned.
    Column("retired_at", BigInteger),
)

# Backend API secret keys, stored only as SHA-256 hashes.
secret_keys = Table(
    "secret_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("label", String(255)),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)
