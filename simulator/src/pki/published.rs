//! The test PKI's public half, committed under `simulator/keys/ca/` so that clients can
//! trust it without running mynasim: the two JPKI test CA certificates and the public keys
//! of the CV CAs that certify the card-face applications' EF 0004 and the MF chain.
//! A test checks that the files match what the simulator uses; `ci/bless` rewrites them.

use rsa::pkcs8::{EncodePublicKey, LineEnding};

use super::jpki::{self, CertKind};
use super::keys::{CaKey, ca_key};
use super::x509;

/// Where the files live, relative to the repository root.
pub const DIRECTORY: &str = "simulator/keys/ca";

/// One published file: its name under [`DIRECTORY`] and a one-line description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// File name.
    pub file: &'static str,
    /// What it is.
    pub what: &'static str,
    source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Certificate(CertKind),
    Key(CaKey),
}

/// Every published file.
pub const FILES: [Published; 5] = [
    Published {
        file: "jpki-auth-ca.pem",
        what: "JPKI user-authentication test CA certificate (EF 000B)",
        source: Source::Certificate(CertKind::Authentication),
    },
    Published {
        file: "jpki-sign-ca.pem",
        what: "JPKI digital-signature test CA certificate (EF 0002)",
        source: Source::Certificate(CertKind::Signature),
    },
    Published {
        file: "cv-face-issuer-7000023.pem",
        what: "CV CA key certifying the card-face application's EF 0004",
        source: Source::Key(CaKey::CvFaceIssuer),
    },
    Published {
        file: "cv-text-issuer-7000033.pem",
        what: "CV CA key certifying the input-support application's EF 0004",
        source: Source::Key(CaKey::CvTextIssuer),
    },
    Published {
        file: "cv-mf-root-7000020.pem",
        what: "CV root key of the MF chain (GET DATA 00F8)",
        source: Source::Key(CaKey::MfRoot),
    },
];

impl Published {
    /// The same as DER: the certificate, or the key's SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// The test PKI cannot be built (never with the committed keys).
    pub fn der(&self) -> Result<Vec<u8>, x509::CertError> {
        match self.source {
            Source::Certificate(kind) => Ok(jpki::ca(kind)?.der.clone()),
            Source::Key(which) => ca_key(which)
                .map_err(|e| x509::CertError(e.to_string()))?
                .to_public_key()
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| x509::CertError(e.to_string())),
        }
    }

    /// Whether it is a CA certificate (else a CV CA's public key).
    pub fn is_certificate(&self) -> bool {
        matches!(self.source, Source::Certificate(_))
    }

    /// The file's content (PEM).
    pub fn content(&self) -> Result<String, x509::CertError> {
        match self.source {
            Source::Certificate(kind) => Ok(x509::pem(&jpki::ca(kind)?.der)),
            Source::Key(which) => ca_key(which)
                .map_err(|e| x509::CertError(e.to_string()))?
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| x509::CertError(e.to_string())),
        }
    }
}
