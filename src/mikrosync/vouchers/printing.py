"""The printable sheet of a batch: an A4 PDF with N vouchers per page, each with its code (and
password if separate), price, validity, and a QR code of the hotspot login URL with the code
filled in, so a phone camera logs the buyer in.

Made with reportlab (the PDF canvas) and segno (QR encoding), both pure Python. Rendering is
CPU work, so callers run `render_sheet` in a thread; it writes to a spooled temporary file that
the API streams out in chunks, so a 10,000-voucher sheet never sits whole in the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO
from urllib.parse import urlencode

import segno
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from mikrosync.vouchers.service import PrintedVoucher

# Vouchers per page -> (columns, rows). Small enough cards stay cuttable and QR-scannable.
LAYOUTS: dict[int, tuple[int, int]] = {
    8: (2, 4),
    10: (2, 5),
    12: (3, 4),
    21: (3, 7),
    24: (3, 8),
    40: (4, 10),
}
DEFAULT_PER_PAGE = 21
QR_MASK = 2
QR_QUIET = 1  # modules of white border inside the card (the card's own margin adds more)
MARGIN = 10 * mm
GAP = 2 * mm


@dataclass(frozen=True)
class SheetInfo:
    """What every card of a batch shows besides its code."""

    title: str
    price: Decimal
    currency: str
    validity: str
    login_url: str
    show_password: bool


def login_link(login_url: str, code: str, password: str) -> str:
    """The hotspot login URL with the credentials filled in (RouterOS's login page reads
    `username` and `password` from the query)."""
    separator = "&" if "?" in login_url else "?"
    return f"{login_url}{separator}{urlencode({'username': code, 'password': password})}"


def _qr(canvas: Canvas, value: str, x: float, y: float, size: float) -> None:
    """The QR code as a tiny greyscale image, one pixel per module, scaled up unsmoothed.

    The mask is fixed: choosing the "best" of eight (the standard's penalty scoring) is most
    of the encoding time and any mask scans. An image rather than a path of rectangles: the
    PDF then holds a few hundred bytes per code instead of hundreds of drawing operators,
    which keeps a 2,000-voucher sheet to seconds.
    """
    matrix = segno.make_qr(value, error="m", mask=QR_MASK, boost_error=False).matrix
    side = len(matrix) + 2 * QR_QUIET
    blank = b"\xff" * side
    edge = b"\xff" * QR_QUIET
    rows = [blank] * QR_QUIET
    rows += [edge + bytes(0 if dark else 255 for dark in row) + edge for row in matrix]
    rows += [blank] * QR_QUIET
    image = Image.frombytes("L", (side, side), b"".join(rows))
    canvas.drawImage(ImageReader(image), x, y, size, size)


def _card(
    canvas: Canvas, info: SheetInfo, voucher: PrintedVoucher, x: float, y: float, w: float, h: float
) -> None:
    canvas.setLineWidth(0.4)
    canvas.setDash(2, 2)
    canvas.rect(x, y, w, h)
    canvas.setDash()
    qr_size = min(h - 4 * mm, w * 0.42)
    _qr(
        canvas,
        login_link(info.login_url, voucher.code, voucher.password),
        x + w - qr_size - 2 * mm,
        y + (h - qr_size) / 2,
        qr_size,
    )
    text_x = x + 3 * mm
    line = min(h / 6, 5 * mm)
    top = y + h - line - 1 * mm
    canvas.setFont("Helvetica", min(8, line * 0.8))
    canvas.drawString(text_x, top, info.title[:40])
    code_size = min(16, line * 1.5, (w - qr_size - 6 * mm) / max(len(voucher.code), 1) * 1.6)
    canvas.setFont("Courier-Bold", code_size)
    canvas.drawString(text_x, top - line * 1.6, voucher.code)
    canvas.setFont("Helvetica", min(8, line * 0.8))
    rows = []
    if info.show_password:
        rows.append(f"Password: {voucher.password}")
    rows.append(f"Price: {info.price} {info.currency}".strip())
    rows.append(f"Valid: {info.validity}")
    for position, text in enumerate(rows):
        canvas.drawString(text_x, top - line * (2.8 + position), text[:40])


def _pages(vouchers: Iterable[PrintedVoucher], per_page: int) -> Iterator[list[PrintedVoucher]]:
    page: list[PrintedVoucher] = []
    for voucher in vouchers:
        page.append(voucher)
        if len(page) == per_page:
            yield page
            page = []
    if page:
        yield page


def render_sheet(
    out: IO[bytes],
    info: SheetInfo,
    vouchers: Iterable[PrintedVoucher],
    *,
    per_page: int = DEFAULT_PER_PAGE,
) -> int:
    """Write the PDF to `out`; returns the number of pages (at least one)."""
    columns, rows = LAYOUTS[per_page]
    width, height = A4
    card_w = (width - 2 * MARGIN - (columns - 1) * GAP) / columns
    card_h = (height - 2 * MARGIN - (rows - 1) * GAP) / rows
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(info.title)
    canvas.setCreator("mikrosync")
    pages = 0
    for page in _pages(vouchers, per_page):
        for index, voucher in enumerate(page):
            column, row = index % columns, index // columns
            x = MARGIN + column * (card_w + GAP)
            y = height - MARGIN - (row + 1) * card_h - row * GAP
            _card(canvas, info, voucher, x, y, card_w, card_h)
        canvas.showPage()
        pages += 1
    if pages == 0:
        canvas.setFont("Helvetica", 12)
        canvas.drawString(MARGIN, height - MARGIN - 12, "No vouchers in this batch.")
        canvas.showPage()
        pages = 1
    canvas.save()
    return pages
