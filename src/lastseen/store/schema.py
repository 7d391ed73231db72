"""Apply and check the schema with Alembic, whose migrations ship inside the package."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from lastseen.errors import ConfigurationError

_MIGRATIONS = Path(__file__).with_name("migrations")

# An arbitrary constant that names lastseen's migration lock among PostgreSQL advisory locks.
_LOCK_KEY = 0x1A57_5EE0


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to the newest schema, or to ``revision``."""
    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Servers starting together would otherwise race to create the same tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database behind ``engine`` back to the older schema ``revision``."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def require_current(engine: Engine) -> None:
    """Raise unless the database has the newest schema, so a server never runs on an old one."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise ConfigurationError(
            f"the database schema is at revision {current or 'none'} but this lastseen needs "
            f"{head}: run `lastseen migrate`"
        )
