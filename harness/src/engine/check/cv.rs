//! Checks on card-verifiable certificates (input-support EF 0004, card-face records, GET DATA
//! `00F8`/`7F21`): does the signature verify with a captured key or the test CV CA.

use mynasim_simulator::pki::cv::ParsedCv;
use rsa::PublicKey;

use super::Context;
use super::x509::key_in;
use crate::scenario::plan::CvKey;

/// The CV certificate in `data` verifies (`should_verify`) or not with `key`.
pub fn certificate(
    key: &CvKey,
    data: &[u8],
    ctx: &Context<'_>,
    should_verify: bool,
) -> Option<String> {
    let Some(cert) = ParsedCv::parse(data) else {
        return Some("cv certificate: data is not a card-verifiable certificate".to_owned());
    };
    let (keys, name): (Vec<PublicKey>, &str) = match key {
        CvKey::TestCa => {
            use mynasim_simulator::pki::keys::{CaKey, ca_key};
            (
                [
                    CaKey::CvFaceIssuer,
                    CaKey::CvTextIssuer,
                    CaKey::MfRoot,
                    CaKey::MfIntermediate,
                ]
                .into_iter()
                .filter_map(|k| ca_key(k).ok().map(|k| k.to_public_key()))
                .collect(),
                CvKey::TEST_CA_NAME,
            )
        }
        CvKey::Capture(name) => match key_in(ctx.capture(name)) {
            Ok(key) => (vec![key], name.as_str()),
            Err(_) => return Some(format!("cv certificate: capture `{name}` holds no key")),
        },
    };
    let verifies = keys.iter().any(|k| cert.verify(k));
    (verifies != should_verify).then(|| {
        format!(
            "cv certificate: signature {} with {name}",
            if verifies {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        )
    })
}
