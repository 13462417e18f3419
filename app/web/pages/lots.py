"""Lots: the index by lot code, the trace view (upstream and downstream), status, documents."""

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from app.core import clock
from app.core.errors import InvalidRequestError
from app.kit.downloads import csv_rows_response
from app.kit.uploads import accepts_uploads
from app.models.inventory import LotStatus
from app.schemas.stock import LotStatusChange
from app.schemas.types import RecordId
from app.services import lots, trace, uploads
from app.services.permissions import Permission
from app.web.forms import checked, form_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

router = page_router()
PAGE_SIZE = 50


@router.get("/lots", response_class=HTMLResponse)
def list_lots(
    request: Request,
    db: PageReadDb,
    caller: PageCaller = page_require(Permission.STOCK_READ),
) -> Response:
    """Lots whose code is or starts with the search (a recall starts from a lot code), a page
    at a time, sorted."""
    asked = list_query(request, size=PAGE_SIZE, sorts=lots.LOT_SORTS)
    rows, total = lots.find_by_code(
        db, asked.q or None, offset=asked.offset, limit=PAGE_SIZE, sort=asked.sort
    )
    shown = listing(request, asked, total)
    if (past_end := shown.past_end(request)) is not None:
        return past_end
    return render(
        request,
        "lots/list.html",
        caller,
        lots=rows,
        total=total,
        listing=shown,
        today=clock.today(),
    )


def _lot_page(
    request: Request,
    db: PageDb,
    caller: PageCaller,
    lot_id: RecordId,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    report = trace.trace_lot(db, lot_id)
    return render(
        request,
        "lots/detail.html",
        caller,
        status_code=status_code,
        report=report,
        order_ids={
            event["order_number"]: event["order_id"]
            for event in report.events
            if event["order_number"] and event["order_id"]
        },
        statuses=list(LotStatus),
        values=values or {},
        errors=errors or {},
        can_manage=caller.can(Permission.LOTS_MANAGE),
        can_attach=caller.can(Permission.STOCK_MOVE),
        notice=request.query_params.get("done", ""),
        days_left=(report.lot.best_before - clock.today()).days,
    )


@router.get("/lots/{lot_id}", response_class=HTMLResponse)
def lot_detail(
    request: Request,
    lot_id: RecordId,
    db: PageDb,
    caller: PageCaller = page_require(Permission.TRACE_READ),
) -> HTMLResponse:
    """A lot: where it came from, where it went, what it still holds, its documents."""
    return _lot_page(request, db, caller, lot_id)


@router.get("/lots/{lot_id}/trace.csv")
def lot_trace_csv(
    lot_id: RecordId,
    db: PageReadDb,
    _: PageCaller = page_require(Permission.TRACE_READ),
) -> Response:
    """The lot's events as CSV (the mock-recall list)."""
    report = trace.trace_lot(db, lot_id)
    return csv_rows_response(f"lot-{report.lot.lot_code}-trace", trace.EVENT_COLUMNS, report.events)


@router.post("/lots/{lot_id}/status", response_class=HTMLResponse)
def change_status(
    request: Request,
    form: SubmittedForm,
    lot_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.LOTS_MANAGE),
) -> Response:
    """Quarantine, release, recall or expire the lot, with the reason."""
    values = form_values(form, ["status", "reason"])
    with refusals(db) as refused:
        body = checked(LotStatusChange, values)
        lots.change_status(db, caller.actor, lots.get_lot(db, lot_id), body.status, body.reason)
        return RedirectResponse(f"/lots/{lot_id}?done=status", status_code=303)
    return _lot_page(
        request,
        db,
        caller,
        lot_id,
        values=values,
        errors=refused.errors,
        status_code=refused.status_code,
    )


@router.post("/lots/{lot_id}/documents", response_class=HTMLResponse)
@accepts_uploads
def attach_document(
    request: Request,
    form: SubmittedForm,
    lot_id: RecordId,
    db: PageDb,
    caller: PageCaller = form_require(Permission.STOCK_MOVE),
) -> Response:
    """Attach a certificate or another document to the lot."""
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidRequestError("Choose a file to attach.", field="document")
    data = upload.file.read(uploads.document_limit() + 1)
    lots.attach_document(
        db,
        caller.actor,
        lots.get_lot(db, lot_id),
        filename=upload.filename,
        data=data,
        description=str(form.get("description", "")),
    )
    return RedirectResponse(f"/lots/{lot_id}?done=document", status_code=303)


@router.get("/lots/{lot_id}/documents/{document_id}")
def download_document(
    lot_id: RecordId,
    document_id: RecordId,
    db: PageDb,
    _: PageCaller = page_require(Permission.STOCK_READ),
) -> FileResponse:
    """A document of the lot."""
    file = lots.document_download(db, lot_id, document_id)
    return FileResponse(file.path, media_type=file.media_type, filename=file.filename)
