//! The `mynasim` command line, run as a user runs it.

use std::process::{Command, Output, Stdio};

use crate::support::repo;

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
