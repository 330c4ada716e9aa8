#!/usr/bin/python3
"""A relying party's login check, the way a web service that accepts My Number Card logins
does it: read the user-authentication certificate from the card (pyscard), then ask the
validation service by OCSP (OpenSSL) whether it is good. Accepts only a good certificate.

  check_login.py        prints one JSON object: {"verdict": ..., "accepted": true|false}

The service's base URL is $MYNASIM_VALIDATION_URL (an `exec:` scenario with
`validation: true` sets it); its CA and responder certificates come from there too.
Exit status: 0 accepted, 1 refused (revoked, on hold, unknown), 2 no answer.
The interpreter is Debian's /usr/bin/python3, where python3-pyscard is installed.
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from smartcard.System import readers

JPKI_AP = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]


def transmit(conn, apdu):
    data, sw1, sw2 = conn.transmit(apdu)
    if (sw1, sw2) != (0x90, 0x00):
        raise SystemExit(f"card error {sw1:02X} {sw2:02X}")
    return bytes(data)


def read_auth_certificate():
    wanted = os.environ.get("MYNASIM_READER")
    found = readers()
    reader = next((r for r in found if str(r) == wanted), found[0] if found else None)
    if reader is None:
        raise SystemExit("no reader")
    conn = reader.createConnection()
    conn.connect()
    transmit(conn, [0x00, 0xA4, 0x04, 0x0C, len(JPKI_AP)] + JPKI_AP)
    transmit(conn, [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A])
    head = transmit(conn, [0x00, 0xB0, 0x00, 0x00, 0x04])
    size = 4 + ((head[2] << 8) | head[3])
    cert = b""
    while len(cert) < size:
        n = min(256, size - len(cert))
        cert += transmit(conn, [0x00, 0xB0, len(cert) >> 8, len(cert) & 0xFF, n & 0xFF])
    return cert


def main():
    base = os.environ["MYNASIM_VALIDATION_URL"]
    cert = read_auth_certificate()
    with tempfile.TemporaryDirectory() as tmp:
        def fetch(name):
            path = os.path.join(tmp, name)
            with urllib.request.urlopen(base + "certs/" + name, timeout=10) as r, open(path, "wb") as f:
                f.write(r.read())
            return path
        ca, responder = fetch("auth-ca.pem"), fetch("auth-responder.pem")
        der = os.path.join(tmp, "user.der")
        with open(der, "wb") as f:
            f.write(cert)
        pem = os.path.join(tmp, "user.pem")
        subprocess.run(["openssl", "x509", "-inform", "der", "-in", der, "-out", pem], check=True)
        out = subprocess.run(
            ["openssl", "ocsp", "-issuer", ca, "-cert", pem, "-url", base + "ocsp",
             "-VAfile", responder, "-timeout", "10"],
            capture_output=True, text=True)
    text = out.stdout + out.stderr
    if "Response verify OK" not in text:
        print(json.dumps({"verdict": "no answer", "accepted": False}))
        return 2
    status = next((line.split(": ", 1)[1] for line in text.splitlines()
                   if line.startswith(pem + ": ")), "unknown")
    reason = next((line.split(": ", 1)[1] for line in text.splitlines()
                   if line.strip().startswith("Reason: ")), None)
    verdict = status if reason is None else f"{status} ({reason})"
    accepted = status == "good"
    print(json.dumps({"verdict": verdict, "accepted": accepted}))
    return 0 if accepted else 1


if __name__ == "__main__":
    sys.exit(main())
