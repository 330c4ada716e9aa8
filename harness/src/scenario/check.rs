//! Evaluating a step's expectations against what the card answered.

use std::collections::HashMap;

use der::Decode as _;
use der::referenced::OwnedToRef as _;
use jiff::civil::Date;
use mynasim_simulator::apdu::tlv::{self, Tag, Tlv};
use mynasim_simulator::hex;
use mynasim_simulator::pki::cv::ParsedCv;
use mynasim_simulator::profile::MyNumber;
use rsa::{Pkcs1v15Sign, PublicKey};
use sha2::Digest as _;
use x509_cert::Certificate;

use super::compile::{DateRef, Expectations, Op, SignOp};
use super::model::{Digest, Validity};

/// What the checks can see besides the response.
pub struct Context<'a> {
    /// Data kept by earlier steps.
    pub captures: &'a HashMap<String, Vec<u8>>,
    /// The profile's "today".
    pub today: Date,
    /// The operation of this step.
    pub op: &'a Op,
    /// For `sign` steps: the message signed.
    pub message: Option<&'a [u8]>,
}

/// Checks every expectation; returns what did not hold (empty: passed).
pub fn check(e: &Expectations, sw: u16, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    if !e.sw.matches(sw) {
        failures.push(format!(
            "SW: expected {}, got {:02X} {:02X}",
            e.sw.display(),
            sw >> 8,
            sw & 0xFF
        ));
    }
    if let Some(want) = &e.data
        && data != want.as_slice()
    {
        failures.push(format!(
            "data: expected {}, got {}",
            hex::spaced(want),
            shorten(data)
        ));
    }
    if let Some(prefix) = &e.data_prefix
        && !data.starts_with(prefix)
    {
        failures.push(format!(
            "data: expected to start with {}, got {}",
            hex::spaced(prefix),
            shorten(data)
        ));
    }
    if let Some(n) = e.data_length
        && data.len() != n
    {
        failures.push(format!("data length: expected {n}, got {}", data.len()));
    }
    if let Some(re) = &e.data_matches
        && !re.is_match(&hex::spaced(data))
    {
        failures.push(format!(
            "data: expected to match /{}/, got {}",
            re.as_str(),
            shorten(data)
        ));
    }
    if let Some(text) = &e.text {
        let want = text.render(ctx.captures);
        if data != want.as_slice() {
            failures.push(format!(
                "text: expected {:?}, got {:?}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(data)
            ));
        }
    }
    if let Some(name) = &e.same_as {
        let other = ctx
            .captures
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if data != other {
            failures.push(format!(
                "data: expected the same bytes as `{name}` ({}), got {}",
                shorten(other),
                shorten(data)
            ));
        }
    }
    if let Some(name) = &e.differs_from {
        let other = ctx
            .captures
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if data == other {
            failures.push(format!(
                "data: expected to differ from `{name}`, got the same {}",
                shorten(data)
            ));
        }
    }
    if let Some(c) = &e.certificate {
        certificate(c, data, ctx, &mut failures);
    }
    if let Some(name) = &e.signature_verifies_with {
        signature(name, data, ctx, true, &mut failures);
    }
    if let Some(name) = &e.signature_does_not_verify_with {
        signature(name, data, ctx, false, &mut failures);
    }
    if let Some(want) = e.my_number_check_digit {
        my_number(want, data, &mut failures);
    }
    for (i, t) in e.tlv.iter().enumerate() {
        if let Err(msg) = tlv_check(t, data, ctx.captures) {
            failures.push(format!("tlv[{i}]: {msg}"));
        }
    }
    if let Some(name) = &e.cv_certificate_verifies_with {
        cv_certificate(name, data, ctx, true, &mut failures);
    }
    if let Some(name) = &e.cv_certificate_does_not_verify_with {
        cv_certificate(name, data, ctx, false, &mut failures);
    }
    if let Some(i) = &e.integrity_record {
        integrity_record(i, data, ctx, &mut failures);
    }
    failures
}

/// Spaced hex, cut after 48 bytes.
pub fn shorten(data: &[u8]) -> String {
    if data.is_empty() {
        return "no data".to_owned();
    }
    if data.len() <= 48 {
        return hex::spaced(data);
    }
    format!(
        "{} … ({} bytes)",
        hex::spaced(data.get(..48).unwrap_or(data)),
        data.len()
    )
}

fn parse_certificate(bytes: &[u8]) -> Result<Certificate, String> {
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

fn resolve(d: DateRef, today: Date) -> Date {
    match d {
        DateRef::Today => today,
        DateRef::Day(day) => day,
    }
}

/// A certificate time as a Japan-time calendar date.
fn jst_date(t: &x509_cert::time::Time) -> Option<Date> {
    let secs = t.to_unix_duration().as_secs();
    let ts = jiff::Timestamp::from_second(i64::try_from(secs).ok()?).ok()?;
    Some(jiff::tz::offset(9).to_datetime(ts).date())
}

fn certificate(
    c: &super::compile::CertificateChecks,
    data: &[u8],
    ctx: &Context<'_>,
    failures: &mut Vec<String>,
) {
    let cert = match parse_certificate(data) {
        Ok(c) => c,
        Err(e) => {
            failures.push(format!("certificate: {e}"));
            return;
        }
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
        let d = resolve(d, ctx.today);
        if na >= d {
            failures.push(format!(
                "certificate notAfter: expected before {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(na)) = (c.not_after_after, not_after) {
        let d = resolve(d, ctx.today);
        if na < d {
            failures.push(format!(
                "certificate notAfter: expected on or after {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(nb)) = (c.not_before_before, not_before) {
        let d = resolve(d, ctx.today);
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
    for (name, oid) in &c.extensions {
        if !present.contains(oid) {
            failures.push(format!("certificate: extension {name} ({oid}) is missing"));
        }
    }
    for (name, oid) in &c.no_extensions {
        if present.contains(oid) {
            failures.push(format!("certificate: extension {name} ({oid}) is present"));
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
        let issuer_cert = ctx.captures.get(name).map(|b| parse_certificate(b));
        match issuer_cert {
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

fn signature(
    name: &str,
    sig: &[u8],
    ctx: &Context<'_>,
    should_verify: bool,
    failures: &mut Vec<String>,
) {
    let (Op::Sign(op), Some(message)) = (ctx.op, ctx.message) else {
        failures.push("signature checks are only for `sign` steps".to_owned());
        return;
    };
    let key = match ctx.captures.get(name).map(|b| key_in(b)) {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            failures.push(format!("signature: capture `{name}`: {e}"));
            return;
        }
        None => {
            failures.push(format!("signature: nothing captured as `{name}`"));
            return;
        }
    };
    match (verify_signature(&key, op, message, sig), should_verify) {
        (Ok(()), true) | (Err(_), false) => {}
        (Err(why), true) => {
            failures.push(format!(
                "signature: does not verify with the key of `{name}` ({why})"
            ));
        }
        (Ok(()), false) => {
            failures.push(format!(
                "signature: verifies with the key of `{name}`, expected it not to"
            ));
        }
    }
}

/// The RSA public key a capture holds: an X.509 certificate's, a CV certificate's subject
/// key, or the first `90`/`91` key inside a record (input-support EF 0007, card-face EF
/// 0001/0002/0005, EF 0006).
pub fn key_in(bytes: &[u8]) -> Result<PublicKey, String> {
    if let Ok(cert) = Certificate::from_der(bytes) {
        return public_key(&cert);
    }
    if let Some(cv) = ParsedCv::parse(bytes) {
        return Ok(cv.subject_key);
    }
    find_rsa_key(bytes).ok_or_else(|| "holds no certificate or 90/91 RSA key".to_owned())
}

/// Depth-first search for a TLV sequence with a `90` exponent and a `91` modulus.
fn find_rsa_key(bytes: &[u8]) -> Option<PublicKey> {
    let objects = tlv::parse_all(bytes, 0).ok()?;
    if objects.iter().any(|o| o.tag == Tag(0x91))
        && let Some(key) = mynasim_simulator::pki::cv::parse_public_key(bytes)
    {
        return Some(key);
    }
    objects.iter().find_map(|o| find_rsa_key(o.value))
}

/// Verifies a `sign` step's result/// Verifies a `sign` step's result the way its scheme defines (reference §2.7).
pub fn verify_signature(
    key: &PublicKey,
    op: &SignOp,
    message: &[u8],
    sig: &[u8],
) -> Result<(), String> {
    let sha256 = sha2::Sha256::digest(message).to_vec();
    let result = match op.scheme {
        0 => match op.digest {
            Digest::Sha256 => key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha256, sig),
            Digest::Sha1 => key.verify(
                Pkcs1v15Sign::new::<sha1::Sha1>(),
                &sha1::Sha1::digest(message),
                sig,
            ),
            Digest::None => key.verify(Pkcs1v15Sign::new_unprefixed(), message, sig),
        },
        1 => key.verify(Pkcs1v15Sign::new_unprefixed(), &sha256, sig),
        2 | 3 => key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &sha256, sig),
        4 | 5 => key.pss_verify_prehash::<sha2::Sha256>(&sha256, sig),
        other => return Err(format!("scheme {other:02X} has no signature to check")),
    };
    result.map_err(|e| e.to_string())
}

fn my_number(want: Validity, data: &[u8], failures: &mut Vec<String>) {
    // EF 0001 (`FF 10 0C <digits>`) or the 12 digits alone.
    let digits = if data.starts_with(&[0xFF, 0x10, 0x0C]) {
        data.get(3..15)
    } else {
        data.get(..12)
    };
    let Some(number) = digits
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|s| MyNumber::parse(s).ok())
    else {
        failures.push(format!("my number: no 12 digits in {}", shorten(data)));
        return;
    };
    let valid = number.has_valid_check_digit();
    if valid != (want == Validity::Valid) {
        failures.push(format!(
            "my number {number}: check digit expected {}, is {}",
            if want == Validity::Valid {
                "valid"
            } else {
                "invalid"
            },
            if valid { "valid" } else { "invalid" }
        ));
    }
}

fn tlv_check(
    t: &super::compile::TlvCheck,
    data: &[u8],
    captures: &HashMap<String, Vec<u8>>,
) -> Result<(), String> {
    let data = data.get(t.skip..).unwrap_or_default();
    if !t.present {
        let (parent, last) = t.path.split_at(t.path.len().saturating_sub(1));
        let parent = find_path(data, parent)?;
        let children = tlv::parse_all(parent, 0).map_err(|e| format!("does not parse: {e}"))?;
        if let Some(&tag) = last.first()
            && children.iter().any(|c| c.tag == Tag(tag))
        {
            return Err(format!("expected no {tag:X}, but it is there"));
        }
        return Ok(());
    }
    let found = find_path(data, &t.path);
    let object = match (found, t.parses) {
        (Ok(o), true) => o,
        (Ok(_), false) => return Err("expected the TLV not to parse, but it does".to_owned()),
        (Err(_), false) => return Ok(()),
        (Err(e), true) => return Err(e),
    };
    if let Some(text) = &t.text {
        let want = text.render(captures);
        if object != want.as_slice() {
            return Err(format!(
                "expected {:?}, got {:?}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(object)
            ));
        }
    }
    if let Some(bytes) = &t.hex
        && object != bytes.as_slice()
    {
        return Err(format!(
            "expected {}, got {}",
            hex::spaced(bytes),
            shorten(object)
        ));
    }
    if let Some(n) = t.length
        && object.len() != n
    {
        return Err(format!("expected {n} bytes, got {}", object.len()));
    }
    if let Some(want) = t.utf8 {
        let valid = std::str::from_utf8(object).is_ok();
        if valid != (want == Validity::Valid) {
            return Err(format!(
                "expected {} UTF-8",
                if want == Validity::Valid {
                    "valid"
                } else {
                    "invalid"
                }
            ));
        }
    }
    Ok(())
}

/// Follows a tag path; an empty path is the outermost object. Every level must parse.
fn find_path<'a>(data: &'a [u8], path: &[u32]) -> Result<&'a [u8], String> {
    let (outer, _) = Tlv::parse(data).map_err(|e| format!("does not parse: {e}"))?;
    let Some((&first, rest)) = path.split_first() else {
        return Ok(outer.value);
    };
    if outer.tag != Tag(first) {
        return Err(format!("outermost tag is {}, not {first:X}", outer.tag));
    }
    let mut current = outer;
    for &tag in rest {
        let children = current
            .children()
            .map_err(|e| format!("children of {} do not parse: {e}", current.tag))?;
        current = children
            .into_iter()
            .find(|c| c.tag == Tag(tag))
            .ok_or_else(|| format!("no {tag:X} inside {}", current.tag))?;
    }
    // Check the parent's remaining children parse too, so a broken sibling length is seen.
    let _ = tlv::parse_all(current.value, 0);
    Ok(current.value)
}

fn cv_certificate(
    name: &str,
    data: &[u8],
    ctx: &Context<'_>,
    should_verify: bool,
    failures: &mut Vec<String>,
) {
    let Some(cert) = ParsedCv::parse(data) else {
        failures.push("cv certificate: data is not a card-verifiable certificate".to_owned());
        return;
    };
    let keys: Vec<PublicKey> = if name == "mynasim-test-cv-ca" {
        use mynasim_simulator::pki::keys::{CaKey, ca_key};
        [
            CaKey::CvFaceIssuer,
            CaKey::CvTextIssuer,
            CaKey::MfRoot,
            CaKey::MfIntermediate,
        ]
        .into_iter()
        .filter_map(|k| ca_key(k).ok().map(|k| k.to_public_key()))
        .collect()
    } else {
        match ctx.captures.get(name).map(|b| key_in(b)) {
            Some(Ok(key)) => vec![key],
            _ => {
                failures.push(format!("cv certificate: capture `{name}` holds no key"));
                return;
            }
        }
    };
    let verifies = keys.iter().any(|k| cert.verify(k));
    if verifies != should_verify {
        failures.push(format!(
            "cv certificate: signature {} with {name}",
            if verifies {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        ));
    }
}

/// A client's check of input-support EF 0003 against EF 0001, EF 0002 and EF 0004.
fn integrity_record(
    i: &super::model::IntegrityExpect,
    data: &[u8],
    ctx: &Context<'_>,
    failures: &mut Vec<String>,
) {
    let get = |name: &str| {
        ctx.captures
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let parsed = Tlv::parse(data).ok().and_then(|(outer, _)| {
        let kids = outer.children().ok()?;
        let find = |tag: u32| kids.iter().find(|k| k.tag == Tag(tag)).copied();
        let (df31, df32, df33) = (find(0xDF31)?, find(0xDF32)?, find(0xDF33)?);
        Some((
            df31.value.to_vec(),
            df32.value.to_vec(),
            df33.value.to_vec(),
            [df31.raw, df32.raw].concat(),
        ))
    });
    let Some((df31, df32, df33, signed)) = parsed else {
        failures.push(format!(
            "integrity record: not FF30 {{ DF31, DF32, DF33 }}: {}",
            shorten(data)
        ));
        return;
    };
    let source = mynasim_simulator::apps::text::attributes_digest_source(get(&i.attributes_file));
    let digests_match = df31 == sha2::Sha256::digest(get(&i.my_number_file)).as_slice()
        && df32 == sha2::Sha256::digest(source).as_slice();
    if digests_match != (i.digests == Validity::Valid) {
        failures.push(format!(
            "integrity record: digests {} the files",
            if digests_match {
                "match, expected a mismatch with,"
            } else {
                "do not match"
            }
        ));
    }
    let key = match key_in(get(&i.cv_certificate)) {
        Ok(key) => key,
        Err(e) => {
            failures.push(format!(
                "integrity record: capture `{}`: {e}",
                i.cv_certificate
            ));
            return;
        }
    };
    let signature_ok = key
        .verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(&signed),
            &df33,
        )
        .is_ok();
    if signature_ok != (i.signature == Validity::Valid) {
        failures.push(format!(
            "integrity record: signature {} with the EF 0004 key",
            if signature_ok {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        ));
    }
}
