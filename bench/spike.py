"""The leanest design the bench compares the API with: async FastAPI endpoints on psycopg's
async pool, plain SQL, answers serialised by Pydantic straight to bytes. It serves the two
reads the baseline and the stock-read scenario ask of the API, without authentication, under
whichever ASGI server the bench starts it with (``bench.spike:app``). It imports nothing of the
application, so that its workers hold only what the design needs: its models restate the
API's stock level."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import FastAPI, Query, Response
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, TypeAdapter

from bench.spike_orders import routes

# The stock-read scenario's query (app/services/stock_queries.list_levels) in one statement:
# the page and, beside each row, how many rows match.
LEVELS = """
SELECT sl.product_id, p.sku, p.unit, sl.warehouse_id, w.code AS warehouse_code,
       l.id AS lot_id, l.lot_code, l.best_before, l.status AS lot_status,
       sl.on_hand, sl.reserved, p.net_weight_kg, count(*) OVER () AS total
FROM stock_levels sl
JOIN products p ON p.id = sl.product_id
JOIN warehouses w ON w.id = sl.warehouse_id
JOIN lots l ON l.id = sl.lot_id
WHERE sl.product_id = %s AND sl.on_hand > 0
ORDER BY p.sku, l.best_before, l.id, w.code
LIMIT %s OFFSET %s
"""
GRAM = Decimal("0.001")


class Stocked(BaseModel):
    """What a lot holds in a warehouse, as the query reads it and the answer writes it."""

    product_id: int
    sku: str
    unit: str
    warehouse_id: int
    warehouse_code: str
    lot_id: int
    lot_code: str
    best_before: date
    lot_status: str
    on_hand: Decimal
    reserved: Decimal


class LevelRow(Stocked):
    """One row of the query."""

    net_weight_kg: Decimal
    total: int


class Level(Stocked):
    """A stock level as the API answers it."""

    available: Decimal
    on_hand_kg: Decimal
    available_kg: Decimal


class LevelPage(BaseModel):
    """A page of stock levels."""

    items: list[Level]
    total: int
    limit: int
    offset: int


PAGE = TypeAdapter(LevelPage)
OK = b'{"status":"ok"}'
pool = AsyncConnectionPool(
    os.environ.get("SPIKE_DATABASE_URL", ""),
    min_size=int(os.environ.get("SPIKE_POOL_SIZE", "10")),
    max_size=int(os.environ.get("SPIKE_POOL_SIZE", "10")),
    open=False,
)
acting: list[int] = []  # the user the orders are placed by, found when the worker starts


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """The pool opens with the worker and closes with it."""
    await pool.open(wait=True)
    async with pool.connection() as connection:
        cursor = await connection.execute("SELECT min(id) FROM users WHERE role = 'staff'")
        row = await cursor.fetchone()
        acting[:] = [row[0] if row else 0]
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
app.include_router(routes(pool, acting))


@app.get("/select1")
async def select1() -> Response:
    """SELECT 1 on a pooled connection."""
    async with pool.connection() as connection:
        await connection.execute("SELECT 1")
    return Response(OK, media_type="application/json")


def _level(row: LevelRow) -> Level:
    available = row.on_hand - row.reserved
    return Level(
        **row.model_dump(exclude={"net_weight_kg", "total"}),
        available=available,
        on_hand_kg=(row.on_hand * row.net_weight_kg).quantize(GRAM),
        available_kg=(available * row.net_weight_kg).quantize(GRAM),
    )


@app.get("/stock/levels")
async def levels(
    product_id: int,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """A page of one product's stock levels, as the API's stock read answers it."""
    async with pool.connection() as connection:
        cursor = connection.cursor(row_factory=class_row(LevelRow))
        await cursor.execute(LEVELS, (product_id, limit, offset))
        rows = await cursor.fetchall()
    page = LevelPage(
        items=[_level(row) for row in rows],
        total=rows[0].total if rows else 0,
        limit=limit,
        offset=offset,
    )
    return Response(PAGE.dump_json(page), media_type="application/json")
