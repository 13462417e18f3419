"""The purchase order as sent to the supplier, as a PDF."""

from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.formatting import company_locale
from app.models.purchasing import PurchaseStatus
from app.services import money
from app.services.documents import Document, render_pdf
from app.services.purchasing import get_purchase

STAMPS = {PurchaseStatus.DRAFT: "Draft, not an order", PurchaseStatus.CANCELLED: "Cancelled"}


def purchase_order_pdf(db: Session, order_id: int) -> Document:
    """Purchase order ``order_id`` printed: supplier, delivery warehouse, lines and total."""
    order = get_purchase(db, order_id)
    amounts = {
        line.line_no: money.line_total(line.quantity, line.unit_cost) for line in order.lines
    }
    return render_pdf(
        "purchase_order.html",
        f"{order.number}.pdf",
        title="Purchase order",
        number=order.number,
        order=order,
        amounts=amounts,
        status=STAMPS.get(order.status, ""),
        currency=get_settings().CURRENCY,
        language=company_locale().language,
    )
