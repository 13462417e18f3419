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


def test_the_address_migration_keeps_the_free_text_addresses(tmp_path: Path) -> None:
    """0006 turns each customer's billing and shipping text into its default billing and
    delivery address (the text as the street), gives the orders of a customer with a shipping
    address that address and every order the day it was placed as its requested date; going
    back restores the texts."""
    url = create_postgres_database() if USE_POSTGRES else f"sqlite:///{tmp_path / 'old.db'}"
    scratch = create_engine(url)
    if not USE_POSTGRES:
        event.listen(scratch, "connect", _foreign_keys_on)
    placed = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
    texts = {1: ("1 High Street\nLeeds", "Dock 4\nHull"), 2: ("", ""), 3: ("PO Box 7", "")}
    try:
        _migrate(scratch, command.upgrade, "0005")
        with scratch.begin() as connection:
            for customer_id, (billing, shipping) in texts.items():
                connection.execute(
                    text(
                        "INSERT INTO customers (id, name, customer_type, email, phone, "
                        "billing_address, shipping_address, min_shelf_life_days, price_tier, "
                        "notes, is_active, created_at, updated_at) VALUES (:id, :name, "
                        "'retail', '', '', :billing, :shipping, 0, 'retail', '', TRUE, :at, :at)"
                    ),
                    {
                        "id": customer_id,
                        "name": f"Customer {customer_id}",
                        "billing": billing,
                        "shipping": shipping,
                        "at": placed,
                    },
                )
                connection.execute(
                    text(
                        "INSERT INTO sales_orders (id, number, customer_id, status, total, notes, "
                        "created_at, updated_at) VALUES (:id, :number, :id, 'pending', 0, '', "
                        ":at, :at)"
                    ),
                    {"id": customer_id, "number": f"SO-{customer_id}", "at": placed},
                )

        _migrate(scratch, command.upgrade, "0006")

        with scratch.connect() as connection:
            addresses = connection.execute(
                text(
                    "SELECT id, customer_id, kind, street, country, is_default, is_active "
                    "FROM customer_addresses ORDER BY customer_id, kind"
                )
            ).all()
            orders = connection.execute(
                text(
                    "SELECT customer_id, delivery_address_id, requested_delivery_date "
                    "FROM sales_orders ORDER BY id"
                )
            ).all()
            terms = connection.execute(
                text("SELECT payment_terms_days, partial_delivery, vat_treatment FROM customers")
            ).all()
        assert [(a.customer_id, a.kind, a.street, a.country) for a in addresses] == [
            (1, "billing", "1 High Street\nLeeds", ""),
            (1, "delivery", "Dock 4\nHull", ""),
            (3, "billing", "PO Box 7", ""),
        ]
        assert all(a.is_default and a.is_active for a in addresses)
        dock = addresses[1].id
        assert [(o.customer_id, o.delivery_address_id) for o in orders] == [
            (1, dock),
            (2, None),
            (3, None),
        ]
        assert {str(o.requested_delivery_date) for o in orders} == {"2026-03-04"}
        assert {tuple(row) for row in terms} == {(30, False, "standard")}

        _migrate(scratch, command.downgrade, "0005")
        with scratch.connect() as connection:
            restored = connection.execute(
                text("SELECT id, billing_address, shipping_address FROM customers ORDER BY id")
            ).all()
        assert {row.id: (row.billing_address, row.shipping_address) for row in restored} == texts
        assert not inspect(scratch).has_table("customer_addresses")
    finally:
        scratch.dispose()
        if USE_POSTGRES:
            drop_postgres_database(url)
