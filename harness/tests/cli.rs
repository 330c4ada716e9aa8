//! The `mynasim` command line, run as a user runs it. Unwrap, expect and panics are how
//! test code reports failures.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mynasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mynasim"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("mynasim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn card_apdu_answers_the_card_check_sequence() {
    let o = mynasim(&[
        "card",
        "apdu",
        "--profile",
        "scenarios/profiles/default.yaml",
        "00A4040C0AD392F000260100000001",
        "00 A4 02 0C 02 00 06",
        "00B0000020",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "90 00");
    assert_eq!(lines[1], "90 00");
    assert!(
        lines[2].starts_with("4A 50 4B 49 41 50 49 43 43 54 4F 4B 45 4E 32 20"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with("90 00"));
}

#[test]
fn card_apdu_transcript_redacts_pins_unless_told() {
    let args = [
        "card",
        "apdu",
        "--transcript",
        "00A4040C0AD392F000260100000001",
        "00A4020C020018",
        "002000800431323334",
    ];
    let o = mynasim(&args);
    let out = stdout(&o);
    assert!(
        out.contains(">> 00 20 00 80 04 ** ** ** **\n<< 90 00"),
        "{out}"
    );
    assert!(!out.contains("31 32 33 34"));
    let mut revealed = args.to_vec();
    revealed.insert(3, "--no-redact");
    assert!(stdout(&mynasim(&revealed)).contains(">> 00 20 00 80 04 31 32 33 34"));
}

#[test]
fn card_apdu_reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mynasim"))
        .args(["card", "apdu", "-"])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# select JPKI\n00A4040C0AD392F000260100000001\n\n00 A4 02 0C 02 00 08 # availability\n00B0000000\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "90 00\n90 00\n8F 8F 00 90 00\n");
}

#[test]
fn bad_hex_is_exit_2_and_names_the_argument() {
    let o = mynasim(&["card", "apdu", "00A4", "00ZZ"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("APDU 2 (`00ZZ`)"), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "nothing is sent when an argument is bad"
    );
}

#[test]
fn a_bad_profile_is_exit_2_with_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("mynasim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-04-12\n  nmae: x\ncard:\n  issued: 2024-06-01\n",
    )
    .unwrap();
    let o = mynasim(&["card", "show", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.yaml:5:3: holder.nmae: unknown field `nmae`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn card_show_reports_the_default_card() {
    let o = mynasim(&["card", "show"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "Holder       試験　花子",
        "expires 2034-04-12",
        "user authentication (EF 000A",
        "digital signature (EF 0001",
        "3 of 3 tries left",
        "5 of 5 tries left",
        "O=JPKI-TEST",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
    assert!(
        !out.contains("1234") && !out.contains("ABC123"),
        "secrets are masked"
    );
}

#[test]
fn card_show_json_matches_the_card_and_exports_certificates() {
    let dir = std::env::temp_dir().join(format!("mynasim-export-{}", std::process::id()));
    let o = mynasim(&["card", "show", "--json", "--export", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["certificates"]["auth"]["status"], "valid");
    assert_eq!(v["pins"]["sign"]["tries_left"], 5);
    assert_eq!(v["card"]["atr"], "3B 88 80 01 00 00 05 E0 B3 81 A1 00 7F");
    // The exported DER is what the card's EF 000A holds: read it with `card apdu`.
    let der = std::fs::read(dir.join("auth.der")).unwrap();
    let o = mynasim(&[
        "card",
        "apdu",
        "00A4040C0AD392F000260100000001",
        "00A4020C02000A",
        "00B00000000000",
    ]);
    let last = stdout(&o).lines().last().unwrap().replace(' ', "");
    let hex: String = der.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(last, format!("{hex}9000"));
    assert!(
        std::fs::read_to_string(dir.join("sign.pem"))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_built_in_default_works_outside_the_repository() {
    let o = Command::new(env!("CARGO_BIN_EXE_mynasim"))
        .args(["card", "show", "--json"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "<built-in default profile>");
}

#[test]
fn schema_profile_is_a_json_schema() {
    let o = mynasim(&["schema", "profile"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["title"], "Profile");
    assert_eq!(v["additionalProperties"], false);
    assert!(v["properties"]["holder"].is_object());
}

/// Every EF of every application of the default card can be read with `card apdu`, after
/// the credential its access rule names (reference §1.3–§1.6).
#[test]
fn card_apdu_reads_every_ef_of_every_application() {
    let v: serde_json::Value =
        serde_json::from_slice(&mynasim(&["card", "show", "--json"]).stdout).unwrap();
    let my_number = v["my_number"]["value"].as_str().unwrap().to_owned();
    let code_b = v["card"]["verification_code_b"]
        .as_str()
        .unwrap()
        .to_owned();
    let birth = v["other_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "birth-date key")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02X}")).collect::<String>();
    let verify = |fid: &str, secret: &str| {
        vec![
            format!("00A4020C02{fid}"),
            format!("00200080{:02X}{}", secret.len(), hex(secret)),
        ]
    };
    let select = |aid: &str| format!("00A4040C0A{aid}");
    let read = |fid: &str| vec![format!("00A4020C02{fid}"), "00B00000000000".to_owned()];
    let mut apdus: Vec<String> = Vec::new();
    let mut reads = 0;
    let mut add_reads = |apdus: &mut Vec<String>, fids: &[&str]| {
        for fid in fids {
            apdus.extend(read(fid));
            reads += 1;
        }
    };
    apdus.push(select("D392F000260100000001"));
    apdus.extend(verify("001B", "ABC123"));
    add_reads(
        &mut apdus,
        &["0001", "0002", "0006", "0008", "000A", "000B"],
    );
    apdus.push(select("D3921000310001010408"));
    apdus.extend(verify("0011", "1234"));
    add_reads(
        &mut apdus,
        &[
            "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008",
        ],
    );
    apdus.push(select("D3921000310001010402"));
    apdus.extend(verify("0011", &birth));
    apdus.extend(verify("0013", &my_number));
    apdus.extend(verify("0012", &code_b));
    add_reads(
        &mut apdus,
        &["0001", "0002", "0003", "0004", "0005", "0006"],
    );
    apdus.push(select("D3921000310001010100"));
    apdus.push("00B2010C00".to_owned());
    apdus.push("00B2011400".to_owned());
    apdus.push(select("D3921000310001010401"));
    apdus.push("00B2011400".to_owned());
    let mut args = vec!["card", "apdu"];
    args.extend(apdus.iter().map(String::as_str));
    let o = mynasim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), apdus.len());
    for (apdu, response) in apdus.iter().zip(&lines) {
        assert!(response.ends_with("90 00"), "{apdu} answered {response}");
        if apdu.starts_with("00B") {
            assert!(response.len() > 5, "{apdu} returned no data");
        }
    }
    assert_eq!(reads, 20);
}
