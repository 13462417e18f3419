"""Alembic owns the schema: the migrations produce exactly what the models declare."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, inspect, text

from app.core import migrations
from app.core.database import Base, engine
from app.core.emails import email_skeleton_hash
from tests.conftest import USE_POSTGRES, create_postgres_database, drop_postgres_database


def test_database_is_at_head() -> None:
    assert migrations.current_revision() == migrations.head_revision()


def test_models_and_migrations_agree() -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_constraints_follow_the_naming_convention() -> None:
    users = Base.metadata.tables["users"]
    names = {constraint.name for constraint in users.constraints}
    assert "pk_users" in names
    assert "ck_users_role_known" in names


def _migrate(scratch: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with scratch.begin() as connection:
        config = migrations.alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)


def _foreign_keys_on(dbapi_connection: Any, _: Any) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def test_the_email_skeleton_migration_fills_every_row(tmp_path: Path) -> None:
    """0004 moves each email to its stored form unless another user has that form, gives every
    row the key the service computes, and keeps the users' sessions (no table is rebuilt)."""
    url = create_postgres_database() if USE_POSTGRES else f"sqlite:///{tmp_path / 'old.db'}"
    scratch = create_engine(url)
    if not USE_POSTGRES:
        event.listen(scratch, "connect", _foreign_keys_on)
    emails = {
        1: "sec@example.com",
        2: "\uff53\uff45\uff43@example.com",  # a fullwidth twin of user 1
        3: "stra\u00dfe@example.com",
        4: "\uff41\uff44\uff41@example.com",  # fullwidth, with no twin
    }
    now = datetime.now(UTC)
    try:
        _migrate(scratch, command.upgrade, "0003")
        with scratch.begin() as connection:
            for user_id, email in emails.items():
                connection.execute(
                    text(
                        "INSERT INTO users (id, email, full_name, hashed_password, role, "
                        "is_active, failed_login_attempts, password_changed_at, created_at, "
                        "updated_at) VALUES (:id, :email, '', 'x', 'staff', TRUE, 0, :now, "
                        ":now, :now)"
                    ),
                    {"id": user_id, "email": email, "now": now},
                )
                connection.execute(
                    text(
                        "INSERT INTO user_sessions (id, user_id, created_at, last_seen_at, "
                        "expires_at) VALUES (:id, :user_id, :now, :now, :now)"
                    ),
                    {"id": f"session-{user_id}", "user_id": user_id, "now": now},
                )

        _migrate(scratch, command.upgrade, "0004")

        with scratch.connect() as connection:
            rows = connection.execute(text("SELECT id, email, email_skeleton_hash FROM users"))
            stored = {row.id: (row.email, row.email_skeleton_hash) for row in rows}
            sessions = connection.scalar(text("SELECT count(*) FROM user_sessions"))
        assert {user_id: email for user_id, (email, _) in stored.items()} == {
            1: "sec@example.com",
            2: emails[2],  # kept: user 1 has its stored form
            3: "strasse@example.com",
            4: "ada@example.com",
        }
        for email, key in stored.values():
            assert key == email_skeleton_hash(email)
        assert stored[1][1] == stored[2][1]
        assert sessions == len(emails)

        _migrate(scratch, command.downgrade, "0003")
        columns = {column["name"] for column in inspect(scratch).get_columns("users")}
        assert "email_skeleton_hash" not in columns
    finally:
        scratch.dispose()
        if USE_POSTGRES:
            drop_postgres_database(url)
