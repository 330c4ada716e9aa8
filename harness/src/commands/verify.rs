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
use sha2::Digest as _;
use x509_cert::certificate::Certificate;

use crate::exit::Error;
use crate::host::validation::http_post;

/// The largest input file read (certificates and signatures are a few kilobytes; data may
/// be a document).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// What to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// A raw signature and the signer's certificate, or a CMS file.
    pub input: Input,
    /// The data that was signed (for a CMS file with its content inside: none).
    pub data: Option<PathBuf>,
    /// The digest of the PKCS#1 v1.5 signature: sha256 (default) or sha1.
    pub digest: Digest,
    /// The validation service's base URL; `None`: no status check.
    pub url: Option<String>,
    /// "Now" for the validity check (default: the wall clock).
    pub at: Option<Timestamp>,
}

/// Where the signature comes from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A raw PKCS#1 v1.5 signature (bytes, hex or base64) and the signer's certificate.
    Raw {
        /// The signer's certificate (PEM or DER).
        certificate: PathBuf,
        /// The signature.
        signature: PathBuf,
    },
    /// A CMS SignedData (PKCS #7, RFC 5652; DER or PEM), detached or with its content,
    /// carrying the signer's certificate.
    Cms(PathBuf),
}

/// What the signature is over, by whom.
struct Signed {
    cert: Certificate,
    /// The bytes the signature covers (the data, or a CMS signer's signed attributes).
    covered: Vec<u8>,
    signature: Vec<u8>,
    digest: Digest,
    /// What to print about the form.
    form: String,
}

/// Reads a CMS SignedData (RFC 5652 §5): its one signer's certificate (from the
/// certificates it carries, by issuer and serial or key identifier), the content (inside,
/// or `data`), and — with signed attributes — the messageDigest, which must be the content's
/// digest; the signature then covers the DER of the signed attributes (§5.4).
fn cms(bytes: &[u8], path: &Path, data: Option<Vec<u8>>) -> Result<Signed, Error> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::{SignedData, SignerIdentifier};
    use der::Encode;
    let bad = |why: String| Error::invalid(anyhow!("{}: {why}", path.display()));
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => der::pem::decode_vec(text.trim().as_bytes())
            .map(|(_, der)| der)
            .map_err(|e| bad(format!("not PEM: {e}")))?,
        _ => bytes.to_vec(),
    };
    let info =
        ContentInfo::from_der(&der).map_err(|e| bad(format!("not a CMS ContentInfo: {e}")))?;
    let signed_data_oid = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
    if info.content_type != signed_data_oid {
        return Err(bad(format!("a CMS {}, not SignedData", info.content_type)));
    }
    let sd: SignedData = info
        .content
        .decode_as()
        .map_err(|e| bad(format!("the SignedData does not parse: {e}")))?;
    let signer = match sd.signer_infos.0.as_slice() {
        [one] => one,
        many => {
            return Err(bad(format!(
                "{} signers; mynasim verify checks one",
                many.len()
            )));
        }
    };
    let cert = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            CertificateChoices::Other(_) => None,
        })
        .find(|c| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(i) => {
                c.tbs_certificate().serial_number() == &i.serial_number
                    && c.tbs_certificate().issuer() == &i.issuer
            }
            SignerIdentifier::SubjectKeyIdentifier(_) => true,
        })
        .cloned()
        .ok_or_else(|| bad("the signer's certificate is not in the CMS file".to_owned()))?;
    let content = match (&sd.encap_content_info.econtent, data) {
        (_, Some(data)) => data,
        (Some(any), None) => any
            .decode_as::<der::asn1::OctetString>()
            .map(|o| o.as_bytes().to_vec())
            .map_err(|e| bad(format!("the content is not an OCTET STRING: {e}")))?,
        (None, None) => {
            return Err(bad(
                "a detached signature: give the signed data with --data".to_owned(),
            ));
        }
    };
    let digest = match signer.digest_alg.oid.to_string().as_str() {
        "2.16.840.1.101.3.4.2.1" => Digest::Sha256,
        "1.3.14.3.2.26" => Digest::Sha1,
        other => {
            return Err(bad(format!(
                "digest {other}: mynasim verify knows SHA-256 and SHA-1"
            )));
        }
    };
    let signature = signer.signature.as_bytes().to_vec();
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(Signed {
            cert,
            covered: content,
            signature,
            digest,
            form: "CMS, no signed attributes".to_owned(),
        });
    };
    let message_digest = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
    let claimed = attrs
        .iter()
        .find(|a| a.oid == message_digest)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
        .ok_or_else(|| bad("signed attributes without a messageDigest".to_owned()))?;
    let actual = match digest {
        Digest::Sha256 => sha2::Sha256::digest(&content).to_vec(),
        Digest::Sha1 => sha1::Sha1::digest(&content).to_vec(),
    };
    if claimed.as_bytes() != actual.as_slice() {
        // Nothing can verify: the signed attributes are about other content.
        return Ok(Signed {
            cert,
            covered: Vec::new(),
            signature: Vec::new(),
            digest,
            form: "CMS: its messageDigest is not the content's digest".to_owned(),
        });
    }
    Ok(Signed {
        cert,
        covered: attrs.to_der().map_err(|e| bad(e.to_string()))?,
        signature,
        digest,
        form: "CMS with signed attributes".to_owned(),
    })
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
    let data = match &options.data {
        Some(path) => Some(read(path, "data")?),
        None => None,
    };
    let signed = match &options.input {
        Input::Raw {
            certificate: cert_path,
            signature: sig_path,
        } => Signed {
            cert: certificate(&read(cert_path, "certificate")?, cert_path)?,
            signature: signature(&read(sig_path, "signature")?),
            covered: data
                .ok_or_else(|| Error::invalid(anyhow!("give the signed data with --data")))?,
            digest: options.digest,
            form: "PKCS#1 v1.5".to_owned(),
        },
        Input::Cms(path) => cms(&read(path, "CMS file")?, path, data)?,
    };
    let Signed {
        cert,
        covered: data,
        signature: sig,
        digest,
        form,
    } = signed;
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
    let verified = !sig.is_empty()
        && match digest {
            Digest::Sha256 => x509::verify_bytes(&data, &sig, spki).is_ok(),
            Digest::Sha1 => verify_sha1(&data, &sig, spki),
        };
    if !verified {
        line(format!(
            "signature    does NOT verify ({form}, {} bytes, {digest:?})",
            sig.len()
        ));
        line("verdict      bad signature".to_owned());
        return Err(Error::Refused("bad signature".to_owned()));
    }
    line(format!("signature    verifies ({form}, {digest:?})"));
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
