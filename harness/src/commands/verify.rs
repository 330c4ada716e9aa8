//! `mynasim verify`: a relying party in one command (issue 11; docs/validation.md). Given a
//! signature, the signed data and the signer's certificate, it checks — in the order a
//! relying party documents it (PocketSign's verification API) — the chain to the TEST CA, the
//! validity dates, the signature, and the status through the validation service by OCSP, and
//! prints each check and the verdict.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use der::Decode;
use jiff::Timestamp;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::ocsp::{self, CertIdHash};
use mynasim_simulator::pki::x509;
use mynasim_simulator::validation::client::{self, Verdict};
use mynasim_simulator::validation::timestamp_of;
use x509_cert::certificate::Certificate;

use crate::exit::Error;
use crate::host::validation::http_post;

/// The largest input file read (certificates and signatures are a few kilobytes; data may
/// be a document).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// What to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The signer's certificate (PEM or DER).
    pub certificate: PathBuf,
    /// The signature (raw bytes, or base64/hex text).
    pub signature: PathBuf,
    /// The data that was signed.
    pub data: PathBuf,
    /// The digest of the PKCS#1 v1.5 signature: sha256 (default) or sha1.
    pub digest: Digest,
    /// The validation service's base URL; `None`: no status check.
    pub url: Option<String>,
    /// "Now" for the validity check (default: the wall clock).
    pub at: Option<Timestamp>,
}

/// The digest under the PKCS#1 v1.5 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256 (the JPKI default).
    Sha256,
    /// SHA-1 (old clients).
    Sha1,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(anyhow!("{}: cannot read the {what}: {e}", path.display())))?;
    if meta.len() > MAX_INPUT {
        return Err(Error::invalid(anyhow!(
            "{}: the {what} is over {MAX_INPUT} bytes",
            path.display()
        )));
    }
    std::fs::read(path)
        .map_err(|e| Error::invalid(anyhow!("{}: cannot read the {what}: {e}", path.display())))
}

/// A certificate from PEM or DER.
fn certificate(bytes: &[u8], path: &Path) -> Result<Certificate, Error> {
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => der::pem::decode_vec(text.trim().as_bytes())
            .map(|(_, der)| der)
            .map_err(|e| {
                Error::invalid(anyhow!("{}: not a PEM certificate: {e}", path.display()))
            })?,
        _ => bytes.to_vec(),
    };
    Certificate::from_der(&der)
        .map_err(|e| Error::invalid(anyhow!("{}: not an X.509 certificate: {e}", path.display())))
}

/// The signature bytes: raw (256 bytes for RSA-2048), or hex or base64 text.
fn signature(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    if let Ok(text) = std::str::from_utf8(bytes) {
        let compact: String = text.split_whitespace().collect();
        if let Ok(raw) = mynasim_simulator::hex::decode(&compact) {
            return raw;
        }
        if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(&compact) {
            return raw;
        }
    }
    bytes.to_vec()
}

/// Verifies and prints; the verdict decides the exit status.
///
/// # Errors
/// Unreadable input (2); a refused signature or certificate (1, [`Error::Failed`]); the
/// service unreachable (3).
pub fn run(options: &Options) -> Result<(), Error> {
    let cert = certificate(
        &read(&options.certificate, "certificate")?,
        &options.certificate,
    )?;
    let sig = signature(&read(&options.signature, "signature")?);
    let data = read(&options.data, "data")?;
    let now = options.at.unwrap_or_else(Timestamp::now);
    let mut out = std::io::stdout().lock();
    let mut line = |text: String| {
        let _ = writeln!(out, "{text}");
    };
    line(format!("certificate  {}", cert.tbs_certificate().subject()));
    // 1. The chain: issued by one of the TEST CAs.
    let issuer = [CertKind::Authentication, CertKind::Signature]
        .into_iter()
        .filter_map(|k| jpki::ca(k).ok())
        .find(|ca| {
            x509::verify_signature(
                &cert,
                ca.certificate.tbs_certificate().subject_public_key_info(),
            )
            .is_ok()
        });
    let Some(issuer) = issuer else {
        line("chain        NOT issued by a mynasim TEST CA".to_owned());
        line("verdict      invalid".to_owned());
        return Err(Error::Refused("not issued by a mynasim TEST CA".to_owned()));
    };
    line(format!("chain        issued by {}", issuer.name()));
    // 2. Validity at "now": expired before anything else.
    let validity = cert.tbs_certificate().validity();
    let (from, to) = (
        timestamp_of(validity.not_before),
        timestamp_of(validity.not_after),
    );
    if now > to || now < from {
        line(format!("validity     {from} to {to}: not valid at {now}"));
        let verdict = if now > to { "expired" } else { "not yet valid" };
        line(format!("verdict      {verdict}"));
        return Err(Error::Refused(verdict.to_owned()));
    }
    line(format!("validity     {from} to {to}: valid at {now}"));
    // 3. The signature over the data.
    let spki = cert.tbs_certificate().subject_public_key_info();
    let verified = match options.digest {
        Digest::Sha256 => x509::verify_bytes(&data, &sig, spki).is_ok(),
        Digest::Sha1 => verify_sha1(&data, &sig, spki),
    };
    if !verified {
        line(format!(
            "signature    does NOT verify ({} bytes, PKCS#1 v1.5 with {:?})",
            sig.len(),
            options.digest
        ));
        line("verdict      bad signature".to_owned());
        return Err(Error::Refused("bad signature".to_owned()));
    }
    line(format!(
        "signature    verifies (PKCS#1 v1.5 with {:?})",
        options.digest
    ));
    // 4. The status, by OCSP.
    let Some(url) = &options.url else {
        line("status       not checked (no --url)".to_owned());
        line("verdict      good signature; status unknown".to_owned());
        return Ok(());
    };
    let nonce: [u8; 16] = now.as_nanosecond().to_be_bytes();
    let request = ocsp::cert_id(&cert, &issuer.certificate, CertIdHash::Sha1)
        .and_then(|id| ocsp::request(id, Some(&nonce)))
        .map_err(|e| Error::io(anyhow!("cannot build the OCSP request: {e}")))?;
    let url = format!("{}ocsp", url.trim_end_matches('/').to_owned() + "/");
    let answer = http_post(
        &url,
        "application/ocsp-request",
        &request,
        Duration::from_secs(10),
    );
    let status = match answer {
        Ok(bytes) => client::read_ocsp(&bytes, &cert, &issuer.certificate, Some(&nonce)),
        Err(why) => Verdict::Unavailable(why),
    };
    line(format!("status       {status} (OCSP, {url})"));
    line(format!("verdict      {status}"));
    match status {
        Verdict::Good => Ok(()),
        Verdict::Unavailable(why) => Err(Error::unreachable(anyhow!(
            "the validation service gave no answer: {why}"
        ))),
        other => Err(Error::Refused(other.to_string())),
    }
}

fn verify_sha1(data: &[u8], sig: &[u8], spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> bool {
    use der::referenced::OwnedToRef;
    use rsa::signature::Verifier;
    let Ok(key) = rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::try_from(spki.owned_to_ref()) else {
        return false;
    };
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    key.verify(data, &sig).is_ok()
}
