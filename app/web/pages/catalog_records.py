"""Suppliers, warehouses and categories: a list, a record with its form, a new record's form."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from app.core.errors import NotFoundError
from app.schemas.catalog import (
    CategoryCreate,
    CategoryUpdate,
    SupplierCreate,
    SupplierUpdate,
    WarehouseCreate,
    WarehouseUpdate,
)
from app.schemas.types import RecordId
from app.services import catalog
from app.services.catalog import CatalogKind
from app.services.permissions import Permission
from app.web.form_pages import Field, form_page
from app.web.forms import FormInvalidError, checked, form_values, refusals
from app.web.listing import list_query, listing
from app.web.routing import PageDb, PageReadDb, page_router
from app.web.session import PageCaller, SubmittedForm, form_require, page_require
from app.web.templating import render

PAGE_SIZE = 50
SHOWN = {"active": True, "inactive": False, "all": None}


@dataclass(frozen=True)
class RecordPages:
    """The pages of one catalog kind: its address, names, forms and list columns."""

    path: str
    kind: CatalogKind[Any]
    singular: str
    plural: str
    create: type[BaseModel]
    change: type[BaseModel]
    fields: tuple[Field, ...]
    columns: tuple[Field, ...]
    search_hint: str

    @property
    def sorts(self) -> tuple[str, ...]:
        """The columns the list may be sorted by."""
        return tuple(column.name for column in self.columns)

    @property
    def fixed(self) -> str | None:
        """The field a record keeps once created (its code), if any."""
        editable = self.change.model_fields
        return next((f.name for f in self.fields if f.name not in editable), None)

    def values(self, item: Any) -> dict[str, str]:
        """The form's values of a stored record."""
        stored = {f.name: getattr(item, f.name) for f in self.fields}
        return {name: "" if value is None else str(value) for name, value in stored.items()}


CODE = Field("code", "Code", required=True, hint="Letters, digits and dashes, e.g. MAIN")
NAME = Field("name", "Name", required=True)
ADDRESS = Field("address", "Address", "textarea")
COUNTRY = Field("country", "Country", hint="Two letters, e.g. TR")
KINDS = (
    RecordPages(
        "/suppliers",
        catalog.suppliers,
        "supplier",
        "suppliers",
        SupplierCreate,
        SupplierUpdate,
        (
            CODE,
            NAME,
            COUNTRY,
            Field("contact_name", "Contact"),
            Field("email", "Email", "email"),
            Field("phone", "Phone"),
            ADDRESS,
        ),
        (CODE, NAME, COUNTRY, Field("email", "Email")),
        "Code or name",
    ),
    RecordPages(
        "/warehouses",
        catalog.warehouses,
        "warehouse",
        "warehouses",
        WarehouseCreate,
        WarehouseUpdate,
        (CODE, NAME, ADDRESS),
        (CODE, NAME, ADDRESS),
        "Code or name",
    ),
    RecordPages(
        "/categories",
        catalog.categories,
        "category",
        "categories",
        CategoryCreate,
        CategoryUpdate,
        (
            NAME,
            Field("description", "Description", "textarea"),
            Field(
                "vat_rate",
                "VAT rate (%)",
                hint="Empty: the default rate of the settings.",
                cleared=None,
            ),
        ),
        (NAME, Field("description", "Description"), Field("vat_rate", "VAT rate (%)")),
        "Name",
    ),
)


def record_router(pages: RecordPages) -> APIRouter:
    """The list, new-record and record pages of one catalog kind."""
    router = page_router()
    kind, base = pages.kind, pages.path
    names = [f.name for f in pages.fields]

    def show_form(
        request: Request,
        caller: PageCaller,
        item: Any,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> HTMLResponse:
        return form_page(
            request,
            "catalog/record.html",
            caller,
            values,
            errors,
            status_code,
            pages=pages,
            item=item,
            can_edit=caller.can(Permission.CATALOG_WRITE),
            notice=request.query_params.get("done", ""),
        )

    @router.get(base, response_class=HTMLResponse, name=f"list_{pages.plural}")
    def list_records(
        request: Request,
        db: PageReadDb,
        caller: PageCaller = page_require(Permission.CATALOG_READ),
        show: Annotated[str, Query(pattern="^(active|inactive|all)$")] = "all",
    ) -> Response:
        asked = list_query(request, size=PAGE_SIZE, sorts=pages.sorts)
        rows, total = kind.page(
            db,
            offset=asked.offset,
            limit=PAGE_SIZE,
            search=asked.q or None,
            is_active=SHOWN[show],
            sort=asked.sort,
        )
        shown = listing(request, asked, total)
        if (past_end := shown.past_end(request)) is not None:
            return past_end
        return render(
            request,
            "catalog/list.html",
            caller,
            pages=pages,
            rows=rows,
            total=total,
            listing=shown,
            show=show,
            can_edit=caller.can(Permission.CATALOG_WRITE),
        )

    @router.get(f"{base}/new", response_class=HTMLResponse, name=f"new_{pages.singular}")
    def new_record(
        request: Request,
        caller: PageCaller = page_require(Permission.CATALOG_WRITE),
    ) -> HTMLResponse:
        return show_form(request, caller, None, {}, {})

    @router.post(f"{base}/new", response_class=HTMLResponse, name=f"create_{pages.singular}")
    def create_record(
        request: Request,
        form: SubmittedForm,
        db: PageDb,
        caller: PageCaller = form_require(Permission.CATALOG_WRITE),
    ) -> Response:
        values = form_values(form, names)
        with refusals(db) as refused:
            body = checked(pages.create, values)
            item = kind.create(db, caller.actor, _stored(body.model_dump()))
            return RedirectResponse(f"{base}/{item.id}?done=created", status_code=303)
        return show_form(
            request, caller, None, values, refused.errors, status_code=refused.status_code
        )

    @router.get(f"{base}/{{item_id}}", response_class=HTMLResponse, name=f"{pages.singular}")
    def record_page(
        request: Request,
        item_id: RecordId,
        db: PageDb,
        caller: PageCaller = page_require(Permission.CATALOG_READ),
    ) -> HTMLResponse:
        item = kind.get(db, item_id)
        return show_form(request, caller, item, pages.values(item), {})

    @router.post(
        f"{base}/{{item_id}}", response_class=HTMLResponse, name=f"update_{pages.singular}"
    )
    def update_record(
        request: Request,
        form: SubmittedForm,
        item_id: RecordId,
        db: PageDb,
        caller: PageCaller = form_require(Permission.CATALOG_WRITE),
    ) -> Response:
        item = kind.get(db, item_id)
        values = form_values(form, [name for name in names if name != pages.fixed])
        with refusals(db) as refused:
            body = checked(pages.change, values)
            missing = {
                f.name: f"Enter the {f.label.lower()}."
                for f in pages.fields
                if f.required and f.name != pages.fixed and not values.get(f.name)
            }
            if missing:
                raise FormInvalidError(missing)
            cleared = {f.name: f.cleared for f in pages.fields if not f.required}
            kind.update(db, caller.actor, item, {**cleared, **_stored(body.model_dump())})
            return RedirectResponse(f"{base}/{item.id}?done=saved", status_code=303)
        if pages.fixed:
            values[pages.fixed] = getattr(item, pages.fixed)
        return show_form(
            request, caller, item, values, refused.errors, status_code=refused.status_code
        )

    @router.post(
        f"{base}/{{item_id}}/{{action}}",
        response_class=HTMLResponse,
        name=f"switch_{pages.singular}",
    )
    def switch_record(
        action: str,
        item_id: RecordId,
        db: PageDb,
        caller: PageCaller = form_require(Permission.CATALOG_WRITE),
    ) -> Response:
        item = kind.get(db, item_id)
        if action == "deactivate":
            kind.set_active(db, caller.actor, item, False)
        elif action == "activate":
            kind.set_active(db, caller.actor, item, True)
        else:
            raise NotFoundError(f"There is no such action for a {pages.singular}.")
        return RedirectResponse(f"{base}/{item.id}?done={action}", status_code=303)

    return router


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """The values to store: a field left empty is left out (its default or its cleared value
    applies), never stored as null."""
    return {key: value for key, value in values.items() if value is not None}


router = page_router()
for record_pages in KINDS:
    router.include_router(record_router(record_pages))
