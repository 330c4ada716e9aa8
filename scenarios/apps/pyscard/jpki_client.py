#!/usr/bin/python3
"""A small JPKI client written the way app teams write them: pyscard, raw APDUs.

  jpki_client.py cert                 read the user-authentication certificate
  jpki_client.py sign PIN [--retry N] VERIFY the auth PIN, sign a SHA-256 digest with the
                                      authentication key; --retry N retries a refused PIN
                                      N times (a deliberately wrong client: it keeps
                                      trying after 63 C1)
  jpki_client.py sign-without-pin     select JPKI and sign with no VERIFY: succeeds only if
                                      the card still holds a PIN another program verified
  jpki_client.py atr                  the ATR the reader shows
  jpki_client.py basic4 PIN           VERIFY the input-support PIN, read EF 0002 (basic four
                                      information) the way MYNA-RS does — a 7-byte header,
                                      then the rest — and parse it as BER-TLV

Prints one JSON object. The reader is $MYNASIM_READER (mynasim sets it), else the first.
Exit status: 0 done, 2 wrong PIN, 3 PIN blocked, 4 card error.
The interpreter is Debian's /usr/bin/python3, where python3-pyscard is installed.
"""

import hashlib
import json
import os
import sys

from smartcard.System import readers

JPKI_AP = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]
AUTH_CERT = [0x00, 0x0A]
AUTH_PIN = [0x00, 0x18]
AUTH_KEY = [0x00, 0x17]
# DigestInfo prefix for SHA-256 (PKCS #1 v1.5).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


class CardError(Exception):
    def __init__(self, what, sw1, sw2):
        super().__init__(f"{what}: {sw1:02X} {sw2:02X}")
        self.sw = (sw1 << 8) | sw2


def connect():
    wanted = os.environ.get("MYNASIM_READER")
    found = readers()
    reader = next((r for r in found if str(r) == wanted), found[0] if found else None)
    if reader is None:
        raise SystemExit("no reader")
    conn = reader.createConnection()
    conn.connect()
    return conn


def send(conn, what, apdu):
    data, sw1, sw2 = conn.transmit(apdu)
    return bytes(data), sw1, sw2


def ok(conn, what, apdu):
    data, sw1, sw2 = send(conn, what, apdu)
    if (sw1, sw2) != (0x90, 0x00):
        raise CardError(what, sw1, sw2)
    return data


def select_ef(conn, fid):
    ok(conn, "select EF", [0x00, 0xA4, 0x02, 0x0C, 0x02] + fid)


def read_certificate(conn):
    head = ok(conn, "read", [0x00, 0xB0, 0x00, 0x00, 0x04])
    size = 4 + ((head[2] << 8) | head[3])  # 30 82 HH LL
    out = b""
    while len(out) < size:
        n = min(256, size - len(out))
        out += ok(conn, "read", [0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, n & 0xFF])
    return out


TEXT_AP = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08]


def ber_header(data):
    """(tag, length, header size) of the BER object data starts with (2-byte tags)."""
    tag = (data[0] << 8) | data[1]
    first = data[2]
    if first < 0x80:
        return tag, first, 3
    n = first & 0x7F
    return tag, int.from_bytes(data[3:3 + n], "big"), 3 + n


def tlv_children(data):
    out = {}
    while data:
        tag, length, header = ber_header(data)
        out[f"{tag:04X}"] = data[header:header + length]
        data = data[header + length:]
    return out


def basic_four(conn, pin):
    ok(conn, "select text", [0x00, 0xA4, 0x04, 0x0C, len(TEXT_AP)] + TEXT_AP)
    select_ef(conn, [0x00, 0x11])
    pin = list(pin.encode())
    ok(conn, "verify", [0x00, 0x20, 0x00, 0x80, len(pin)] + pin)
    select_ef(conn, [0x00, 0x02])
    head = ok(conn, "read", [0x00, 0xB0, 0x00, 0x00, 0x07])
    _, length, header = ber_header(head)
    size = header + length
    out = head
    while len(out) < size:
        n = min(256, size - len(out))
        out += ok(conn, "read", [0x00, 0xB0, len(out) >> 8, len(out) & 0xFF, n & 0xFF])
    fields = tlv_children(out[header:size])
    print(json.dumps({
        "header": head.hex().upper(),
        "bytes": len(out),
        "name": fields["DF22"].decode(),
        "birth_date": fields["DF24"].decode(),
        "sex": fields["DF25"].decode(),
    }, ensure_ascii=False))
    return 0


def sign_with_auth_key(conn, message):
    """COMPUTE DIGITAL SIGNATURE of SHA-256(message) with the authentication key."""
    select_ef(conn, AUTH_KEY)
    digest_info = SHA256_PREFIX + hashlib.sha256(message).digest()
    apdu = [0x80, 0x2A, 0x00, 0x80, len(digest_info)] + list(digest_info) + [0x00]
    signature = ok(conn, "sign", apdu)
    print(json.dumps({"signature_bytes": len(signature)}))
    return 0


def main(argv):
    conn = connect()
    if argv[:1] == ["atr"]:
        print(json.dumps({"atr": bytes(conn.getATR()).hex(" ").upper()}))
        return 0
    if argv[:1] == ["basic4"] and len(argv) >= 2:
        return basic_four(conn, argv[1])
    ok(conn, "select JPKI", [0x00, 0xA4, 0x04, 0x0C, len(JPKI_AP)] + JPKI_AP)
    if argv[:1] == ["cert"]:
        select_ef(conn, AUTH_CERT)
        cert = read_certificate(conn)
        print(json.dumps({"certificate_bytes": len(cert), "sha256": hashlib.sha256(cert).hexdigest()}))
        return 0
    if argv[:1] == ["sign-without-pin"]:
        return sign_with_auth_key(conn, b"no PIN of mine")
    if argv[:1] == ["sign"] and len(argv) >= 2:
        pin = list(argv[1].encode())
        retries = int(argv[3]) if argv[2:3] == ["--retry"] else 0
        select_ef(conn, AUTH_PIN)
        while True:
            _, sw1, sw2 = send(conn, "verify", [0x00, 0x20, 0x00, 0x80, len(pin)] + pin)
            if (sw1, sw2) == (0x90, 0x00):
                break
            if sw1 == 0x63 and retries > 0:
                retries -= 1
                continue
            print(json.dumps({"error": "verify", "sw": f"{sw1:02X}{sw2:02X}"}))
            return 3 if (sw1, sw2) in ((0x69, 0x83), (0x69, 0x84), (0x63, 0xC0)) else 2
        return sign_with_auth_key(conn, b"mynasim example")
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CardError as e:
        print(json.dumps({"error": str(e)}))
        sys.exit(4)
