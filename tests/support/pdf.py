"""Read a PDF the way a person's reader does: its pages' text, with pdfium."""

import pypdfium2


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page of the PDF ``content``, spaces and line ends made plain."""
    document = pypdfium2.PdfDocument(content)
    try:
        texts = [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()
    return [plain(text) for text in texts]


def plain(text: str) -> str:
    """``text`` with no-break spaces as spaces and line ends as ``\\n``."""
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\r\n", "\n")
