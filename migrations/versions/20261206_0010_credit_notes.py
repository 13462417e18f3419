"""credit notes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

A credit note gives money back against one invoice, for goods returned or a correction made
by hand with its reason, under its own gapless number. Its lines credit a quantity of an
invoice line at its price, or an amount, with VAT at the line's rate.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=12, scale=2)
PERCENT = sa.Numeric(precision=5, scale=2)


def upgrade() -> None:
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("net_total", MONEY, nullable=False),
        sa.Column("vat_total", MONEY, nullable=False),
        sa.Column("gross_total", MONEY, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('return', 'adjustment')", name=op.f("ck_credit_notes_kind_known")
        ),
        sa.CheckConstraint("net_total > 0", name=op.f("ck_credit_notes_net_positive")),
        sa.CheckConstraint(
            "gross_total = net_total + vat_total", name=op.f("ck_credit_notes_totals_add_up")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_credit_notes_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_notes_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
    )  # fmt: skip
    op.create_index("ix_credit_notes_customer_id", "credit_notes", ["customer_id"])
    op.create_index("ix_credit_notes_invoice_id", "credit_notes", ["invoice_id"])
    op.create_index("ix_credit_notes_issue_date", "credit_notes", ["issue_date"])
    op.create_table(
        "credit_note_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("net", MONEY, nullable=False),
        sa.Column("vat_rate", PERCENT, nullable=False),
        sa.Column("vat", MONEY, nullable=False),
        sa.Column("gross", MONEY, nullable=False),
        sa.CheckConstraint("gross = net + vat", name=op.f("ck_credit_note_lines_gross_adds_up")),
        sa.CheckConstraint("net > 0", name=op.f("ck_credit_note_lines_net_positive")),
        sa.CheckConstraint(
            "quantity IS NULL OR quantity > 0",
            name=op.f("ck_credit_note_lines_quantity_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"], ["credit_notes.id"],
            name=op.f("fk_credit_note_lines_credit_note_id_credit_notes"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_line_id"], ["invoice_lines.id"],
            name=op.f("fk_credit_note_lines_invoice_line_id_invoice_lines"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["sales_returns.id"],
            name=op.f("fk_credit_note_lines_return_id_sales_returns"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_note_lines")),
    )  # fmt: skip
    op.create_index("ix_credit_note_lines_credit_note_id", "credit_note_lines", ["credit_note_id"])
    op.create_index(
        "ix_credit_note_lines_invoice_line_id", "credit_note_lines", ["invoice_line_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_credit_note_lines_invoice_line_id", table_name="credit_note_lines")
    op.drop_index("ix_credit_note_lines_credit_note_id", table_name="credit_note_lines")
    op.drop_table("credit_note_lines")
    op.drop_index("ix_credit_notes_issue_date", table_name="credit_notes")
    op.drop_index("ix_credit_notes_invoice_id", table_name="credit_notes")
    op.drop_index("ix_credit_notes_customer_id", table_name="credit_notes")
    op.drop_table("credit_notes")
