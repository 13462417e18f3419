"""Queries on invoices."""

from app.crud.base import CRUDBase
from app.models.billing import Invoice

invoice_crud = CRUDBase(Invoice, search=[Invoice.number, Invoice.customer_name])
