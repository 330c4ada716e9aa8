#!/usr/bin/python3
"""Logs in through OpenSC's PKCS#11 module, signs, logs out (C_Logout), then tries to sign
again in the same session; prints one JSON line of what each step returned.

  logout-then-sign.py PIN

OpenSC's C_Logout re-selects the JPKI application (its answer to CVE-2023-40660), counting
on the card to forget the verified PIN when the application is selected again.
Interpreter: Debian's /usr/bin/python3, where python3-pykcs11 is installed.
"""

import json
import sys

import PyKCS11

MODULE = "opensc-pkcs11.so"


def main(pin):
    lib = PyKCS11.PyKCS11Lib()
    lib.load(MODULE)
    slot = lib.getSlotList(tokenPresent=True)[0]
    session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
    result = {}
    session.login(pin)
    key = session.findObjects(
        [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, (0x01,))]
    )[0]
    mechanism = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
    result["sign_logged_in"] = len(session.sign(key, b"before logout", mechanism))
    session.logout()
    result["logout"] = "ok"
    try:
        result["sign_after_logout"] = len(session.sign(key, b"after logout", mechanism))
    except PyKCS11.PyKCS11Error as e:
        result["sign_after_logout"] = PyKCS11.CKR[e.value]
    session.closeSession()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
