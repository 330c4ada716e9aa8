"""JPKI on the My Number Card: read the user-authentication certificate, sign with its key."""

import hashlib
import os

from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

JPKI_AP = bytes.fromhex("D392F000260100000001")
AUTH_CERT = bytes.fromhex("000A")
AUTH_PIN = bytes.fromhex("0018")
AUTH_KEY = bytes.fromhex("0017")
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class CardError(Exception):
    """The card refused a command."""

    def __init__(self, what, sw):
        super().__init__(f"{what}: {sw:04X}")
        self.sw = sw


class WrongPin(CardError):
    """The PIN was wrong; `tries_left` tries remain."""

    def __init__(self, tries_left):
        super().__init__("wrong PIN", 0x63C0 | tries_left)
        self.tries_left = tries_left


class PinBlocked(CardError):
    """The PIN is blocked: only the municipality can reset it."""

    def __init__(self, sw):
        super().__init__("PIN blocked", sw)


class NoCard(Exception):
    """No card, or the card went away mid-command."""


class Card:
    """A connection to the card in the reader named by $MYNASIM_READER (or the first)."""

    def __init__(self, reader_name=None):
        wanted = reader_name or os.environ.get("MYNASIM_READER")
        found = readers()
        reader = next((r for r in found if str(r) == wanted), found[0] if found else None)
        if reader is None:
            raise NoCard("no reader")
        self.conn = reader.createConnection()
        try:
            self.conn.connect()
        except (NoCardException, CardConnectionException) as e:
            raise NoCard(str(e)) from e

    def close(self):
        self.conn.disconnect()

    def _send(self, apdu):
        try:
            data, sw1, sw2 = self.conn.transmit(list(apdu))
        except CardConnectionException as e:
            raise NoCard(str(e)) from e
        return bytes(data), (sw1 << 8) | sw2

    def _ok(self, what, apdu):
        data, sw = self._send(apdu)
        if sw != 0x9000:
            raise CardError(what, sw)
        return data

    def _select_ef(self, fid):
        self._ok("select EF", bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + fid)

    def select_jpki(self):
        self._ok("select JPKI", bytes([0x00, 0xA4, 0x04, 0x0C, len(JPKI_AP)]) + JPKI_AP)

    def auth_certificate(self):
        """The user-authentication certificate (DER)."""
        self.select_jpki()
        self._select_ef(AUTH_CERT)
        head = self._ok("read", bytes([0x00, 0xB0, 0x00, 0x00, 0x04]))
        size = 4 + int.from_bytes(head[2:4], "big")
        out = b""
        while len(out) < size:
            n = min(256, size - len(out))
            chunk = self._ok("read", bytes([0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, n & 0xFF]))
            out += chunk
        return out

    def tries_left(self):
        """Tries left on the authentication PIN; never costs one."""
        self.select_jpki()
        self._select_ef(AUTH_PIN)
        _, sw = self._send(bytes([0x00, 0x20, 0x00, 0x80]))
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw in (0x6983, 0x6984):
            return 0
        raise CardError("retry query", sw)

    def sign(self, pin, message):
        """Verifies the PIN once and signs SHA-256(message) with the authentication key.

        Never retries a refused PIN: a second wrong try could block the card.
        """
        self.select_jpki()
        self._select_ef(AUTH_PIN)
        pin = pin.encode("ascii")
        _, sw = self._send(bytes([0x00, 0x20, 0x00, 0x80, len(pin)]) + pin)
        if sw & 0xFFF0 == 0x63C0:
            raise WrongPin(sw & 0x0F) if sw & 0x0F else PinBlocked(sw)
        if sw in (0x6983, 0x6984):
            raise PinBlocked(sw)
        if sw != 0x9000:
            raise CardError("verify", sw)
        self._select_ef(AUTH_KEY)
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        return self._ok(
            "sign", bytes([0x80, 0x2A, 0x00, 0x80, len(digest_info)]) + digest_info + b"\x00"
        )
