//! A client's check of the input-support integrity record (EF 0003, reference §1.4): DF31
//! and DF32 are the SHA-256 of EF 0001 (physical, filler included) and of EF 0002 from DF22
//! on, and DF33 signs DF31‖DF32 with the key certified in EF 0004.

use mynasim_simulator::apdu::tlv::{Tag, Tlv};
use rsa::Pkcs1v15Sign;
use sha2::Digest as _;

use super::x509::key_in;
use super::{Context, shorten};
use crate::scenario::plan::IntegrityCheck;

/// Every part of the integrity check that does not come out as expected.
pub fn record(i: &IntegrityCheck, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
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
        return vec![format!(
            "integrity record: not FF30 {{ DF31, DF32, DF33 }}: {}",
            shorten(data)
        )];
    };
    let source =
        mynasim_simulator::apps::text::attributes_digest_source(ctx.capture(&i.attributes_file));
    let digests_match = df31 == sha2::Sha256::digest(ctx.capture(&i.my_number_file)).as_slice()
        && df32 == sha2::Sha256::digest(source).as_slice();
    if digests_match != i.digests_match {
        failures.push(format!(
            "integrity record: digests {} the files",
            if digests_match {
                "match, expected a mismatch with,"
            } else {
                "do not match"
            }
        ));
    }
    let key = match key_in(ctx.capture(&i.cv_certificate)) {
        Ok(key) => key,
        Err(e) => {
            failures.push(format!(
                "integrity record: capture `{}`: {e}",
                i.cv_certificate
            ));
            return failures;
        }
    };
    let signature_ok = key
        .verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(&signed),
            &df33,
        )
        .is_ok();
    if signature_ok != i.signature_verifies {
        failures.push(format!(
            "integrity record: signature {} with the EF 0004 key",
            if signature_ok {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        ));
    }
    failures
}
