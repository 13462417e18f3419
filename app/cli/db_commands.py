"""``dfims db``: the schema, owned by Alembic."""

import typer

from app.cli.common import fail

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from app.core import migrations

    before = migrations.current_revision()
    migrations.upgrade(revision)
    after = migrations.current_revision()
    if before == after:
        typer.echo(f"Database already at {after}.")
    else:
        typer.echo(f"Database migrated from {before or 'empty'} to {after}.")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Revision to go back to (see 'dfims db current')."),
) -> None:
    """Take the database back to REVISION, undoing the migrations after it."""
    from app.core import migrations

    before = migrations.current_revision()
    migrations.downgrade(revision)
    typer.echo(f"Database taken back from {before} to {migrations.current_revision()}.")


@app.command()
def current() -> None:
    """Show the revision the database is at, and whether it is the newest."""
    from app.core import migrations

    revision = migrations.current_revision()
    head = migrations.head_revision()
    if revision is None:
        fail(f"the database has no schema yet; run 'dfims db upgrade' (newest is {head})")
    state = "up to date" if revision == head else f"behind (newest is {head})"
    typer.echo(f"{revision} ({state})")
