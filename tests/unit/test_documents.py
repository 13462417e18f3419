"""The document renderer: the sender from the settings, and nothing fetched from outside the
templates' folder."""

import pytest

from app.core.config import get_settings
from app.services import documents
from tests.support.pdf import pdf_pages


def test_the_sender_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "COMPANY_NAME", "Anatolian Figs Ltd")
    monkeypatch.setattr(settings, "COMPANY_ADDRESS", "Harbour Road 12\\n20457 Hamburg\n\nGermany")
    monkeypatch.setattr(settings, "COMPANY_VAT_NUMBER", "DE123456789")

    sender = documents.company()

    assert sender.name == "Anatolian Figs Ltd"
    assert sender.address_lines == ["Harbour Road 12", "20457 Hamburg", "Germany"]
    assert sender.vat_number == "DE123456789"


@pytest.mark.parametrize(
    "url", ["file:///etc/hostname", "http://127.0.0.1:9/logo.png", "https://example.com/a.css"]
)
def test_a_document_loads_nothing_from_outside_its_folder(url: str) -> None:
    fetcher = documents._fetcher_class()(allowed_protocols={"file", "data"})

    with pytest.raises(ValueError, match="may not load"):
        fetcher.fetch(url)


def test_the_documents_own_style_sheet_loads() -> None:
    fetcher = documents._fetcher_class()(allowed_protocols={"file", "data"})

    response = fetcher.fetch(documents.BASE_URL + "print.css")
    try:
        assert b"@page" in response.read()
    finally:
        response.close()


def test_a_rendered_document_is_a_pdf_with_selectable_text() -> None:
    rendered = documents.render_pdf(
        "base.html", "sample.pdf", title="Sample", number="S-1", language="en"
    )

    [text] = pdf_pages(rendered.content)
    assert rendered.filename == "sample.pdf"
    assert rendered.content.startswith(b"%PDF-")
    assert "Sample\nS-1" in text
    assert "Page 1 of 1" in text
