"""A large sales history built in PostgreSQL with set-based INSERTs (generate_series).

Customers who joined over ``days`` days, ``lots`` lots spread over the products, shipped
orders each issuing ``per_order`` picks from lots and warehouses in turn, a return from every
50th order, and one receipt a lot. The products, warehouses and the supplier must exist.
"""

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class LedgerSize:
    """How much history to build."""

    customers: int = 2_000
    lots: int = 500
    orders: int = 20_000
    per_order: int = 10
    days: int = 90
    stocked: int = 10  # lots given 100 on hand in the first warehouse

    @property
    def movements(self) -> int:
        """Ledger rows the build writes."""
        return self.lots + self.orders * self.per_order + (self.orders + 49) // 50


# Ledger rows of the orders: lots, warehouses and orders numbered in turn.
_ORDER_MOVEMENTS = """
    WITH l AS (SELECT id, product_id, row_number() OVER (ORDER BY id) - 1 AS n FROM lots),
         w AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM warehouses),
         o AS (SELECT id, number, shipped_at, row_number() OVER (ORDER BY id) AS n
               FROM sales_orders)
    INSERT INTO stock_movements (created_at, kind, product_id, lot_id, warehouse_id, quantity,
        reference, reason, group_id, actor_label)
"""

BUILD = [
    # customers who joined over the last days
    """
    INSERT INTO customers (name, customer_type, email, phone, min_shelf_life_days,
        price_tier, notes, is_active, created_at, updated_at)
    SELECT 'Customer ' || lpad(g::text, 6, '0'), 'retail', '', '', 0, 'retail', '',
        true, now() - (g % :days) * interval '1 day', now()
    FROM generate_series(1, :customers) AS g
    """,
    # lots spread over the products in turn
    """
    WITH p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM products)
    INSERT INTO lots (product_id, lot_code, supplier_id, received_date, best_before,
        unit_cost, grade, status, notes, created_at)
    SELECT p.id, 'LOT-' || lpad(g::text, 5, '0'), :supplier, current_date - 120,
        current_date + 30 + g % 200, 1 + (g % 7) * 0.25, 'A', 'available', '', now()
    FROM generate_series(0, :lots - 1) AS g
    JOIN p ON p.n = g % (SELECT count(*) FROM products)
    """,
    # shipped orders, customers in turn, spread over the days
    """
    WITH c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM customers)
    INSERT INTO sales_orders (number, customer_id, status, total, notes, created_at,
        updated_at, confirmed_at, shipped_at, requested_delivery_date)
    SELECT 'SO-' || lpad(g::text, 6, '0'), c.id, 'shipped', 50.00, '', t.at, t.at, t.at, t.at,
        CAST(t.at AS date)
    FROM generate_series(1, :orders) AS g
    JOIN c ON c.n = (g - 1) % :customers
    CROSS JOIN LATERAL (
        SELECT now() - (g % :days) * interval '1 day' - (g % 3600) * interval '1 second' AS at
    ) AS t
    """,
    # one receipt per lot, 120 days ago
    """
    WITH w AS (SELECT min(id) AS id FROM warehouses)
    INSERT INTO stock_movements (created_at, kind, product_id, lot_id, warehouse_id, quantity,
        reference, reason, group_id, actor_label)
    SELECT now() - interval '120 days', 'receipt', lots.product_id, lots.id, w.id, 10000,
        'PO-BULK', '', md5('receipt-' || lots.id), 'scale'
    FROM lots CROSS JOIN w
    """,
    # picks of every order, from lots and warehouses in turn, referencing the order number
    _ORDER_MOVEMENTS
    + """
    SELECT o.shipped_at + k * interval '1 millisecond', 'issue', l.product_id, l.id, w.id,
        -(1 + (o.n + k) % 5), o.number, '', md5(o.number || '-' || k), 'scale'
    FROM o CROSS JOIN generate_series(0, :per_order - 1) AS k
    JOIN l ON l.n = (o.n * 7 + k * 13) % :lots
    JOIN w ON w.n = (o.n + k) % 2
    """,
    # every 50th order sends one unit of its first pick back
    _ORDER_MOVEMENTS
    + """
    SELECT o.shipped_at + interval '1 hour', 'return', l.product_id, l.id, w.id, 1, o.number,
        'Damaged', md5('return-' || o.number), 'scale'
    FROM o
    JOIN l ON l.n = (o.n * 7) % :lots
    JOIN w ON w.n = o.n % 2
    WHERE o.n % 50 = 1
    """,
    # stock levels of the first lots, in the first warehouse
    """
    INSERT INTO stock_levels (product_id, warehouse_id, lot_id, on_hand, reserved, updated_at)
    SELECT lots.product_id, (SELECT min(id) FROM warehouses), lots.id, 100, 0, now()
    FROM lots ORDER BY lots.id LIMIT :stocked
    """,
    "ANALYZE customers, lots, sales_orders, stock_movements, stock_levels",
]


def build_history(connection: Connection, size: LedgerSize, supplier_id: int) -> None:
    """Write the history into an empty sales ledger; products and warehouses already exist."""
    params = {**asdict(size), "supplier": supplier_id}
    for statement in BUILD:
        used = {key: value for key, value in params.items() if f":{key}" in statement}
        connection.execute(text(statement), used)
