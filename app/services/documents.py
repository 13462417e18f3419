"""Printed documents: a Jinja2 HTML template per document with print CSS, rendered to PDF by
WeasyPrint (imported on the first document: it takes a second or two). Nothing outside the
templates' folder is ever fetched."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core import formatting
from app.core.config import get_settings

TEMPLATES = Path(__file__).resolve().parent.parent / "documents"
BASE_URL = TEMPLATES.as_uri() + "/"
PDF_TYPE = "application/pdf"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(
    money=formatting.money,
    quantity=formatting.quantity,
    number=formatting.number,
    day=formatting.day,
    moment=formatting.moment,
    country=formatting.country,
)


@dataclass(frozen=True)
class Company:
    """Who the documents come from (the COMPANY_* settings)."""

    name: str
    address_lines: list[str]
    vat_number: str


@dataclass(frozen=True)
class Document:
    """A rendered document and the file name it is offered under."""

    filename: str
    content: bytes


def company() -> Company:
    """The sender of every document."""
    settings = get_settings()
    address = settings.COMPANY_ADDRESS.replace("\\n", "\n")
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    return Company(settings.COMPANY_NAME, lines, settings.COMPANY_VAT_NUMBER)


@cache
def _fetcher_class() -> Any:
    """WeasyPrint's fetcher, held to the templates' folder and inline data."""
    from weasyprint.urls import URLFetcher

    class OwnFiles(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith(("data:", BASE_URL)):
                raise ValueError(f"a document may not load {url}")
            return super().fetch(url, headers)

    return OwnFiles


def render_pdf(template: str, filename: str, **context: Any) -> Document:
    """The PDF of ``template`` (in app/documents) filled with ``context``."""
    html = _environment.get_template(template).render(company=company(), **context)
    from weasyprint import HTML

    fetcher = _fetcher_class()(allowed_protocols={"file", "data"})
    pdf = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
    assert pdf is not None
    return Document(filename, pdf)
