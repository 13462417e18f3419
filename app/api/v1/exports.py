"""CSV exports, the same as `dfims export`."""

from fastapi import Response

from app.api.deps import ReadDbSession, StockReader
from app.kit.routers import Router
from app.schemas.exports import Dataset
from app.services import csv_io

router = Router(prefix="/exports", tags=["exports"])


@router.get(
    "/{dataset}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(dataset: Dataset, _: StockReader, db: ReadDbSession) -> Response:
    """Products, suppliers or stock levels as CSV (the import's columns for the first two)."""
    return Response(
        csv_io.export(db, dataset),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{dataset}.csv"'},
    )
