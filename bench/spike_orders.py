"""The order in the spike's design: placing and confirming an order in plain SQL on psycopg's
async pool, each step in as few statements as its rules allow, to measure the most an order
can cost on this machine. It keeps what the API's order writes to the database (the
idempotency record, the order and its lines, the FEFO reservation by a guarded update, the
audit entries, the answer kept for replays) and what it checks (the customer and each
product active, the tier price, a pending order, enough stock). It leaves out what does not
change what the machine spends on an order: authentication, backorders, pinned lots and the
refusals' wording."""

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Header, HTTPException, Response
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, TypeAdapter

CENT = Decimal("0.01")

CLAIM = """
INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, status_code,
                              response_body, created_at)
VALUES (%(user_id)s, %(key)s, 'POST', %(path)s, %(hash)s, 0, '', %(now)s)
ON CONFLICT (user_id, key) DO NOTHING
RETURNING id
"""
ANSWER = "UPDATE idempotency_keys SET status_code = %s, response_body = %s WHERE id = %s"
# The customer, its default delivery address and each product asked for with its tier price.
ORDERING = """
SELECT c.is_active AS customer_active, c.price_tier,
       (SELECT a.id FROM customer_addresses a
        WHERE a.customer_id = c.id AND a.kind = 'delivery' AND a.is_default AND a.is_active)
         AS address_id,
       p.id AS product_id, p.is_active, p.sku, p.name, p.unit,
       coalesce(tp.price, p.price) AS price
FROM customers c
CROSS JOIN unnest(%(products)s::int[]) WITH ORDINALITY AS asked (product_id, n)
LEFT JOIN products p ON p.id = asked.product_id
LEFT JOIN tier_prices tp ON tp.product_id = p.id AND tp.tier = c.price_tier
WHERE c.id = %(customer_id)s
ORDER BY asked.n
"""
# The order, its number taken from its id, its lines and its audit entry, in one statement.
PLACE = """
WITH new AS (SELECT nextval('sales_orders_id_seq') AS id),
placed AS (
  INSERT INTO sales_orders (id, number, customer_id, status, total, notes, created_by,
                            created_at, updated_at, delivery_address_id,
                            requested_delivery_date)
  SELECT id, 'SO-' || lpad(id::text, 6, '0'), %(customer_id)s, 'pending', %(total)s, '',
         %(user_id)s, %(now)s, %(now)s, %(address_id)s, %(today)s
  FROM new
  RETURNING id, number
),
lines AS (
  INSERT INTO sales_order_lines (order_id, line_no, product_id, quantity, unit_price,
                                 line_total, returned_quantity)
  SELECT placed.id, line.n, line.product_id, line.quantity, line.unit_price, line.total, 0
  FROM placed,
       unnest(%(products)s::int[], %(quantities)s::numeric[], %(prices)s::numeric[],
              %(totals)s::numeric[]) WITH ORDINALITY
         AS line (product_id, quantity, unit_price, total, n)
  RETURNING id, line_no
),
audited AS (
  INSERT INTO audit_log (occurred_at, actor_id, actor_label, action, entity_type, entity_id,
                         details)
  SELECT %(now)s, %(user_id)s, 'spike', 'order.created', 'sales_order', placed.id::text,
         (%(details)s::jsonb || jsonb_build_object('number', placed.number))::json
  FROM placed
)
SELECT placed.id, placed.number, array_agg(lines.id ORDER BY lines.line_no) AS line_ids
FROM placed, lines
GROUP BY placed.id, placed.number
"""
# A pending order claimed for confirmation, with its customer's demand and its lines.
CONFIRMING = """
WITH claimed AS (
  UPDATE sales_orders SET status = 'confirmed', confirmed_at = %(now)s, updated_at = %(now)s
  WHERE id = %(order_id)s AND status = 'pending'
  RETURNING id, number, customer_id, total, requested_delivery_date
)
SELECT claimed.id, claimed.number, claimed.customer_id, claimed.total,
       greatest(claimed.requested_delivery_date, %(today)s) + c.min_shelf_life_days
         AS good_until,
       l.id AS line_id, l.line_no, l.product_id, l.quantity
FROM claimed
JOIN customers c ON c.id = claimed.customer_id
JOIN sales_order_lines l ON l.order_id = claimed.id
ORDER BY l.product_id, l.line_no
"""
# Every sellable level of the order's products, earliest best-before first.
LEVELS = """
SELECT sl.id, sl.product_id, sl.lot_id, sl.warehouse_id, sl.on_hand - sl.reserved AS free
FROM stock_levels sl
JOIN lots l ON l.id = sl.lot_id
WHERE sl.product_id = ANY(%(products)s) AND l.status = 'available'
  AND l.best_before >= %(good_until)s AND sl.on_hand > sl.reserved
ORDER BY sl.product_id, l.best_before, l.id, sl.warehouse_id
"""
# The lots' shares taken by guarded updates (the levels locked in the order of their ids,
# so that two orders never wait for each other), their reservations, the audit entry and the
# answer kept for replays: all or none of the shares, or no row (the caller rolls back).
RESERVE = """
WITH share AS (
  SELECT * FROM unnest(%(levels)s::int[], %(quantities)s::numeric[], %(references)s::text[])
    AS share (level_id, quantity, reference)
),
locked AS (
  SELECT id FROM stock_levels WHERE id = ANY(%(levels)s::int[]) ORDER BY id FOR UPDATE
),
taken AS (
  UPDATE stock_levels sl SET reserved = sl.reserved + share.quantity, updated_at = %(now)s
  FROM share JOIN locked ON locked.id = share.level_id
  WHERE sl.id = share.level_id AND sl.on_hand - sl.reserved >= share.quantity
  RETURNING sl.product_id, sl.lot_id, sl.warehouse_id, share.quantity, share.reference
),
reserved AS (
  INSERT INTO reservations (reference, product_id, lot_id, warehouse_id, quantity, status,
                            created_at)
  SELECT reference, product_id, lot_id, warehouse_id, quantity, 'active', %(now)s FROM taken
  RETURNING id
),
audited AS (
  INSERT INTO audit_log (occurred_at, actor_id, actor_label, action, entity_type, entity_id,
                         details)
  SELECT %(now)s, %(user_id)s, 'spike', 'order.confirmed', 'sales_order', %(order_id)s::text,
         %(details)s::json
),
answered AS (
  UPDATE idempotency_keys SET status_code = 200, response_body = %(answer)s
  WHERE id = %(record)s
)
SELECT count(*) AS taken FROM reserved
"""


class LineIn(BaseModel):
    """A line as the client sends it."""

    product_id: int
    quantity: Decimal


class OrderIn(BaseModel):
    """A new order."""

    customer_id: int
    lines: list[LineIn]


class LineOut(BaseModel):
    """A line of the answer."""

    id: int
    line_no: int
    product_id: int
    sku: str
    product_name: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


class OrderOut(BaseModel):
    """The order as an answer."""

    id: int
    number: str
    status: str
    customer_id: int
    total: Decimal
    lines: list[LineOut]


class Confirmed(BaseModel):
    """A confirmed order as an answer."""

    id: int
    number: str
    status: str
    customer_id: int
    total: Decimal
    reserved_lines: int


ORDER = TypeAdapter(OrderOut)
CONFIRMED = TypeAdapter(Confirmed)


def routes(pool: AsyncConnectionPool, user_id: list[int]) -> APIRouter:
    """The two order endpoints on ``pool``, acting as the user whose id is ``user_id[0]``."""
    router = APIRouter()

    async def claim(connection: AsyncConnection, key: str, path: str, body: bytes) -> int:
        cursor = await connection.execute(
            CLAIM,
            {
                "user_id": user_id[0],
                "key": key,
                "path": path,
                "hash": uuid.uuid5(uuid.NAMESPACE_URL, path + body.hex()).hex,
                "now": datetime.now(UTC),
            },
        )
        row = await cursor.fetchone()
        if row is None:
            raise HTTPException(409, "key already used")
        return int(row[0])

    @router.post("/orders", status_code=201)
    async def place(order: OrderIn, idempotency_key: str = Header()) -> Response:
        """Place a pending order at the customer's tier prices."""
        products = [line.product_id for line in order.lines]
        now = datetime.now(UTC)
        async with pool.connection() as connection, connection.transaction():
            record = await claim(
                connection, idempotency_key, "/orders", order.model_dump_json().encode()
            )
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(ORDERING, {"products": products, "customer_id": order.customer_id})
            found = await cursor.fetchall()
            if not found or not found[0]["customer_active"]:
                raise HTTPException(422, "customer")
            if any(not row["is_active"] for row in found):
                raise HTTPException(422, "product")
            totals = [
                (line.quantity * row["price"]).quantize(CENT)
                for line, row in zip(order.lines, found, strict=True)
            ]
            total = sum(totals, Decimal(0))
            details = {
                "customer_id": order.customer_id,
                "total": str(total),
                "lines": [
                    {"product_id": row["product_id"], "quantity": str(line.quantity)}
                    for line, row in zip(order.lines, found, strict=True)
                ],
            }
            await cursor.execute(
                PLACE,
                {
                    "customer_id": order.customer_id,
                    "total": total,
                    "user_id": user_id[0],
                    "now": now,
                    "today": now.date(),
                    "address_id": found[0]["address_id"],
                    "products": products,
                    "quantities": [line.quantity for line in order.lines],
                    "prices": [row["price"] for row in found],
                    "totals": totals,
                    "details": json.dumps(details),
                },
            )
            placed = await cursor.fetchone()
            assert placed is not None
            answer = ORDER.dump_json(
                OrderOut(
                    id=placed["id"],
                    number=placed["number"],
                    status="pending",
                    customer_id=order.customer_id,
                    total=total,
                    lines=[
                        LineOut(
                            id=line_id,
                            line_no=n,
                            product_id=row["product_id"],
                            sku=row["sku"],
                            product_name=row["name"],
                            unit=row["unit"],
                            quantity=line.quantity,
                            unit_price=row["price"],
                            line_total=line_total,
                        )
                        for n, (line_id, line, row, line_total) in enumerate(
                            zip(placed["line_ids"], order.lines, found, totals, strict=True),
                            start=1,
                        )
                    ],
                )
            )
            await connection.execute(ANSWER, (201, answer.decode(), record))
        return Response(answer, status_code=201, media_type="application/json")

    @router.post("/orders/{order_id}/confirm")
    async def confirm(order_id: int, idempotency_key: str = Header()) -> Response:
        """Reserve every line FEFO, all or nothing."""
        now = datetime.now(UTC)
        path = f"/orders/{order_id}/confirm"
        async with pool.connection() as connection, connection.transaction():
            record = await claim(connection, idempotency_key, path, b"")
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(
                CONFIRMING, {"order_id": order_id, "now": now, "today": now.date()}
            )
            lines = await cursor.fetchall()
            if not lines:
                raise HTTPException(409, "not a pending order")
            head = lines[0]
            await cursor.execute(
                LEVELS,
                {
                    "products": [line["product_id"] for line in lines],
                    "good_until": head["good_until"],
                },
            )
            levels = await cursor.fetchall()
            shares = _fefo(lines, levels, head["number"])
            details = {"number": head["number"], "backordered": []}
            answer = CONFIRMED.dump_json(
                Confirmed(
                    id=order_id,
                    number=head["number"],
                    status="confirmed",
                    customer_id=head["customer_id"],
                    total=head["total"],
                    reserved_lines=len(lines),
                )
            )
            await cursor.execute(
                RESERVE,
                {
                    "levels": [level for level, _, _ in shares],
                    "quantities": [quantity for _, quantity, _ in shares],
                    "references": [reference for _, _, reference in shares],
                    "now": now,
                    "user_id": user_id[0],
                    "order_id": order_id,
                    "details": json.dumps(details),
                    "answer": answer.decode(),
                    "record": record,
                },
            )
            taken = await cursor.fetchone()
            if taken is None or taken["taken"] != len(shares):
                raise HTTPException(409, "stock taken meanwhile")
        return Response(answer, media_type="application/json")

    return router


def _fefo(
    lines: list[dict[str, object]], levels: list[dict[str, object]], number: str
) -> list[tuple[int, Decimal, str]]:
    """Each line's quantity taken from its product's levels in order: (level, quantity,
    reference); a 409 when a line cannot be covered."""
    shares = []
    for line in lines:
        remaining = Decimal(str(line["quantity"]))
        for level in levels:
            if remaining == 0:
                break
            if level["product_id"] != line["product_id"]:
                continue
            take = min(remaining, Decimal(str(level["free"])))
            shares.append((int(str(level["id"])), take, f"{number}/{line['line_no']}"))
            remaining -= take
        if remaining > 0:
            raise HTTPException(409, "insufficient stock")
    return shares
