"""Alembic owns the schema: the migrations produce exactly what the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.core import migrations
from app.core.database import Base, engine


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
