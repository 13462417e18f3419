"""Shipments: picked lot by lot, sent on their way, and their papers as PDFs."""

from fastapi import Response

from app.api.deps import DbSession, SalesManager
from app.api.idempotency import Idempotent
from app.api.responses import responses
from app.kit.downloads import PDF_CONTENT, pdf_response
from app.kit.routers import Router
from app.schemas.sales import OrderAction, ShipmentPick, ShipmentRead
from app.schemas.types import RecordId
from app.services import order_views, shipment_documents, shipments

router = Router(prefix="/shipments", tags=["sales"])


@router.get("/{shipment_id}", responses=responses(404))
def read_shipment(shipment_id: RecordId, _: SalesManager, db: DbSession) -> ShipmentRead:
    """One shipment with its lots, what is picked, and where it stands."""
    return order_views.shipment_view(db, shipments.get_shipment(db, shipment_id))


@router.post("/{shipment_id}/pick", response_model=ShipmentRead, responses=responses(404, 409))
def pick_line(
    shipment_id: RecordId,
    body: ShipmentPick,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
) -> Response:
    """Confirm a line of the pick list picked, from the lot scanned: another lot is refused."""

    def act() -> ShipmentRead:
        shipment = shipments.get_shipment(db, shipment_id)
        picked = shipments.pick(db, caller.actor, shipment, body.line_id, body.lot_code)
        return order_views.shipment_view(db, picked)

    return once.respond(body, act)


@router.post("/{shipment_id}/dispatch", response_model=ShipmentRead, responses=responses(404, 409))
def dispatch_shipment(
    shipment_id: RecordId, caller: SalesManager, db: DbSession, once: Idempotent
) -> Response:
    """Send a picked shipment on its way: its lots leave in the ledger."""

    def act() -> ShipmentRead:
        shipment = shipments.get_shipment(db, shipment_id)
        return order_views.shipment_view(db, shipments.dispatch(db, caller.actor, shipment))

    return once.respond(OrderAction(), act)


@router.post("/{shipment_id}/cancel", response_model=ShipmentRead, responses=responses(404, 409))
def cancel_shipment(
    shipment_id: RecordId,
    caller: SalesManager,
    db: DbSession,
    once: Idempotent,
    body: OrderAction | None = None,
) -> Response:
    """Give up a shipment still being picked; its stock stays reserved for the order."""
    action = body or OrderAction()

    def act() -> ShipmentRead:
        shipment = shipments.get_shipment(db, shipment_id)
        cancelled = shipments.cancel(db, caller.actor, shipment, action.reason)
        return order_views.shipment_view(db, cancelled)

    return once.respond(action, act)


@router.get(
    "/{shipment_id}/pick-list",
    response_class=Response,
    responses={**PDF_CONTENT, **responses(404)},
)
def print_pick_list(shipment_id: RecordId, _: SalesManager, db: DbSession) -> Response:
    """The pick list, warehouse by warehouse, first to expire first, as a PDF."""
    return pdf_response(shipment_documents.pick_list_pdf(db, shipment_id))


@router.get(
    "/{shipment_id}/delivery-note",
    response_class=Response,
    responses={**PDF_CONTENT, **responses(404)},
)
def print_delivery_note(shipment_id: RecordId, _: SalesManager, db: DbSession) -> Response:
    """The delivery note that travels with the goods, as a PDF."""
    return pdf_response(shipment_documents.delivery_note_pdf(db, shipment_id))
