//! Checks on X.509 certificates (subject, issuer, validity, extensions, subjectAltName, who
//! signed it) and on signatures made by a `sign` step, the way a relying party checks them.

use der::Decode as _;
use der::referenced::OwnedToRef as _;
use jiff::civil::Date;
use rsa::PublicKey;
use x509_cert::Certificate;

use super::Context;
use crate::scenario::plan::{CertificateChecks, Op};

/// Parses DER.
pub fn parse_certificate(bytes: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(bytes).map_err(|e| format!("not a DER certificate: {e}"))
}

fn public_key(cert: &Certificate) -> Result<PublicKey, String> {
    PublicKey::try_from(
        cert.tbs_certificate()
            .subject_public_key_info()
            .owned_to_ref(),
    )
    .map_err(|e| format!("certificate key is not RSA: {e}"))
}

/// A certificate time as a Japan-time calendar date.
fn jst_date(t: &x509_cert::time::Time) -> Option<Date> {
    let secs = t.to_unix_duration().as_secs();
    let ts = jiff::Timestamp::from_second(i64::try_from(secs).ok()?).ok()?;
    Some(jiff::tz::offset(9).to_datetime(ts).date())
}

/// Every certificate check that does not hold for `data`.
pub fn certificate(c: &CertificateChecks, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    let cert = match parse_certificate(data) {
        Ok(c) => c,
        Err(e) => return vec![format!("certificate: {e}")],
    };
    let tbs = cert.tbs_certificate();
    let subject = tbs.subject().to_string();
    let issuer = tbs.issuer().to_string();
    if let Some(want) = &c.subject_contains
        && !subject.contains(want.as_str())
    {
        failures.push(format!(
            "certificate subject: expected to contain {want:?}, got {subject:?}"
        ));
    }
    if let Some(want) = &c.issuer_contains
        && !issuer.contains(want.as_str())
    {
        failures.push(format!(
            "certificate issuer: expected to contain {want:?}, got {issuer:?}"
        ));
    }
    let not_after = jst_date(&tbs.validity().not_after);
    let not_before = jst_date(&tbs.validity().not_before);
    if let (Some(d), Some(na)) = (c.not_after_before, not_after) {
        let d = d.resolve(ctx.today);
        if na >= d {
            failures.push(format!(
                "certificate notAfter: expected before {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(na)) = (c.not_after_after, not_after) {
        let d = d.resolve(ctx.today);
        if na < d {
            failures.push(format!(
                "certificate notAfter: expected on or after {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(nb)) = (c.not_before_before, not_before) {
        let d = d.resolve(ctx.today);
        if nb > d {
            failures.push(format!(
                "certificate notBefore: expected on or before {d}, got {nb}"
            ));
        }
    }
    let present: Vec<String> = tbs
        .extensions()
        .map(|exts| exts.iter().map(|e| e.extn_id.to_string()).collect())
        .unwrap_or_default();
    for ext in &c.extensions {
        if !present.contains(&ext.oid) {
            failures.push(format!(
                "certificate: extension {} ({}) is missing",
                ext.name, ext.oid
            ));
        }
    }
    for ext in &c.no_extensions {
        if present.contains(&ext.oid) {
            failures.push(format!(
                "certificate: extension {} ({}) is present",
                ext.name, ext.oid
            ));
        }
    }
    if !c.san.is_empty() {
        let values = san_values(&cert);
        for (oid, want) in &c.san {
            match values.iter().find(|(o, _)| o == oid) {
                Some((_, got)) if got == want => {}
                Some((_, got)) => failures.push(format!(
                    "certificate SAN {oid}: expected {want:?}, got {got:?}"
                )),
                None => failures.push(format!("certificate SAN {oid}: missing")),
            }
        }
    }
    if let Some(name) = &c.signed_by {
        match ctx.captures.get(name).map(|b| parse_certificate(b)) {
            Some(Ok(issuer)) => {
                let spki = issuer.tbs_certificate().subject_public_key_info().clone();
                if let Err(e) = mynasim_simulator::pki::x509::verify_signature(&cert, &spki) {
                    failures.push(format!("certificate: not signed by `{name}`: {e}"));
                }
            }
            Some(Err(e)) => failures.push(format!("certificate: capture `{name}`: {e}")),
            None => failures.push(format!("certificate: nothing captured as `{name}`")),
        }
    }
    failures
}

/// subjectAltName otherName values: (OID, UTF8String).
fn san_values(cert: &Certificate) -> Vec<(String, String)> {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|n| match n {
            GeneralName::OtherName(o) => Some((
                o.type_id.to_string(),
                der::asn1::Utf8StringRef::try_from(&o.value)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

/// A `sign` step's signature verifies (`should_verify`) or does not with the key in the
/// capture `name`, over the step's message, the way its scheme defines.
pub fn signature(name: &str, sig: &[u8], ctx: &Context<'_>, should_verify: bool) -> Option<String> {
    let (Op::Sign(op), Some(message)) = (ctx.op, ctx.message) else {
        return Some("signature checks are only for `sign` steps".to_owned());
    };
    let key = match ctx.captures.get(name).map(|b| key_in(b)) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return Some(format!("signature: capture `{name}`: {e}")),
        None => return Some(format!("signature: nothing captured as `{name}`")),
    };
    let verified = match op.scheme() {
        Some(scheme) => scheme
            .verify(&key, message, op.digest, sig)
            .map_err(|e| e.to_string()),
        None => Err(format!(
            "scheme {:02X} has no signature to check",
            op.scheme
        )),
    };
    match (verified, should_verify) {
        (Ok(()), true) | (Err(_), false) => None,
        (Err(why), true) => Some(format!(
            "signature: does not verify with the key of `{name}` ({why})"
        )),
        (Ok(()), false) => Some(format!(
            "signature: verifies with the key of `{name}`, expected it not to"
        )),
    }
}

/// The RSA public key a capture holds: an X.509 certificate's, a CV certificate's subject
/// key, or the first `90`/`91` key inside a record (input-support EF 0007, card-face EF
/// 0001/0002/0005, EF 0006).
pub fn key_in(bytes: &[u8]) -> Result<PublicKey, String> {
    if let Ok(cert) = Certificate::from_der(bytes) {
        return public_key(&cert);
    }
    if let Some(cv) = mynasim_simulator::pki::cv::ParsedCv::parse(bytes) {
        return Ok(cv.subject_key);
    }
    find_rsa_key(bytes).ok_or_else(|| "holds no certificate or 90/91 RSA key".to_owned())
}

/// Depth-first search for a TLV sequence with a `90` exponent and a `91` modulus.
fn find_rsa_key(bytes: &[u8]) -> Option<PublicKey> {
    use mynasim_simulator::apdu::tlv::{self, Tag};
    let objects = tlv::parse_all(bytes, 0).ok()?;
    if objects.iter().any(|o| o.tag == Tag(0x91))
        && let Some(key) = mynasim_simulator::pki::cv::parse_public_key(bytes)
    {
        return Some(key);
    }
    objects.iter().find_map(|o| find_rsa_key(o.value))
}
