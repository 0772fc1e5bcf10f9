"""QR images of ticket codes (PNG for chat apps and e-mail, SVG for the web)."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from ticketing.tickets import TicketView


def _qr(code: str) -> qrcode.QRCode:
    # Base32 codes are upper-case letters and digits: the library picks the dense
    # alphanumeric mode. Level M survives a scratched or creased phone screen.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=8)
    qr.add_data(code)
    qr.make(fit=True)
    return qr


def qr_png(code: str) -> bytes:
    """A PNG image of `code`."""
    image = _qr(code).make_image(image_factory=PilImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_svg(code: str) -> str:
    """An SVG image of `code` (a single path, scales to any size)."""
    image = _qr(code).make_image(image_factory=SvgPathImage)
    return str(image.to_string(encoding="unicode"))


def ticket_qr_png(ticket: TicketView | str) -> bytes:
    """The PNG QR code of a ticket (or of a code string)."""
    return qr_png(ticket if isinstance(ticket, str) else ticket.code)


def ticket_qr_svg(ticket: TicketView | str) -> str:
    """The SVG QR code of a ticket (or of a code string)."""
    return qr_svg(ticket if isinstance(ticket, str) else ticket.code)
