"""Where each kind of record has its page, so one page can link the records it names."""

# By the kind of record, as the audit trail names kinds.
RECORD_PAGES = {
    "product": "/products",
    "lot": "/lots",
    "sales_order": "/orders",
    "purchase_order": "/purchase-orders",
    "user": "/admin/users",
}


def record_url(kind: str, record_id: object) -> str | None:
    """The page of the record ``record_id`` of ``kind``, if that kind has pages."""
    page = RECORD_PAGES.get(kind)
    text = str(record_id)
    return f"{page}/{text}" if page and text.isdigit() else None
