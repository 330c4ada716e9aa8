#!/bin/sh
# Signs a message with the card's user-authentication key through OpenSC's PKCS#11 module
# (pkcs11-tool), reads the authentication certificate (pkcs15-tool), and verifies the
# signature with openssl against the certificate's public key.
#   sign-and-verify.sh PIN
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'mynasim: a message signed through OpenSC' >"$work/message"
pkcs11-tool --login --pin "$1" --sign --id 01 --mechanism SHA256-RSA-PKCS \
  --input-file "$work/message" --output-file "$work/signature"
pkcs15-tool --read-certificate 01 >"$work/cert.pem"
openssl x509 -in "$work/cert.pem" -noout -pubkey >"$work/public.pem"
openssl dgst -sha256 -verify "$work/public.pem" -signature "$work/signature" "$work/message"
