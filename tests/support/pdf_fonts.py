"""The fonts a PDF carries, as a reader of the PDF sees them."""

import io

from pypdf import PdfReader


def families_of(pdf: bytes) -> set[str]:
    """The families of the fonts embedded on any page: ``/VRMYHF+Liberation-Sans-Bold`` is a
    subset of Liberation Sans; WeasyPrint names a family's words with dashes."""
    families = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            name = str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1]
            words = [word for word in name.split("-") if word not in {"Bold", "Italic", "Oblique"}]
            families.add(" ".join(words))
    return families
