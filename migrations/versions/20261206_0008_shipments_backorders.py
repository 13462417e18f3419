"""shipments and backorders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

An order ships in one or more shipments, each with its own number, carrier and tracking
reference and the lots it takes (picked lot by lot before it leaves, when asked); an order line counts what shipped, what waits for stock
(backordered) and what was cancelled before it shipped, and may be pinned to one lot (with
the reason) instead of first-expired-first; an order may be partly shipped.
Orders shipped before shipments existed get one shipment each (numbered after the order),
its lines from the order's issued reservations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKORDERED = sa.text("backordered_quantity > 0")
QUANTITY = sa.Numeric(precision=14, scale=3)
STATUSES_BEFORE = "'pending', 'confirmed', 'shipped', 'delivered', 'cancelled'"
STATUSES_AFTER = "'pending', 'confirmed', 'partially_shipped', 'shipped', 'delivered', 'cancelled'"
LINE_COLUMNS = ("shipped_quantity", "backordered_quantity", "cancelled_quantity")
FULFILMENT = (
    "shipped_quantity >= 0 AND backordered_quantity >= 0 AND cancelled_quantity >= 0 "
    "AND shipped_quantity + backordered_quantity + cancelled_quantity <= quantity"
)


def _order_statuses(before: str, after: str) -> None:
    """Let the order status check accept ``after`` instead of ``before``.

    SQLite cannot alter a check, and rebuilding sales_orders would run the ON DELETE actions of
    the tables that point at it; its stored definition is edited in place instead, as SQLite's
    documentation describes for changing a CHECK constraint.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_sales_orders_status_known"), "sales_orders", type_="check")
        op.create_check_constraint(
            op.f("ck_sales_orders_status_known"), "sales_orders", f"status IN ({after})"
        )
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :before, :after) "
            "WHERE type = 'table' AND name = 'sales_orders'"
        ),
        {"before": f"status IN ({before})", "after": f"status IN ({after})"},
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _order_statuses(STATUSES_BEFORE, STATUSES_AFTER)
    for column in LINE_COLUMNS:
        op.add_column(
            "sales_order_lines",
            sa.Column(column, QUANTITY, nullable=False, server_default="0"),
        )
    if sqlite:
        op.execute(
            sa.text(
                "ALTER TABLE sales_order_lines ADD COLUMN pinned_lot_id INTEGER "
                "CONSTRAINT fk_sales_order_lines_pinned_lot_id_lots REFERENCES lots (id)"
            )
        )
    else:
        op.add_column("sales_order_lines", sa.Column("pinned_lot_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_sales_order_lines_pinned_lot_id_lots"),
            "sales_order_lines",
            "lots",
            ["pinned_lot_id"],
            ["id"],
        )
        op.create_check_constraint(
            op.f("ck_sales_order_lines_fulfilment_within"), "sales_order_lines", FULFILMENT
        )
    op.add_column(
        "sales_order_lines", sa.Column("pin_reason", sa.Text(), nullable=False, server_default="")
    )
    op.create_index(
        "ix_sales_order_lines_backordered",
        "sales_order_lines",
        ["order_id"],
        unique=False,
        sqlite_where=BACKORDERED,
        postgresql_where=BACKORDERED,
    )

    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("tracking_reference", sa.String(length=100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('picking', 'shipped', 'delivered', 'cancelled')",
            name=op.f("ck_shipments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_shipments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_orders.id"],
            name=op.f("fk_shipments_order_id_sales_orders"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("number", name=op.f("uq_shipments_number")),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"], unique=False)
    op.create_index("ix_shipments_shipped_at", "shipments", ["shipped_at"], unique=False)
    op.create_table(
        "shipment_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column(
            "movement_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("picked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("picked_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["picked_by"],
            ["users.id"],
            name=op.f("fk_shipment_lines_picked_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_shipment_lines_lot_id_lots"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["stock_movements.id"],
            name=op.f("fk_shipment_lines_movement_id_stock_movements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["sales_order_lines.id"],
            name=op.f("fk_shipment_lines_order_line_id_sales_order_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_lines_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_shipment_lines_warehouse_id_warehouses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_lines")),
    )
    op.create_index("ix_shipment_lines_lot_id", "shipment_lines", ["lot_id"], unique=False)
    op.create_index(
        "ix_shipment_lines_order_line_id", "shipment_lines", ["order_line_id"], unique=False
    )
    op.create_index(
        "ix_shipment_lines_shipment_id", "shipment_lines", ["shipment_id"], unique=False
    )

    done = "status IN ('shipped', 'delivered')"
    op.execute(
        sa.text(
            "UPDATE sales_order_lines SET shipped_quantity = quantity "
            f"WHERE order_id IN (SELECT id FROM sales_orders WHERE {done})"
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO shipments (number, order_id, status, carrier, tracking_reference, "
            "notes, created_by, created_at, updated_at, shipped_at, delivered_at) "
            "SELECT 'SHP-' || number, id, CASE WHEN delivered_at IS NULL THEN 'shipped' ELSE "
            "'delivered' END, '', '', '', created_by, COALESCE(shipped_at, updated_at), "
            "updated_at, COALESCE(shipped_at, updated_at), delivered_at FROM sales_orders "
            f"WHERE {done} ORDER BY shipped_at, id"
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO shipment_lines (shipment_id, order_line_id, lot_id, warehouse_id, "
            "quantity) SELECT s.id, l.id, r.lot_id, r.warehouse_id, r.quantity "
            "FROM shipments s JOIN sales_orders o ON o.id = s.order_id "
            "JOIN sales_order_lines l ON l.order_id = o.id "
            "JOIN reservations r ON r.reference = o.number || '/' || CAST(l.line_no AS VARCHAR) "
            "AND r.status = 'issued' ORDER BY s.id, l.line_no, r.id"
        )
    )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_shipment_lines_shipment_id", table_name="shipment_lines")
    op.drop_index("ix_shipment_lines_order_line_id", table_name="shipment_lines")
    op.drop_index("ix_shipment_lines_lot_id", table_name="shipment_lines")
    op.drop_table("shipment_lines")
    op.drop_index("ix_shipments_shipped_at", table_name="shipments")
    op.drop_index("ix_shipments_order_id", table_name="shipments")
    op.drop_table("shipments")
    # A partly shipped order goes back to confirmed: what it still holds stays reserved.
    op.execute(
        sa.text("UPDATE sales_orders SET status = 'confirmed' WHERE status = 'partially_shipped'")
    )
    op.drop_index(
        "ix_sales_order_lines_backordered",
        table_name="sales_order_lines",
        sqlite_where=BACKORDERED,
        postgresql_where=BACKORDERED,
    )
    op.drop_column("sales_order_lines", "pin_reason")
    if not sqlite:
        op.drop_constraint(
            op.f("ck_sales_order_lines_fulfilment_within"), "sales_order_lines", type_="check"
        )
        op.drop_constraint(
            op.f("fk_sales_order_lines_pinned_lot_id_lots"), "sales_order_lines", type_="foreignkey"
        )
    op.drop_column("sales_order_lines", "pinned_lot_id")
    for column in reversed(LINE_COLUMNS):
        op.drop_column("sales_order_lines", column)
    _order_statuses(STATUSES_AFTER, STATUSES_BEFORE)
