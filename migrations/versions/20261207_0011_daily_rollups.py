"""daily roll-ups of the KPI report

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The KPI report summed its whole date range from the ledger, orders, returns and customers on
every call. A closed UTC day no longer changes, so it is summed once into these tables and
read back from them; only the open days are summed live.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade() -> None:
    op.create_table(
        "daily_kpis",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders_placed", sa.Integer(), nullable=False),
        sa.Column("orders_shipped", sa.Integer(), nullable=False),
        sa.Column("revenue", MONEY, nullable=False),
        sa.Column("returns_credit", MONEY, nullable=False),
        sa.Column("cost_of_goods", MONEY, nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        sa.Column("summed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_kpis")),
    )
    op.create_table(
        "daily_product_sales",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=16, scale=3), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("revenue", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_daily_product_sales_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("day", "product_id", name=op.f("pk_daily_product_sales")),
    )


def downgrade() -> None:
    op.drop_table("daily_product_sales")
    op.drop_table("daily_kpis")
