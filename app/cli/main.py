"""The ``dfims`` command: serve, migrate, bootstrap and look after user accounts."""

import sys
from typing import Annotated, NoReturn

import typer

from app.cli import (
    backup_commands,
    csv_commands,
    db_commands,
    demo_commands,
    order_commands,
    stock_commands,
    user_commands,
)
from app.cli.common import fail, operator, run_safely
from app.core.config import get_settings

app = typer.Typer(
    help="Dried Fruits Inventory Management System.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(user_commands.app, name="users")
app.add_typer(stock_commands.stock_app, name="stock")
app.add_typer(stock_commands.alerts_app, name="alerts")
app.add_typer(order_commands.app, name="orders")
app.add_typer(csv_commands.import_app, name="import")
app.command("export")(csv_commands.export)
app.add_typer(demo_commands.app, name="demo")
app.add_typer(backup_commands.app, name="backup")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the web pages (at /) and the API (its docs at /docs)."""
    import uvicorn

    from app.cli.serving import banner, prepare_metrics_dir
    from app.core.logging import configure_logging

    settings = get_settings()
    if reload and settings.ENVIRONMENT == "production":
        fail("--reload is for development; ENVIRONMENT=production refuses it")
    configure_logging(settings)
    if workers > 1:
        prepare_metrics_dir(settings.DATA_DIR)
    typer.echo(banner(host, port))
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        # X-Forwarded-For only from the proxies FORWARDED_ALLOW_IPS names (none by default)
        proxy_headers=bool(settings.FORWARDED_ALLOW_IPS),
        server_header=False,
        # a worker busy on a loaded host may take more than uvicorn's 5 s to answer the
        # supervisor's ping; it is not hung, and killing it throws away its requests
        timeout_worker_healthcheck=30,
        forwarded_allow_ips=settings.FORWARDED_ALLOW_IPS,
        log_config=None,
        access_log=False,
    )


@app.command()
def bootstrap() -> None:
    """Make the upload and backup folders, and the first admin (DFIMS_ADMIN_*) if there is none."""
    from app.core.database import session_scope
    from app.services.bootstrap import ensure_admin, ensure_folders

    settings = get_settings()
    for folder in ensure_folders(settings):
        typer.echo(f"Created {folder}")
    with session_scope() as db:
        result = ensure_admin(
            db,
            operator(),
            email=settings.DFIMS_ADMIN_EMAIL,
            password=settings.DFIMS_ADMIN_PASSWORD,
            allow_generated=settings.ENVIRONMENT != "production",
        )
        admin = result.admin
        if admin is None:
            typer.echo("An admin account exists; nothing to do.")
            return
        email = admin.email
    if result.generated_password:
        typer.echo(
            f"Created admin {email} with the one-time password: {result.generated_password}\n"
            "It is shown only this once: log in and choose your own (the web pages ask for it; "
            "API clients use PATCH /api/v1/users/me)."
        )
    else:
        typer.echo(f"Created admin {email} from DFIMS_ADMIN_EMAIL / DFIMS_ADMIN_PASSWORD.")


def main() -> NoReturn:
    """Entry point of the console script."""
    sys.exit(run_safely(app))
