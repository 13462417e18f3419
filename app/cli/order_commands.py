"""``dfims orders``: work on sales orders from the terminal."""

import typer

from app.cli.common import operator

app = typer.Typer(help="Sales orders.", no_args_is_help=True)


@app.command("fill-backorders")
def fill_backorders(
    order: str = typer.Option(
        "", "--order", metavar="NUMBER", help="Only this order (SO-000123); all by default."
    ),
) -> None:
    """Reserve what there now is for backordered lines, the earliest confirmed order first."""
    from app.core.database import session_scope
    from app.services import backorders, orders

    with session_scope() as db:
        order_id = orders.by_number(db, order).id if order else None
        filled = backorders.fill(db, operator(), order_id)
        for entry in filled:
            typer.echo(
                f"{entry.order_number} line {entry.line_no} ({entry.sku}): reserved "
                f"{entry.reserved}, still backordered {entry.still_backordered}"
            )
    typer.echo(f"Backordered lines given stock: {len(filled)}")
