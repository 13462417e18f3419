"""customer addresses, terms and order delivery

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A customer gets addresses of its own (billing and delivery, one active default of each kind,
kept by a partial unique index), payment terms, partial-delivery consent and its VAT number
and treatment. The free-text billing and shipping addresses become the customer's default
billing and delivery addresses (the text as the street) and their columns go. A sales order
names its delivery address and the date the customer asked for; the orders already stored
are asked for on the day they were placed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_DEFAULT = sa.text("is_default AND is_active")
# Old free-text column, the kind of address it becomes.
MOVED = (("billing_address", "billing"), ("shipping_address", "delivery"))


def upgrade() -> None:
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("street", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('billing', 'delivery')", name=op.f("ck_customer_addresses_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_addresses_customer_id_kind", ["customer_id", "kind"], unique=False
        )
        batch_op.create_index(
            "uq_customer_addresses_one_default",
            ["customer_id", "kind"],
            unique=True,
            sqlite_where=ONE_DEFAULT,
            postgresql_where=ONE_DEFAULT,
        )

    for column, kind in MOVED:
        op.execute(
            sa.text(
                "INSERT INTO customer_addresses (customer_id, kind, label, recipient, street, "
                "postal_code, city, country, is_default, is_active, created_at, updated_at) "
                f"SELECT id, '{kind}', '', '', {column}, '', '', '', TRUE, TRUE, created_at, "
                f"updated_at FROM customers WHERE trim({column}) <> '' ORDER BY id"
            )
        )

    sqlite = op.get_bind().dialect.name == "sqlite"
    # On SQLite, columns are added and dropped in place: rebuilding a table would run the
    # ON DELETE actions of the tables that point at it. The checks of the new customer columns
    # come with new databases there; the service keeps the values in range on every database.
    op.add_column(
        "customers",
        sa.Column("payment_terms_days", sa.Integer(), nullable=False, server_default="30"),
    )
    op.add_column(
        "customers",
        sa.Column("partial_delivery", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "customers",
        sa.Column("vat_number", sa.String(length=20), nullable=False, server_default=""),
    )
    op.add_column(
        "customers",
        sa.Column("vat_treatment", sa.String(length=20), nullable=False, server_default="standard"),
    )
    if not sqlite:
        op.create_check_constraint(
            op.f("ck_customers_payment_terms_range"),
            "customers",
            "payment_terms_days >= 0 AND payment_terms_days <= 365",
        )
        op.create_check_constraint(
            op.f("ck_customers_vat_known"),
            "customers",
            "vat_treatment IN ('standard', 'zero_rated', 'reverse_charge')",
        )
    op.drop_column("customers", "shipping_address")
    op.drop_column("customers", "billing_address")

    if sqlite:
        op.execute(
            sa.text(
                "ALTER TABLE sales_orders ADD COLUMN delivery_address_id INTEGER "
                "CONSTRAINT fk_sales_orders_delivery_address_id_customer_addresses "
                "REFERENCES customer_addresses (id)"
            )
        )
        # A constant default only; every row gets its date just below.
        op.add_column(
            "sales_orders",
            sa.Column(
                "requested_delivery_date", sa.Date(), nullable=False, server_default="1970-01-01"
            ),
        )
        placed_on = "date(created_at)"
    else:
        op.add_column("sales_orders", sa.Column("delivery_address_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_sales_orders_delivery_address_id_customer_addresses"),
            "sales_orders",
            "customer_addresses",
            ["delivery_address_id"],
            ["id"],
        )
        op.add_column(
            "sales_orders", sa.Column("requested_delivery_date", sa.Date(), nullable=True)
        )
        placed_on = "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
    op.execute(
        sa.text(
            f"UPDATE sales_orders SET requested_delivery_date = {placed_on}, "
            "delivery_address_id = (SELECT a.id FROM customer_addresses a "
            "WHERE a.customer_id = sales_orders.customer_id AND a.kind = 'delivery')"
        )
    )
    if not sqlite:
        op.alter_column(
            "sales_orders", "requested_delivery_date", existing_type=sa.Date(), nullable=False
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint(
            op.f("fk_sales_orders_delivery_address_id_customer_addresses"),
            "sales_orders",
            type_="foreignkey",
        )
    op.drop_column("sales_orders", "requested_delivery_date")
    op.drop_column("sales_orders", "delivery_address_id")

    op.add_column(
        "customers", sa.Column("billing_address", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "customers", sa.Column("shipping_address", sa.Text(), nullable=False, server_default="")
    )
    if not sqlite:
        op.drop_constraint(op.f("ck_customers_vat_known"), "customers", type_="check")
        op.drop_constraint(op.f("ck_customers_payment_terms_range"), "customers", type_="check")
    op.drop_column("customers", "vat_treatment")
    op.drop_column("customers", "vat_number")
    op.drop_column("customers", "partial_delivery")
    op.drop_column("customers", "payment_terms_days")

    for column, kind in MOVED:
        op.execute(
            sa.text(
                f"UPDATE customers SET {column} = (SELECT a.street FROM customer_addresses a "
                f"WHERE a.customer_id = customers.id AND a.kind = '{kind}' AND a.is_default "
                "AND a.is_active)"
                f" WHERE EXISTS (SELECT 1 FROM customer_addresses a WHERE a.customer_id = "
                f"customers.id AND a.kind = '{kind}' AND a.is_default AND a.is_active)"
            )
        )

    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_customer_addresses_one_default",
            sqlite_where=ONE_DEFAULT,
            postgresql_where=ONE_DEFAULT,
        )
        batch_op.drop_index("ix_customer_addresses_customer_id_kind")

    op.drop_table("customer_addresses")
