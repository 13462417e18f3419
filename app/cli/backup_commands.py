"""``dfims backup``: take, verify and restore backups (what scripts/backup.sh runs)."""

import asyncio
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import typer

from app.cli.common import fail
from app.core.config import get_settings

app = typer.Typer(help="Backups of the database, uploads and logs.", no_args_is_help=True)


@app.command()
def create(
    skip_logs: bool = typer.Option(False, "--skip-logs", help="Leave the logs out."),
    skip_cleanup: bool = typer.Option(
        False, "--skip-cleanup", help="Keep backups older than BACKUP_RETENTION_DAYS."
    ),
) -> None:
    """Back up the database (with a manifest), the uploads and the logs; expire old backups."""
    from app.services import backup

    result = backup.backup(get_settings(), skip_logs=skip_logs, skip_cleanup=skip_cleanup)
    rows = sum(result.manifest.tables.values())
    typer.echo(
        f"Database: {result.database} ({result.manifest.size_bytes} bytes, "
        f"{len(result.manifest.tables)} tables, {rows} rows, sha256 {result.manifest.sha256})"
    )
    for label, path in (("Uploads", result.uploads), ("Logs", result.logs)):
        if path is not None:
            typer.echo(f"{label}: {path}")
    if result.removed:
        typer.echo(f"Removed {len(result.removed)} backup file(s) past the retention period.")
    typer.echo(f"Backup complete in {result.seconds:.1f} s.")


@app.command()
def verify(
    file: Path | None = typer.Argument(None, help="A db_backup_*.sql.gz; the newest by default."),
) -> None:
    """Check an archive and its checksum, restore it into a scratch database, compare rows."""
    from app.services import backup

    archive, manifest = backup.verify(get_settings(), file)
    typer.echo(
        f"{archive.name}: checksum good, restores with the row counts of its manifest "
        f"({len(manifest.tables)} tables, {sum(manifest.tables.values())} rows)."
    )


@app.command()
def restore(
    file: Path = typer.Argument(..., help="The db_backup_*.sql.gz to restore."),
    with_uploads: bool = typer.Option(
        False, "--with-uploads", help="Restore the uploads taken with that backup too."
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    health_url: str | None = typer.Option(
        None, "--health-url", envvar="DFIMS_HEALTH_URL", help="Also check this URL answers 200."
    ),
) -> None:
    """Replace the database (and uploads) with a backup, after a safety backup."""
    from app.services import backup, health

    settings = get_settings()
    backup.check_archive(file)
    if not yes and not typer.confirm(
        f"Replace the database{' and uploads' if with_uploads else ''} with {file.name}?"
    ):
        fail("restore cancelled; nothing changed")
    manifest, safety = backup.restore(settings, file, with_uploads=with_uploads)
    typer.echo(f"Safety backup of the previous state: {safety.database}")
    typer.echo(
        f"Restored {file.name}: {len(manifest.tables)} tables, "
        f"{sum(manifest.tables.values())} rows, schema revision {manifest.revision}."
    )
    database = asyncio.run(health.check_database())
    if database.status != "ok":
        fail(f"health check: the database is {database.status} after the restore")
    if health_url:
        try:
            with urlopen(health_url, timeout=10) as response:  # noqa: S310 (operator's URL)
                status = response.status
        except (URLError, OSError) as exc:
            fail(f"health check: {health_url} did not answer: {exc}")
        if status != 200:
            fail(f"health check: {health_url} answered {status}")
    typer.echo("Health check passed.")
