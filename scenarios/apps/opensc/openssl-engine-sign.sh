#!/bin/sh
# openssl signs through OpenSC's PKCS#11 module (libp11's "pkcs11" engine, Debian
# libengine-pkcs11-openssl) with the card's user-authentication key, then verifies the
# signature against the certificate read from the card.
#   openssl-engine-sign.sh PIN
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'mynasim: signed by openssl through PKCS#11' >"$work/message"
uri="pkcs11:token=JPKI%20%28User%20Authentication%20PIN%29;id=%01;type=private;pin-value=$1"
openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "$uri" \
  -out "$work/signature" "$work/message"
pkcs15-tool --read-certificate 01 >"$work/cert.pem"
openssl x509 -in "$work/cert.pem" -noout -pubkey >"$work/public.pem"
openssl dgst -sha256 -verify "$work/public.pem" -signature "$work/signature" "$work/message"
