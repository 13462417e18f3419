"""``dfims demo``: the demo data set."""

import typer

from app.cli.common import operator

app = typer.Typer(help="Demo data.", no_args_is_help=True)


@app.command()
def load(
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing (and succeed) when products already exist."
    ),
) -> None:
    """Load about 40 products, 5 suppliers, 10 customers, lots and five months of trade."""
    from app.core.database import session_scope
    from app.services import demo

    with session_scope() as db:
        if if_empty and not demo.is_empty(db):
            typer.echo("The catalog has products; demo data not loaded.")
            return
        report = demo.load(db, operator())
    typer.echo(
        f"Demo data loaded: {report.products} products, {report.lots} lots, "
        f"{report.movements} stock movements."
    )
    typer.echo(
        f"Trade: {report.customers} customers, {report.sales_orders} sales orders, "
        f"{report.purchase_orders} purchase orders."
    )
