//! The cases of a certification run, each with a stable ID tied to the clause it checks and
//! an importance. Most are bundled portable scenarios, compiled into the binary so that a
//! vendor needs nothing but `mynasim`; a few are reader probes judged from the declared
//! capabilities. IDs are never reused or renumbered: `harness/tests/golden/certify-ids.txt`
//! is the committed list, and a test holds the catalog to it (new cases are appended).
//!
//! ID scheme: `MNC-<SOURCE>-<TOPIC>-<NN>` — SOURCE is `7816-3`, `7816-4` (ISO/IEC 7816),
//! `JISX6319` (JIS X 6319-3 common commands as the card uses them), `PCSC` (PC/SC parts 3
//! and 10), `REF` (a section of the card reference) or `FLOW` (a timed client flow).

use super::Importance;

/// What a case runs.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A bundled portable scenario: its path under `scenarios/` and its text.
    Scenario {
        /// Path under `scenarios/`.
        path: &'static str,
        /// The YAML, compiled in.
        text: &'static str,
    },
    /// A check of the reader's declared capabilities.
    Probe(Probe),
}

/// The reader probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The ATR is well formed (TS, T0, interface bytes, historical bytes, TCK).
    Atr,
    /// The active protocol is T=1 (contact, or T=CL shown as T=1 by PC/SC).
    Protocol,
    /// The reader names its vendor and model.
    Identity,
}

/// A timed client flow (`mynasim certify` runs it `--flow-runs` times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// SELECT the JPKI application and ask the PIN's retry counter.
    CardCheck,
    /// Read the whole authentication certificate.
    CertificateRead,
    /// VERIFY the PIN and sign.
    Signature,
}

impl Flow {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::CardCheck => "card check",
            Self::CertificateRead => "certificate read",
            Self::Signature => "signature",
        }
    }
}

/// One case of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct CaseDef {
    /// The stable ID.
    pub id: &'static str,
    /// The clause it checks.
    pub clause: &'static str,
    /// How much it matters for the verdict.
    pub importance: Importance,
    /// What runs.
    pub kind: Kind,
    /// The flow it times, if it is one.
    pub flow: Option<Flow>,
}

macro_rules! scenario {
    ($id:literal, $importance:ident, $clause:literal, $path:literal) => {
        scenario!($id, $importance, $clause, $path, None)
    };
    ($id:literal, $importance:ident, $clause:literal, $path:literal, $flow:expr) => {
        CaseDef {
            id: $id,
            clause: $clause,
            importance: Importance::$importance,
            kind: Kind::Scenario {
                path: $path,
                text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/", $path)),
            },
            flow: $flow,
        }
    };
}

macro_rules! probe {
    ($id:literal, $importance:ident, $clause:literal, $probe:ident) => {
        CaseDef {
            id: $id,
            clause: $clause,
            importance: Importance::$importance,
            kind: Kind::Probe(Probe::$probe),
            flow: None,
        }
    };
}

/// Every case, in the order they run: reader probes, then reads, PIN queries, secrets,
/// destructive ones last.
pub const CASES: &[CaseDef] = &[
    probe!(
        "MNC-7816-3-ATR-01",
        Must,
        "ISO/IEC 7816-3 §8.2 (answer-to-reset); reference §3.2",
        Atr
    ),
    probe!(
        "MNC-7816-3-PROTO-01",
        Should,
        "ISO/IEC 7816-3 §11 (T=1); reference §3.3",
        Protocol
    ),
    probe!(
        "MNC-PCSC-ATTR-01",
        May,
        "PC/SC part 3 §3.1.2 (SCARD_ATTR_VENDOR_NAME, VENDOR_IFD_TYPE)",
        Identity
    ),
    scenario!(
        "MNC-7816-4-LEN-01",
        Must,
        "ISO/IEC 7816-4 §5.1 (short Le 00 = 256); reference §6 item 14",
        "portable/reader-256-byte-response.yaml"
    ),
    scenario!(
        "MNC-7816-4-LEN-02",
        Must,
        "ISO/IEC 7816-4 §5.1 (extended length); reference §2.3",
        "portable/reader-extended-read.yaml"
    ),
    scenario!(
        "MNC-REF-SEQ-01",
        Must,
        "reference §2.10 sequence 1; JIS X 6319-3 SELECT, READ BINARY",
        "jpki/seq01-card-check.yaml"
    ),
    scenario!(
        "MNC-REF-JPKI-READ-01",
        Must,
        "reference §1.3 (EF 000A, 000B), §4",
        "portable/jpki-auth-certificate.yaml"
    ),
    scenario!(
        "MNC-REF-JPKI-READ-02",
        Must,
        "reference §1.3 (EF 0002), §4",
        "portable/jpki-signature-ca-certificate.yaml"
    ),
    scenario!(
        "MNC-REF-JPKI-READ-03",
        Must,
        "reference §1.3 (EF 0006, EF 0008)",
        "portable/jpki-token-and-availability.yaml"
    ),
    scenario!(
        "MNC-REF-JPKI-ACCESS-01",
        Must,
        "reference §1.3 (EF 0001 access), §6 item 2",
        "portable/jpki-signature-certificate-needs-password.yaml"
    ),
    scenario!(
        "MNC-JISX6319-TEXT-READ-01",
        Should,
        "JIS X 6319-3 READ BINARY; reference §1.4 (EF 0004, 0005)",
        "portable/text-free-files.yaml"
    ),
    scenario!(
        "MNC-REF-TEXT-ACCESS-01",
        Must,
        "reference §1.4 (read access), §2.9 (69 82)",
        "portable/text-protected-files-refused.yaml"
    ),
    scenario!(
        "MNC-JISX6319-FACE-READ-01",
        Should,
        "JIS X 6319-3 READ BINARY; reference §1.5 (EF 0003, 0004)",
        "portable/face-free-files.yaml"
    ),
    scenario!(
        "MNC-REF-FACE-ACCESS-01",
        Must,
        "reference §1.5 (read access), §2.9 (69 82)",
        "portable/face-protected-files-refused.yaml"
    ),
    scenario!(
        "MNC-7816-4-RECORD-01",
        Should,
        "ISO/IEC 7816-4 §11.3.5 (READ RECORD by SFI); reference §1.6",
        "portable/common-card-record.yaml"
    ),
    scenario!(
        "MNC-7816-4-RECORD-02",
        Should,
        "ISO/IEC 7816-4 §11.3.5 (6A 83, 6A 81); reference §2.9",
        "protocol/read-record-errors.yaml"
    ),
    scenario!(
        "MNC-7816-4-SELECT-01",
        Must,
        "ISO/IEC 7816-4 §11.2.2 (SELECT, 6A 82); reference §1.2",
        "protocol/not-found-6a82.yaml"
    ),
    scenario!(
        "MNC-7816-4-SELECT-02",
        Should,
        "ISO/IEC 7816-4 §11.2.2 (partial DF name); reference §1.2",
        "protocol/select-by-prefix.yaml"
    ),
    scenario!(
        "MNC-7816-4-SELECT-03",
        May,
        "ISO/IEC 7816-4 §11.2.2 (MF); reference §1.2",
        "protocol/select-mf.yaml"
    ),
    scenario!(
        "MNC-7816-4-READ-01",
        Must,
        "ISO/IEC 7816-4 §11.3.3 (READ BINARY, 6B 00); reference §2.3",
        "protocol/offset-past-end-6b00.yaml"
    ),
    scenario!(
        "MNC-7816-4-READ-02",
        Should,
        "ISO/IEC 7816-4 §11.3.3 (SFI in P1); reference §2.1",
        "protocol/read-binary-by-sfi.yaml"
    ),
    scenario!(
        "MNC-7816-4-DATA-01",
        Should,
        "ISO/IEC 7816-4 §11.4.3 (GET DATA, 6A 88); reference §1.7",
        "mf/absent-data-object.yaml"
    ),
    scenario!(
        "MNC-7816-4-CHAL-01",
        Should,
        "ISO/IEC 7816-4 §11.5.3 (GET CHALLENGE); reference §2.8",
        "protocol/get-challenge.yaml"
    ),
    scenario!(
        "MNC-7816-4-RESP-01",
        May,
        "ISO/IEC 7816-4 §11.6.1 (GET RESPONSE); reference §7",
        "protocol/get-response-6985.yaml"
    ),
    scenario!(
        "MNC-7816-4-CLA-01",
        Should,
        "ISO/IEC 7816-4 §5.4.1 (logical channels); reference §2.2",
        "protocol/logical-channel-6881.yaml"
    ),
    scenario!(
        "MNC-FLOW-CERT-READ",
        Must,
        "reference §2.10 sequence 2 (OpenSC's certificate read)",
        "portable/flow-certificate-read.yaml",
        Some(Flow::CertificateRead)
    ),
    scenario!(
        "MNC-REF-SEQ-08",
        Must,
        "reference §2.10 sequence 8; ISO/IEC 7816-4 §11.5.6 (VERIFY, no data)",
        "common/seq08-pin-status-sweep-portable.yaml"
    ),
    scenario!(
        "MNC-7816-4-VERIFY-01",
        Must,
        "ISO/IEC 7816-4 §11.5.6 (retry query); reference §2.4",
        "portable/pin-queries-other-keys.yaml"
    ),
    scenario!(
        "MNC-7816-4-READ-03",
        Should,
        "ISO/IEC 7816-4 §5.6 (69 86 no current EF); reference §2.9",
        "protocol/no-current-ef-6986.yaml"
    ),
    scenario!(
        "MNC-7816-4-READ-04",
        Should,
        "ISO/IEC 7816-4 §5.6 (69 81 wrong file type); reference §1.2",
        "protocol/wrong-file-type-6981.yaml"
    ),
    scenario!(
        "MNC-7816-4-CLA-02",
        Should,
        "ISO/IEC 7816-4 §5.4.1 (secure messaging class); reference §2.2",
        "protocol/secure-messaging-class.yaml"
    ),
    scenario!(
        "MNC-FLOW-CARD-CHECK",
        Must,
        "reference §2.10 sequences 1 and 2 (SELECT, retry query)",
        "portable/flow-card-check.yaml",
        Some(Flow::CardCheck)
    ),
    scenario!(
        "MNC-REF-JPKI-SIGN-01",
        Must,
        "reference §2.7 (schemes 00–05), §2.10 sequence 3",
        "portable/auth-signing-schemes.yaml"
    ),
    scenario!(
        "MNC-REF-JPKI-SIGN-02",
        Must,
        "reference §2.7 (schemes 00–05), §2.10 sequence 4",
        "portable/sign-signing-schemes.yaml"
    ),
    scenario!(
        "MNC-FLOW-SIGNATURE",
        Must,
        "reference §2.10 sequence 3 (VERIFY, COMPUTE DIGITAL SIGNATURE)",
        "portable/flow-signature.yaml",
        Some(Flow::Signature)
    ),
    scenario!(
        "MNC-7816-4-CLA-03",
        May,
        "ISO/IEC 7816-4 §5.4.1 (6E 00); PC/SC part 3 pseudo-APDUs",
        "protocol/unknown-class-6e00.yaml"
    ),
    scenario!(
        "MNC-7816-4-INS-01",
        May,
        "ISO/IEC 7816-4 §5.6 (6D 00); reference §2.9",
        "protocol/unknown-instruction-6d00.yaml"
    ),
    scenario!(
        "MNC-7816-4-LEN-03",
        May,
        "ISO/IEC 7816-4 §5.6 (67 00); reference §6 item 6",
        "protocol/wrong-length-6700.yaml"
    ),
    scenario!(
        "MNC-7816-4-PARAM-01",
        May,
        "ISO/IEC 7816-4 §5.6 (6A 86); reference §2.8",
        "protocol/wrong-parameters-6a86.yaml"
    ),
];

/// The case with this ID.
pub fn find(id: &str) -> Option<&'static CaseDef> {
    CASES.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::scenario::load::load_str;

    /// The committed list: IDs only ever appended, never reused.
    const COMMITTED: &str = include_str!("../../tests/golden/certify-ids.txt");

    #[test]
    fn ids_are_unique_well_formed_and_match_the_committed_list() {
        let ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "duplicate IDs");
        for id in &ids {
            assert!(
                id.starts_with("MNC-")
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
        let committed: BTreeSet<&str> = COMMITTED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(
            unique, committed,
            "the catalog's IDs differ from harness/tests/golden/certify-ids.txt: append new \
             IDs there, never rename or reuse one"
        );
        assert!(find("MNC-REF-SEQ-01").is_some());
        assert!(find("MNC-NOPE").is_none());
    }

    #[test]
    fn every_scenario_case_is_one_portable_scenario() {
        for case in CASES {
            let Kind::Scenario { path, text } = case.kind else {
                continue;
            };
            let loaded = load_str(text, Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(loaded.len(), 1, "{path}: one scenario per case");
            let s = &loaded[0].scenario.value;
            assert!(s.portable, "{path} is not portable");
            assert!(s.safety.is_some(), "{path} declares no safety class");
        }
    }

    /// Every portable bundled scenario is a case, so the certified set grows with the
    /// library.
    #[test]
    fn every_portable_bundled_scenario_is_in_the_catalog() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let files = crate::scenario::discover(std::slice::from_ref(&root)).unwrap_or_default();
        let in_catalog: BTreeSet<&str> = CASES
            .iter()
            .filter_map(|c| match c.kind {
                Kind::Scenario { path, .. } => Some(path),
                Kind::Probe(_) => None,
            })
            .collect();
        let mut missing = Vec::new();
        for file in files {
            let Ok(loaded) = crate::scenario::load_file(&file) else {
                continue;
            };
            if loaded.iter().any(|l| l.scenario.value.portable) {
                let rel = file.strip_prefix(&root).unwrap_or(&file);
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !in_catalog.contains(rel.as_str()) {
                    missing.push(rel);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "portable scenarios without a certify case: {missing:?}"
        );
        assert!(in_catalog.len() >= 35, "{}", in_catalog.len());
    }
}
