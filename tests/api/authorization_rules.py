"""Who may call which API operation, written out by hand: one row per operation (method and
path template) naming the callers allowed, a stranger included where the operation is public,
with a valid request to send. tests/api/test_authorization_matrix.py checks it against the
routes the app serves and calls every operation as every caller."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.models.user import Role
from tests.support.callers import ANONYMOUS

ADMIN = Role.ADMIN.value
MANAGER = Role.MANAGER.value
STAFF = Role.STAFF.value
CUSTOMER = Role.CUSTOMER.value
ROLES = (ADMIN, MANAGER, STAFF, CUSTOMER)
CALLERS = (ANONYMOUS, *ROLES)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
NEW_PASSWORD = "a brand new passphrase 42"


@dataclass(frozen=True)
class Ref:
    """An id of the scene, put into a request body when it is sent."""

    name: str


@dataclass(frozen=True)
class Rule:
    """One operation, the callers allowed to use it and the request to send: a valid body
    (or upload) where the operation takes one, so that a refusal cannot be put down to bad
    input. ``fresh_session`` asks for a login of its own (logging out ends the session)."""

    method: str
    path: str
    allowed: frozenset[str]
    body: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = field(default=None, hash=False)
    fresh_session: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def public(operation: str, **request: Any) -> Rule:
    """An operation anyone may call, without a token."""
    method, path = operation.split(" ", 1)
    return Rule(method, path, frozenset(CALLERS), **request)


def allow(operation: str, *roles: str, **request: Any) -> Rule:
    """An operation only signed-in users of ``roles`` may call."""
    method, path = operation.split(" ", 1)
    return Rule(method, path, frozenset(roles), **request)


V1 = "/api/v1"
A, M, S, C = ADMIN, MANAGER, STAFF, CUSTOMER

# One row per operation. A new route needs its row here before the suite passes.
RULES: tuple[Rule, ...] = (
    # Health and metrics: probes and Prometheus (nginx keeps /metrics to private addresses).
    public("GET /health"),
    public("GET /metrics"),
    public(f"GET {V1}/health/database"),
    public(f"GET {V1}/health/redis"),
    # Signing in and out, self-registration.
    public(f"POST {V1}/auth/login"),
    public(f"POST {V1}/auth/refresh", body={}),
    public(f"POST {V1}/auth/register", body={}),
    allow(f"POST {V1}/auth/logout", A, M, S, C, fresh_session=True),
    # One's own account.
    allow(f"GET {V1}/users/me", A, M, S, C),
    allow(f"PATCH {V1}/users/me", A, M, S, C, body={"full_name": "Renamed Me"}),
    # Accounts and sessions: administrators only.
    allow(
        f"POST {V1}/users",
        A,
        body={"email": "created@example.com", "password": NEW_PASSWORD, "role": ADMIN},
    ),
    allow(f"GET {V1}/users", A),
    allow(f"GET {V1}/users/{{user_id}}", A),
    allow(f"PATCH {V1}/users/{{user_id}}", A, body={"full_name": "Renamed Target"}),
    allow(f"PUT {V1}/users/{{user_id}}/role", A, body={"role": ADMIN}),
    allow(f"POST {V1}/users/{{user_id}}/deactivate", A),
    allow(f"POST {V1}/users/{{user_id}}/activate", A),
    allow(f"POST {V1}/users/{{user_id}}/unlock", A),
    allow(f"POST {V1}/users/{{user_id}}/reset-password", A, body={"new_password": NEW_PASSWORD}),
    allow(f"GET {V1}/users/{{user_id}}/sessions", A),
    allow(f"DELETE {V1}/users/{{user_id}}/sessions", A),
    allow(f"DELETE {V1}/users/{{user_id}}/sessions/{{session_id}}", A),
    allow(f"GET {V1}/sessions", A),
    # Categories, suppliers, warehouses: the back office reads, managers write.
    allow(f"GET {V1}/categories", A, M, S),
    allow(f"GET {V1}/categories/{{item_id}}", A, M, S),
    allow(f"POST {V1}/categories", A, M, body={"name": "Nuts"}),
    allow(f"PATCH {V1}/categories/{{item_id}}", A, M, body={"description": "Edited"}),
    allow(f"POST {V1}/categories/{{item_id}}/deactivate", A, M),
    allow(f"POST {V1}/categories/{{item_id}}/activate", A, M),
    allow(f"GET {V1}/suppliers", A, M, S),
    allow(f"GET {V1}/suppliers/{{item_id}}", A, M, S),
    allow(f"POST {V1}/suppliers", A, M, body={"code": "NEWSUP", "name": "New Supplier"}),
    allow(f"PATCH {V1}/suppliers/{{item_id}}", A, M, body={"name": "Renamed Supplier"}),
    allow(f"POST {V1}/suppliers/{{item_id}}/deactivate", A, M),
    allow(f"POST {V1}/suppliers/{{item_id}}/activate", A, M),
    allow(f"GET {V1}/warehouses", A, M, S),
    allow(f"GET {V1}/warehouses/{{item_id}}", A, M, S),
    allow(f"POST {V1}/warehouses", A, M, body={"code": "NEWWH", "name": "New Warehouse"}),
    allow(f"PATCH {V1}/warehouses/{{item_id}}", A, M, body={"name": "Renamed Warehouse"}),
    allow(f"POST {V1}/warehouses/{{item_id}}/deactivate", A, M),
    allow(f"POST {V1}/warehouses/{{item_id}}/activate", A, M),
    # Products, their image and their tier prices.
    allow(f"GET {V1}/products", A, M, S),
    allow(
        f"POST {V1}/products",
        A,
        M,
        body={"sku": "NEW-SKU", "name": "New Product", "price": "10.00"},
    ),
    allow(f"GET {V1}/products/{{product_id}}", A, M, S),
    allow(f"PATCH {V1}/products/{{product_id}}", A, M, body={"name": "Renamed Product"}),
    allow(f"POST {V1}/products/{{product_id}}/deactivate", A, M),
    allow(f"POST {V1}/products/{{product_id}}/activate", A, M),
    allow(
        f"PUT {V1}/products/{{product_id}}/image",
        A,
        M,
        files={"file": ("date.png", PNG, "image/png")},
    ),
    allow(f"GET {V1}/products/{{product_id}}/image", A, M, S),
    allow(f"GET {V1}/products/{{product_id}}/prices", A, M, S),
    allow(f"PUT {V1}/products/{{product_id}}/prices/{{tier}}", A, M, body={"price": "9.00"}),
    allow(f"DELETE {V1}/products/{{product_id}}/prices/{{tier}}", A, M),
    # Lots and their documents.
    allow(f"GET {V1}/lots", A, M, S),
    allow(f"GET {V1}/lots/{{lot_id}}", A, M, S),
    allow(
        f"POST {V1}/lots/{{lot_id}}/status",
        A,
        M,
        body={"status": "quarantine", "reason": "Moisture check"},
    ),
    allow(f"GET {V1}/lots/{{lot_id}}/documents", A, M, S),
    allow(
        f"POST {V1}/lots/{{lot_id}}/documents",
        A,
        M,
        S,
        files={"file": ("certificate.pdf", PDF, "application/pdf")},
    ),
    allow(f"GET {V1}/lots/{{lot_id}}/documents/{{document_id}}", A, M, S),
    # Stock: staff move it, managers correct it.
    allow(
        f"POST {V1}/stock/receipts",
        A,
        M,
        S,
        body={
            "product_id": Ref("product"),
            "warehouse_id": Ref("warehouse"),
            "lot_code": "LOT-RECEIVED",
            "quantity": "1",
        },
    ),
    allow(
        f"POST {V1}/stock/adjustments",
        A,
        M,
        body={
            "product_id": Ref("product"),
            "lot_id": Ref("lot"),
            "warehouse_id": Ref("warehouse"),
            "quantity": "1",
            "reason": "Recount",
        },
    ),
    allow(
        f"POST {V1}/stock/transfers",
        A,
        M,
        S,
        body={
            "product_id": Ref("product"),
            "lot_id": Ref("lot"),
            "from_warehouse_id": Ref("warehouse"),
            "to_warehouse_id": Ref("spare_warehouse"),
            "quantity": "1",
        },
    ),
    allow(
        f"POST {V1}/stock/waste",
        A,
        M,
        S,
        body={
            "product_id": Ref("product"),
            "lot_id": Ref("lot"),
            "warehouse_id": Ref("warehouse"),
            "quantity": "0.5",
            "reason": "Damaged",
        },
    ),
    allow(
        f"POST {V1}/stock/counts",
        A,
        M,
        S,
        body={
            "warehouse_id": Ref("warehouse"),
            "lines": [{"lot_id": Ref("lot"), "counted_quantity": "40"}],
        },
    ),
    allow(f"GET {V1}/stock/levels", A, M, S),
    allow(f"GET {V1}/stock/movements", A, M, S),
    allow(f"GET {V1}/alerts", A, M, S),
    allow(f"GET {V1}/exports/{{dataset}}.csv", A, M, S),
    # Customers: the back office keeps them; a customer user reads its own record only.
    allow(f"GET {V1}/customers", A, M, S),
    allow(f"POST {V1}/customers", A, M, S, body={"name": "New Customer"}),
    allow(f"GET {V1}/customers/me", C),
    allow(f"GET {V1}/customers/{{customer_id}}", A, M, S),
    allow(f"PATCH {V1}/customers/{{customer_id}}", A, M, S, body={"notes": "Edited"}),
    allow(f"POST {V1}/customers/{{customer_id}}/deactivate", A, M, S),
    allow(f"POST {V1}/customers/{{customer_id}}/activate", A, M, S),
    # Addresses: the back office for any customer, a customer user for its own.
    allow(f"GET {V1}/customers/{{customer_id}}/addresses", A, M, S, C),
    allow(
        f"POST {V1}/customers/{{customer_id}}/addresses",
        A,
        M,
        S,
        C,
        body={"kind": "delivery", "street": "2 Dock Road", "country": "GB"},
    ),
    allow(
        f"PATCH {V1}/customers/{{customer_id}}/addresses/{{address_id}}",
        A,
        M,
        S,
        C,
        body={"label": "Edited"},
    ),
    # Sales orders: the back office runs them all; a customer user places and keeps its own.
    allow(f"GET {V1}/orders", A, M, S, C),
    allow(
        f"POST {V1}/orders",
        A,
        M,
        S,
        C,
        body={
            "customer_id": Ref("customer"),
            "lines": [{"product_id": Ref("product"), "quantity": "1"}],
        },
    ),
    allow(f"GET {V1}/orders/{{order_id}}", A, M, S, C),
    allow(f"PATCH {V1}/orders/{{order_id}}", A, M, S, C, body={"notes": "Edited"}),
    allow(f"POST {V1}/orders/{{order_id}}/confirm", A, M, S),
    allow(f"POST {V1}/orders/{{order_id}}/ship", A, M, S),
    allow(
        f"POST {V1}/orders/{{order_id}}/shipments",
        A,
        M,
        S,
        body={"carrier": "DPD", "lines": [{"line_id": Ref("order_line"), "quantity": "1"}]},
    ),
    allow(f"GET {V1}/orders/{{order_id}}/shipments", A, M, S, C),
    allow(f"POST {V1}/orders/{{order_id}}/fill-backorders", A, M, S),
    allow(f"POST {V1}/orders/fill-backorders", A, M, S),
    allow(
        f"PUT {V1}/orders/{{order_id}}/lines/{{line_id}}/lot",
        A,
        M,
        S,
        body={"lot_id": Ref("lot"), "reason": "Same lot as last time"},
    ),
    allow(f"GET {V1}/shipments/{{shipment_id}}", A, M, S),
    allow(
        f"POST {V1}/shipments/{{shipment_id}}/pick",
        A,
        M,
        S,
        body={"line_id": Ref("shipment_line"), "lot_code": "LOT-1"},
    ),
    allow(f"POST {V1}/shipments/{{shipment_id}}/dispatch", A, M, S),
    allow(f"POST {V1}/shipments/{{shipment_id}}/cancel", A, M, S),
    allow(f"GET {V1}/shipments/{{shipment_id}}/pick-list", A, M, S),
    allow(f"GET {V1}/shipments/{{shipment_id}}/delivery-note", A, M, S),
    allow(f"POST {V1}/shipments/{{shipment_id}}/invoice", A, M, S),
    allow(f"GET {V1}/invoices", A, M, S),
    allow(f"GET {V1}/invoices.csv", A, M, S),
    allow(f"GET {V1}/invoices/{{invoice_id}}", A, M, S),
    allow(f"GET {V1}/invoices/{{invoice_id}}/pdf", A, M, S, C),
    allow(
        f"POST {V1}/invoices/{{invoice_id}}/payments",
        A,
        M,
        S,
        body={"paid_on": date.today().isoformat(), "amount": "0.01", "reference": "BANK-1"},
    ),
    allow(f"GET {V1}/invoices/{{invoice_id}}/payments", A, M, S),
    allow(
        f"POST {V1}/invoices/{{invoice_id}}/credit-notes",
        A,
        M,
        S,
        body={
            "reason": "Price agreed lower",
            "lines": [{"invoice_line_id": Ref("invoice_line"), "amount": "0.01"}],
        },
    ),
    allow(f"GET {V1}/credit-notes", A, M, S),
    allow(f"GET {V1}/credit-notes.csv", A, M, S),
    allow(f"GET {V1}/credit-notes/{{credit_note_id}}", A, M, S),
    allow(f"GET {V1}/credit-notes/{{credit_note_id}}/pdf", A, M, S, C),
    allow(f"GET {V1}/customers/{{customer_id}}/receivables", A, M, S),
    allow(f"GET {V1}/receivables", A, M, S),
    allow(f"POST {V1}/orders/{{order_id}}/deliver", A, M, S),
    allow(f"POST {V1}/orders/{{order_id}}/cancel", A, M, S, C, body={"reason": "Changed plans"}),
    allow(
        f"POST {V1}/orders/{{order_id}}/returns",
        A,
        M,
        S,
        body={"reason": "Damaged", "lines": [{"line_id": Ref("order_line"), "quantity": "1"}]},
    ),
    # Purchasing: staff read and receive, managers order.
    allow(f"GET {V1}/purchase-orders", A, M, S),
    allow(
        f"POST {V1}/purchase-orders",
        A,
        M,
        body={
            "supplier_id": Ref("supplier"),
            "warehouse_id": Ref("warehouse"),
            "lines": [{"product_id": Ref("product"), "quantity": "5"}],
        },
    ),
    allow(f"GET {V1}/purchase-orders/{{order_id}}", A, M, S),
    allow(f"GET {V1}/purchase-orders/{{order_id}}/pdf", A, M, S),
    allow(f"PATCH {V1}/purchase-orders/{{order_id}}", A, M, body={"notes": "Edited"}),
    allow(
        f"PUT {V1}/purchase-orders/{{order_id}}",
        A,
        M,
        body={
            "supplier_id": Ref("supplier"),
            "warehouse_id": Ref("warehouse"),
            "lines": [{"product_id": Ref("product"), "quantity": "3"}],
        },
    ),
    allow(f"POST {V1}/purchase-orders/{{order_id}}/send", A, M),
    allow(f"POST {V1}/purchase-orders/{{order_id}}/cancel", A, M, body={"reason": "Not needed"}),
    allow(
        f"POST {V1}/purchase-orders/{{order_id}}/receipts",
        A,
        M,
        S,
        body={
            "lines": [
                {"line_id": Ref("purchase_line"), "quantity": "1", "lot_code": "LOT-DELIVERED"}
            ]
        },
    ),
    allow(f"GET {V1}/purchase-orders/{{order_id}}/receipts", A, M, S),
    allow(f"GET {V1}/reorder-suggestions", A, M, S),
    allow(
        f"POST {V1}/reorder-suggestions/purchase-order",
        A,
        M,
        body={"supplier_id": Ref("supplier"), "warehouse_id": Ref("warehouse")},
    ),
    # Traceability for the back office; reports and the audit trail for managers.
    allow(f"GET {V1}/trace/lots/{{lot_id}}", A, M, S),
    allow(f"GET {V1}/trace/customers/{{customer_id}}", A, M, S),
    allow(f"GET {V1}/reports/kpis", A, M),
    allow(f"GET {V1}/reports/top-products", A, M),
    allow(f"GET {V1}/reports/stock-valuation", A, M),
    allow(f"GET {V1}/reports/expiring-stock", A, M),
    allow(f"GET {V1}/reports/slow-movers", A, M),
    allow(f"GET {V1}/audit", A, M),
)
