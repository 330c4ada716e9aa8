//! Writes the seed corpora: the golden scripts (with the right PINs, so the fuzzer gets
//! past VERIFY) as `card` inputs, their APDUs as `apdu` inputs, and the bundled profiles as
//! `profile` inputs, and each script as a vpcd session (power on, get ATR, the APDUs as
//! frames) for `vpcd`. Run by `ci/fuzz`.

use std::fs;
use std::path::Path;

use mynasim_simulator::fuzzing::{Step, encode_steps};
use mynasim_simulator::hex;

/// A vpcd session as pcscd's driver sends it: power on, get ATR, an unknown control byte,
/// the APDUs, a reset, power off.
fn vpcd_session(apdus: &[Vec<u8>]) -> Vec<u8> {
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

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in ["apdu", "tlv", "profile", "card", "scenario", "vpcd"] {
        fs::create_dir_all(corpus.join(target))?;
    }
    let mut scripts = 0;
    for entry in fs::read_dir(root.join("simulator/tests/golden"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("apdu") {
            continue;
        }
        let text = fs::read_to_string(&path)?;
        let mut apdus = Vec::new();
        let mut kinds = Vec::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            match line {
                "power-on" => kinds.push(0xFF),
                "power-off" => kinds.push(0xFE),
                "reset" => kinds.push(0xFD),
                // Whole-EF reads: stand in a 256-byte read.
                "read-opensc" | "read-myna" => {
                    apdus.push(vec![0x00, 0xB0, 0x00, 0x00, 0x00]);
                    kinds.push(0);
                }
                apdu => match hex::decode(apdu) {
                    Ok(bytes) => {
                        apdus.push(bytes);
                        kinds.push(0);
                    }
                    Err(e) => eprintln!("{}: skipping `{apdu}`: {e}", path.display()),
                },
            }
        }
        let mut next = apdus.iter();
        let steps: Vec<Step<'_>> = kinds
            .iter()
            .filter_map(|k| match k {
                0xFF => Some(Step::PowerOn),
                0xFE => Some(Step::PowerOff),
                0xFD => Some(Step::Reset),
                _ => next.next().map(|a| Step::Apdu(a)),
            })
            .collect();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("script");
        fs::write(corpus.join("card").join(name), encode_steps(&steps))?;
        for (i, apdu) in apdus.iter().enumerate() {
            fs::write(corpus.join("apdu").join(format!("{name}-{i}")), apdu)?;
        }
        // vpcd: no chunk plan (one read), then a plan of 1-, 3- and 7-byte reads.
        let session = vpcd_session(&apdus);
        let mut one_read = vec![0];
        one_read.extend_from_slice(&session);
        fs::write(corpus.join("vpcd").join(name), one_read)?;
        let mut split = vec![3, 1, 3, 7];
        split.extend_from_slice(&session);
        split.extend_from_slice(&[0x01, 0x00, 0x00]); // EOF mid-frame
        fs::write(corpus.join("vpcd").join(format!("{name}-split")), split)?;
        scripts += 1;
    }
    for entry in fs::read_dir(root.join("scenarios/profiles"))? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, corpus.join("profile").join(name))?;
        }
    }
    let mut scenarios = Vec::new();
    collect_yaml(&root.join("scenarios"), &mut scenarios)?;
    for (i, path) in scenarios.iter().enumerate() {
        fs::copy(path, corpus.join("scenario").join(format!("scenario-{i}.yaml")))?;
    }
    // TLV seeds: a certificate-like header and a private-tag file.
    fs::write(
        corpus.join("tlv").join("ff40"),
        [0xFF, 0x40, 0x82, 0x00, 0x03, 0xDF, 0x41, 0x01, 0x01, 0xFF],
    )?;
    fs::write(
        corpus.join("tlv").join("cert-head"),
        [0x30, 0x82, 0x00, 0x04, 0x02, 0x02, 0x01, 0x00],
    )?;
    println!(
        "seeded corpora from {scripts} golden scripts in {}",
        corpus.display()
    );
    Ok(())
}

/// Scenario files (not profiles) under `dir`.
fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "profiles") {
                collect_yaml(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
