"""Running the Alembic migrations from code."""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.core.config import PROJECT_ROOT
from app.core.database import get_engine

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATION_LOCK = 0x0DF1_0001


def alembic_config() -> Config:
    """The Alembic configuration of this project."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT / "migrations")))
    return config


def _run(step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic step in one transaction; replicas doing it together take turns."""
    with get_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)


def upgrade(revision: str = "head") -> None:
    """Migrate the database to ``revision``."""
    _run(command.upgrade, revision)


def downgrade(revision: str) -> None:
    """Take the database back to ``revision`` (a deploy rolling back runs this)."""
    _run(command.downgrade, revision)


def current_revision() -> str | None:
    """The revision the database is at, or None before the first migration."""
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
