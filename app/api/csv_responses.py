"""Reports answered as JSON or, with ``format=csv``, as a CSV download."""

import enum
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

from app.services.csv_writer import write_csv


class ReportFormat(enum.StrEnum):
    """How a report is answered."""

    JSON = "json"
    CSV = "csv"


Format = Annotated[ReportFormat, Query(alias="format", description="json, or csv to download")]
CSV_CONTENT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


def csv_response(name: str, model: type[BaseModel], rows: Sequence[BaseModel]) -> Response:
    """``rows`` (of ``model``) as a CSV attachment named ``name``.csv."""
    body = write_csv(list(model.model_fields), (row.model_dump() for row in rows))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
