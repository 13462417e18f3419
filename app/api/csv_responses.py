"""Reports answered as JSON or, with ``format=csv``, as a CSV download."""

import enum
from typing import Annotated, Any

from fastapi import Query


class ReportFormat(enum.StrEnum):
    """How a report is answered."""

    JSON = "json"
    CSV = "csv"


Format = Annotated[ReportFormat, Query(alias="format", description="json, or csv to download")]
CSV_CONTENT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}
