"""Files the API and the pages send: CSV attachments and PDF documents."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from app.services.csv_writer import write_csv
from app.services.documents import PDF_TYPE, Document

PDF_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PDF_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The document as a PDF.",
    }
}


def csv_response(name: str, model: type[BaseModel], rows: Sequence[BaseModel]) -> Response:
    """``rows`` (of ``model``) as a CSV attachment named ``name``.csv."""
    return csv_rows_response(name, list(model.model_fields), [row.model_dump() for row in rows])


def csv_rows_response(
    name: str, columns: list[str], rows: Iterable[Mapping[str, object]]
) -> Response:
    """Plain ``rows`` with these ``columns`` as a CSV attachment named ``name``.csv."""
    body = write_csv(columns, rows)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def pdf_response(document: Document) -> Response:
    """``document`` to be shown in the browser (or saved under its file name)."""
    return Response(
        document.content,
        media_type=PDF_TYPE,
        headers={"Content-Disposition": f'inline; filename="{document.filename}"'},
    )
