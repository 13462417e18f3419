"""Every /api/v1 router."""

from app.api.responses import with_problems
from app.api.v1 import (
    alerts,
    audit,
    auth,
    catalog,
    customers,
    exports,
    health,
    invoices,
    lots,
    orders,
    prices,
    products,
    purchase_orders,
    reports,
    shipments,
    stock,
    trace,
    users,
)
from app.kit.routers import Router

# Included one by one into the app under /api/v1 rather than nested in one router, which
# would match every request against its routes once more. Each route documents the problems
# its inputs and dependencies can answer with.
API_ROUTERS: list[Router] = [
    with_problems(router)
    for router in (
        health.router,
        auth.router,
        users.router,
        users.sessions_router,
        catalog.categories_router,
        products.router,
        prices.router,
        catalog.suppliers_router,
        catalog.warehouses_router,
        lots.router,
        stock.router,
        alerts.router,
        exports.router,
        customers.router,
        orders.router,
        shipments.router,
        invoices.router,
        purchase_orders.router,
        purchase_orders.suggestions_router,
        trace.router,
        reports.router,
        audit.router,
    )
]
