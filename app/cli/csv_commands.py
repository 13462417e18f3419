"""``dfims import`` and ``dfims export``: CSV files of products, suppliers and stock."""

import io
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import fail, operator
from app.schemas.exports import Dataset

import_app = typer.Typer(help="Import CSV files (all rows or none).", no_args_is_help=True)

FileArgument = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
]


def _import(kind: Dataset, path: Path) -> None:
    from rich.console import Console
    from rich.progress import Progress

    from app.core.database import session_scope
    from app.services import csv_io

    importers = {
        Dataset.PRODUCTS: csv_io.import_products,
        Dataset.SUPPLIERS: csv_io.import_suppliers,
        Dataset.STOCK: csv_io.import_stock,
    }
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    rows = max(0, len(text.splitlines()) - 1)
    try:
        console = Console(stderr=True)
        with Progress(transient=True, console=console) as progress, session_scope() as db:
            task = progress.add_task(f"Importing {kind.value}", total=rows)
            report = importers[kind](
                db, operator(), _lines(text), lambda n: progress.advance(task, n)
            )
    except csv_io.ImportFailedError as exc:
        for line in exc.extensions.get("errors", []):
            typer.echo(line, err=True)
        fail(f"{path}: {len(exc.extensions.get('errors', []))} problem(s) shown; nothing imported")
    typer.echo(f"Imported {kind.value}: {report.created} created, {report.updated} updated.")


def _lines(text: str) -> io.StringIO:
    return io.StringIO(text, newline="")


@import_app.command("products")
def import_products(path: FileArgument) -> None:
    """Create or update products by SKU (categories by name)."""
    _import(Dataset.PRODUCTS, path)


@import_app.command("suppliers")
def import_suppliers(path: FileArgument) -> None:
    """Create or update suppliers by code."""
    _import(Dataset.SUPPLIERS, path)


@import_app.command("stock")
def import_stock(path: FileArgument) -> None:
    """Receive opening stock, one receipt per row."""
    _import(Dataset.STOCK, path)


def export(
    dataset: Annotated[Dataset, typer.Argument(help="products, suppliers or stock")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write a CSV export to stdout or a file."""
    from app.core.database import session_scope
    from app.services import csv_io

    with session_scope() as db:
        text = csv_io.export(db, dataset)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {output} ({max(0, text.count(chr(10)) - 1)} rows).")
