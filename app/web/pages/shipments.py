"""Shipments: their papers, picking lot by lot, sending them on their way, invoicing them."""

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.core.errors import NotFoundError
from app.kit.downloads import pdf_response
from app.schemas.sales import OrderAction, ShipmentPick
from app.schemas.types import RecordId
from app.services import invoicing, shipment_documents, shipments
from app.services.permissions import Permission
from app.web.forms import checked, form_values, refusals
from app.web.pages.sales import order_page
from app.web.routing import PageDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require

router = page_router()
PAPERS = {
    "pick-list": shipment_documents.pick_list_pdf,
    "delivery-note": shipment_documents.delivery_note_pdf,
}


@router.get("/shipments/{shipment_id}/{paper}.pdf")
def shipment_paper(
    shipment_id: RecordId,
    paper: str,
    db: PageDb,
    caller: PageCaller = page_require(Permission.SALES_MANAGE),
) -> Response:
    """The shipment's pick list or delivery note, as a PDF."""
    if paper not in PAPERS:
        raise NotFoundError("There is no such paper.")
    return pdf_response(PAPERS[paper](db, shipment_id))


@router.post("/shipments/{shipment_id}/{action}", response_class=HTMLResponse)
def change_shipment(
    request: Request,
    form: SubmittedForm,
    shipment_id: RecordId,
    action: str,
    db: PageDb,
    caller: PageCaller = form_require(Permission.SALES_MANAGE),
) -> Response:
    """Confirm a picked line, send the shipment on its way, give it up, or invoice it."""
    shipment = shipments.get_shipment(db, shipment_id)
    with refusals(db) as refused:
        if action == "pick":
            picked = checked(ShipmentPick, form_values(form, ["line_id", "lot_code"]))
            shipments.pick(db, caller.actor, shipment, picked.line_id, picked.lot_code)
        elif action == "dispatch":
            shipments.dispatch(db, caller.actor, shipment)
        elif action == "cancel":
            reason = checked(OrderAction, form_values(form, ["reason"])).reason
            shipments.cancel(db, caller.actor, shipment, reason)
        elif action == "invoice":
            invoicing.invoice_shipment(db, caller.actor, shipment.id)
        else:
            raise NotFoundError("There is no such action.")
        return RedirectResponse(
            f"/orders/{shipment.order_id}?done={action}#{shipment.number}", status_code=303
        )
    return order_page(
        request,
        db,
        caller,
        shipment.order_id,
        values=_submitted(form),
        errors=refused.errors,
        status_code=refused.status_code,
    )


def _submitted(form: FormData) -> dict[str, str]:
    return {key: str(value) for key, value in form.items()}
