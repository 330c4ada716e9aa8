//! Writes the seed corpora from the bundled scenarios and their golden transcripts, run by
//! `ci/fuzz`:
//! * `transcript` — every golden `NAME.transcript` file as it is;
//! * `card`, `apdu`, `vpcd` — the same sessions with their secrets, from running each
//!   scenario in process (the goldens mask PINs, and a fuzzer that never gets past VERIFY
//!   sees little of the card): the whole session as power and APDU steps, each command
//!   alone, and the session as vpcd frames (one read, and split reads with an EOF mid-frame);
//! * `profile` — the bundled profiles; `scenario` — the bundled scenarios;
//! * `control`, `serve_config` — the control protocol's commands and a configuration;
//! * `report` — a saved run report (`mynasim run --json`), small;
//! * `tlv` — two hand-made headers;
//! * `import` — the real captures the importers' unit tests read (pcsc-spy, pcscd `--apdu`,
//!   OpenSC debug), each golden transcript as `hex` and as a JSON Lines record; the first
//!   byte of each seed picks the format (`Format::ALL`'s order).

use std::fs;
use std::path::{Path, PathBuf};

use mynasim_harness::engine::{self, Golden};
use mynasim_harness::scenario::{CardCache, Entry, Plan, load_file};
use mynasim_harness::target::{Link, SimLink, TargetError};
use mynasim_simulator::fuzzing::{Step, encode_steps};
use mynasim_simulator::transcript::import::Format;
use mynasim_simulator::transcript::{Event, Transcript, jsonl};

/// A vpcd session as pcscd's driver sends it: power on, get ATR, an unknown control byte,
/// the APDUs, a reset, power off, an empty frame.
fn vpcd_session(apdus: &[&[u8]]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut frame = |payload: &[u8]| {
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        wire.extend_from_slice(&len.to_be_bytes());
        wire.extend_from_slice(payload.get(..usize::from(len)).unwrap_or_default());
    };
    frame(&[0x01]);
    frame(&[0x04]);
    frame(&[0x03]);
    for apdu in apdus {
        frame(apdu);
    }
    frame(&[0x02]);
    frame(&[0x04]);
    frame(&[0x00]);
    frame(&[]);
    wire
}

fn sim(plan: &Plan) -> Result<Box<dyn Link>, TargetError> {
    Ok(Box::new(SimLink::new(plan.card.card.clone())))
}

/// Scenario files (not profiles) under `dir`, sorted.
fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "profiles") {
                scenario_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes the seeds of one session.
fn seed_session(corpus: &Path, name: &str, session: &Transcript) -> std::io::Result<()> {
    let steps: Vec<Step<'_>> = session
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::PowerOn { .. } => Some(Step::PowerOn),
            Event::PowerOff => Some(Step::PowerOff),
            Event::Reset { .. } => Some(Step::Reset),
            Event::Exchange(x) => Some(Step::Apdu(&x.command)),
            _ => None,
        })
        .collect();
    fs::write(corpus.join("card").join(name), encode_steps(&steps))?;
    let apdus: Vec<&[u8]> = session.exchanges().map(|x| x.command.as_slice()).collect();
    for (i, apdu) in apdus.iter().enumerate() {
        fs::write(corpus.join("apdu").join(format!("{name}-{i}")), apdu)?;
    }
    // vpcd: no chunk plan (one read), then a plan of 1-, 3- and 7-byte reads.
    let wire = vpcd_session(&apdus);
    let mut one_read = vec![0];
    one_read.extend_from_slice(&wire);
    fs::write(corpus.join("vpcd").join(name), one_read)?;
    let mut split = vec![3, 1, 3, 7];
    split.extend_from_slice(&wire);
    split.extend_from_slice(&[0x01, 0x00, 0x00]); // EOF mid-frame
    fs::write(corpus.join("vpcd").join(format!("{name}-split")), split)
}

fn seed_ocsp(root: &Path, corpus: &Path) -> std::io::Result<()> {
    use mynasim_simulator::pki::jpki::{self, CertKind};
    use mynasim_simulator::pki::ocsp::{self, CertIdHash};
    let yaml = fs::read_to_string(root.join("scenarios/profiles/default.yaml"))?;
    let card = mynasim_simulator::profile::Profile::from_yaml(&yaml, "default.yaml")
        .and_then(|p| p.personalise("default.yaml"))
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .issue()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut n = 0;
    for (cert, kind) in [
        (&card.auth_certificate, CertKind::Authentication),
        (&card.sign_certificate, CertKind::Signature),
    ] {
        let (Some(cert), Ok(ca)) = (cert, jpki::ca(kind)) else {
            continue;
        };
        for hash in [CertIdHash::Sha1, CertIdHash::Sha256] {
            for nonce in [None, Some(&b"mynasim-nonce-01"[..])] {
                let request = ocsp::cert_id(&cert.certificate, &ca.certificate, hash)
                    .and_then(|id| ocsp::request(id, nonce))
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                fs::write(corpus.join("ocsp").join(format!("request-{n}")), request)?;
                n += 1;
            }
        }
    }
    Ok(())
}

/// An `import` seed: the format's selector byte, then the log.
fn seed_import(corpus: &Path, name: &str, format: Format, log: &[u8]) -> std::io::Result<()> {
    let selector = Format::ALL.iter().position(|f| *f == format).unwrap_or(0);
    let mut seed = vec![u8::try_from(selector).unwrap_or(0)];
    seed.extend_from_slice(log);
    fs::write(corpus.join("import").join(name), seed)
}

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in [
        "apdu",
        "tlv",
        "profile",
        "card",
        "scenario",
        "vpcd",
        "transcript",
        "control",
        "serve_config",
        "ocsp",
        "import",
        "report",
    ] {
        fs::create_dir_all(corpus.join(target))?;
    }
    let mut files = Vec::new();
    scenario_files(&root.join("scenarios"), &mut files)?;
    let cache = CardCache::default();
    let mut sessions = 0;
    for (i, path) in files.iter().enumerate() {
        fs::copy(path, corpus.join("scenario").join(format!("scenario-{i}.yaml")))?;
        let golden = path.with_extension("transcript");
        if golden.is_file() {
            fs::copy(&golden, corpus.join("transcript").join(format!("golden-{i}")))?;
            let text = fs::read_to_string(&golden)?;
            seed_import(&corpus, &format!("golden-{i}"), Format::Hex, text.as_bytes())?;
            if let Ok(parsed) = Transcript::parse(&text) {
                let record = jsonl::format(&parsed, true);
                seed_import(&corpus, &format!("record-{i}"), Format::Jsonl, record.as_bytes())?;
            }
        }
        let Ok(loaded) = load_file(path) else {
            continue;
        };
        for (k, one) in loaded.into_iter().enumerate() {
            // Programs under test (`exec:`) need a PC/SC reader: not applicable here, and they
            // leave no session to seed.
            let outcome = engine::one(
                &Entry::Loaded(Box::new(one)),
                &cache,
                &sim,
                None,
                Golden::Off,
            );
            seed_session(&corpus, &format!("s{i}-{k}"), &outcome.transcript())?;
            sessions += 1;
        }
    }
    for entry in fs::read_dir(root.join("scenarios/profiles"))? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, corpus.join("profile").join(name))?;
        }
    }
    let captures = root.join("simulator/src/transcript/import/testdata");
    for (file, format) in [
        ("pcsc-spy.log", Format::PcscSpy),
        ("pcscd.log", Format::Pcscd),
        ("opensc.log", Format::Opensc),
    ] {
        seed_import(&corpus, file, format, &fs::read(captures.join(file))?)?;
    }
    // The control protocol's commands, and a serve configuration.
    for (i, line) in ["status", "status 1", "remove 0", "insert all", "ready", "remove 0 1"]
        .iter()
        .enumerate()
    {
        fs::write(corpus.join("control").join(format!("line-{i}")), line)?;
    }
    fs::write(
        corpus.join("serve_config").join("two-slots"),
        "version: 1\nvpcd: 127.0.0.1:35963\ncontrol: /tmp/mynasim.sock\nslots:\n  - { slot: 0, profile: default }\n  - { slot: 1, profile: minor.yaml, state: minor.json }\n",
    )?;
    // A saved run report, as `mynasim run --json` writes it (one scenario, one step).
    fs::write(
        corpus.join("report").join("one-scenario.json"),
        r#"{ "version": 1, "target": "sim", "redacted": true,
  "summary": { "passed": 0, "failed": 1, "invalid": 0, "not_applicable": 0, "unreachable": 0, "millis": 3 },
  "scenarios": [ { "id": "a.yaml", "name": "a <b>", "tags": ["pin"], "target": "sim", "status": "failed",
    "message": "step 1: SW", "steps": [ { "number": 1, "line": 7, "label": "verify", "status": "failed",
      "failures": ["SW: expected 90 00, got 63 C2"],
      "exchanges": [ { "command": "", "response": "", "micros": 2, "event": "power on, ATR 3B 00" },
                     { "command": "002000800400000000", "response": "63C2", "micros": 120, "instruction": "VERIFY" } ],
      "micros": 400 } ], "micros": 900 } ] }"#,
    )?;
    // TLV seeds: a certificate-like header and a private-tag file.
    fs::write(
        corpus.join("tlv").join("ff40"),
        [0xFF, 0x40, 0x82, 0x00, 0x03, 0xDF, 0x41, 0x01, 0x01, 0xFF],
    )?;
    fs::write(
        corpus.join("tlv").join("cert-head"),
        [0x30, 0x82, 0x00, 0x04, 0x02, 0x02, 0x01, 0x00],
    )?;
    // OCSP seeds: requests about the default card's certificates, SHA-1 and SHA-256, with and
    // without a nonce.
    seed_ocsp(&root, &corpus)?;
    println!(
        "seeded corpora from {} scenario files ({sessions} sessions) in {}",
        files.len(),
        corpus.display()
    );
    Ok(())
}
