"""Read a PDF the way a person's reader does, with pdfium: its pages' text, its first page
drawn."""

from pathlib import Path

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


def running_text(pages: list[str]) -> str:
    """The text of ``pages`` on one line, with the hyphens pdfium marks at line ends restored."""
    return " ".join(pages).replace("\ufffe", "-").replace("\n", " ")


def save_first_page(content: bytes, path: Path, scale: float = 1.5) -> None:
    """Draw the first page of the PDF ``content`` as the PNG image ``path``."""
    document = pypdfium2.PdfDocument(content)
    try:
        document[0].render(scale=scale).to_pil().save(path)
    finally:
        document.close()
