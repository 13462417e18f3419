"""``dfims stock`` and ``dfims alerts``: ledger checks and the daily expiry job."""

import typer

from app.cli.common import fail, operator

stock_app = typer.Typer(help="Stock ledger and levels.", no_args_is_help=True)
alerts_app = typer.Typer(help="Inventory alerts.", no_args_is_help=True)


@stock_app.command()
def check(
    fix: bool = typer.Option(False, "--fix", help="Rewrite the levels from the ledger."),
) -> None:
    """Rebuild the levels from the ledger and report every difference (exit 1 if any)."""
    from app.core.database import session_scope
    from app.services import stock_check

    with session_scope() as db:
        found = stock_check.differences(db)
        for item in found:
            typer.echo(
                f"product {item.product_id} warehouse {item.warehouse_id} lot {item.lot_id}: "
                f"on_hand {item.on_hand} (ledger {item.ledger}), "
                f"reserved {item.reserved} (reservations {item.reservations})"
            )
        if not found:
            typer.echo("Stock levels match the ledger.")
            return
        if not fix:
            fail(f"{len(found)} stock level(s) differ from the ledger; run with --fix to repair")
        refused = stock_check.repair(db, operator(), found)
    if refused:
        fail(
            f"{len(found) - len(refused)} repaired; {len(refused)} need a person: their "
            "reservations exceed the ledger's stock"
        )
    typer.echo(f"Repaired {len(found)} stock level(s) from the ledger.")


@alerts_app.command()
def scan() -> None:
    """Mark lots past best-before as expired, purge old idempotency keys, print the alerts."""
    from app.core.database import session_scope
    from app.services import alerts, idempotency

    with session_scope() as db:
        expired_ids = alerts.expire_lots(db, operator())
        purged = idempotency.purge_expired(db)
        current = alerts.current(db)
    typer.echo(f"Lots marked expired: {len(expired_ids)}")
    typer.echo(f"Idempotency keys purged: {purged}")
    typer.echo(f"Low stock: {len(current.low_stock)} product(s)")
    for item in current.low_stock:
        typer.echo(
            f"  {item.sku}: {item.available} {item.unit} available, reorder point "
            f"{item.reorder_point}, suggest ordering {item.suggested_order_quantity}"
        )
    typer.echo(
        f"Expiring within {current.expiry_window_days} days: {len(current.expiring)} lot(s); "
        f"expired with stock: {len(current.expired)} lot(s)"
    )
    for lot in current.expiring + current.expired:
        typer.echo(f"  {lot.sku} lot {lot.lot_code}: best before {lot.best_before}, {lot.on_hand}")
