"""Queries on invoices."""

from app.crud.base import CRUDBase
from app.models.billing import CreditNote, Invoice

invoice_crud = CRUDBase(Invoice, search=[Invoice.number, Invoice.customer_name])
credit_note_crud = CRUDBase(
    CreditNote, search=[CreditNote.number, Invoice.number, Invoice.customer_name]
)
