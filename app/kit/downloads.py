"""Files the API and the pages send: CSV attachments."""

from collections.abc import Sequence

from fastapi import Response
from pydantic import BaseModel

from app.services.csv_writer import write_csv


def csv_response(name: str, model: type[BaseModel], rows: Sequence[BaseModel]) -> Response:
    """``rows`` (of ``model``) as a CSV attachment named ``name``.csv."""
    body = write_csv(list(model.model_fields), (row.model_dump() for row in rows))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
