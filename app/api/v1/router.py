"""Every /api/v1 router."""

from fastapi import APIRouter

from app.api.v1 import (
    alerts,
    audit,
    auth,
    catalog,
    customers,
    exports,
    health,
    lots,
    orders,
    prices,
    products,
    purchase_orders,
    reports,
    stock,
    trace,
    users,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(users.sessions_router)
api_router.include_router(catalog.categories_router)
api_router.include_router(products.router)
api_router.include_router(prices.router)
api_router.include_router(catalog.suppliers_router)
api_router.include_router(catalog.warehouses_router)
api_router.include_router(lots.router)
api_router.include_router(stock.router)
api_router.include_router(alerts.router)
api_router.include_router(exports.router)
api_router.include_router(customers.router)
api_router.include_router(orders.router)
api_router.include_router(purchase_orders.router)
api_router.include_router(purchase_orders.suggestions_router)
api_router.include_router(trace.router)
api_router.include_router(reports.router)
api_router.include_router(audit.router)
