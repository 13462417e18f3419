"""Alembic environment: the service's engine and every model's metadata."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

import app.models  # noqa: F401  (registers every table)
from app.core.database import Base, engine
from app.models.mixins import ExactDecimal, StringEnum, UTCDateTime

target_metadata = Base.metadata


def render_item(kind: str, item: Any, _: AutogenContext) -> str | bool:
    """Write project column types as plain SQLAlchemy types, so migrations import no app code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if kind == "type" and isinstance(item, ExactDecimal):
        return f"sa.Numeric(precision={item.precision}, scale={item.scale})"
    if kind == "type" and isinstance(item, StringEnum):
        return f"sa.String(length={item.length})"
    return False


def run_migrations(connection: Connection) -> None:
    """Run the migrations on ``connection`` in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        run_migrations(connectable)
    else:
        with engine.connect() as connection:
            run_migrations(connection)
