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

/// The JSON Schemas of both formats are committed under docs/schema/ and cannot drift:
/// after an intended change, `ci/bless` rewrites them.
#[test]
fn schemas_match_the_committed_snapshots() {
    for (format, file) in [
        ("profile", "profile.schema.json"),
        ("scenario", "scenario.schema.json"),
    ] {
        let o = mynasim(&["schema", format]);
        assert!(o.status.success());
        let path = repo().join("docs/schema").join(file);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run ci/bless", path.display()));
        assert_eq!(
            committed,
            stdout(&o),
            "{} is stale: run ci/bless",
            path.display()
        );
    }
}

/// A newcomer's typical mistakes get messages that say where and what.
#[test]
fn a_broken_scenario_fails_with_a_message_a_newcomer_understands() {
    let dir = std::env::temp_dir().join(format!("mynasim-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: broken\nsteps:\n  - select: jpki\n  - verify: { key: \"0018\", pin: \"1234\" }\n    expect: { sw: \"90000\" }\n",
    )
    .unwrap();
    let o = mynasim(&["run", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "invalid scenario: exit 2");
    let out = stdout(&o);
    let expected = format!(
        "{}:5:5: steps[1].expect.sw: `90000` is not 4 hex digits (with `?` for any nibble)",
        file.display()
    );
    assert!(out.contains(&expected), "{out}");
    // A failing expectation shows expected vs actual and the transcript, PINs masked.
    std::fs::write(
        &file,
        "version: 1\nname: wrong expectation\nsteps:\n  - select: jpki\n  - verify: { key: \"0018\", pin: \"0000\" }\n    expect: { tries_left: 3 }\n",
    )
    .unwrap();
    let o = mynasim(&["run", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "failed scenario: exit 1");
    let out = stdout(&o);
    for needle in [
        "FAIL",
        "step 2 (verify 0018), line 5:",
        "SW: expected 63 C3, got 63 C2",
        "=> >> 00 20 00 80 04 ** ** ** **",
        "VERIFY",
        "verification failed / tries left",
    ] {
        assert!(out.contains(needle), "missing `{needle}` in:\n{out}");
    }
    assert!(!out.contains("30 30 30 30"), "the PIN is masked");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_writes_junit_and_json_and_shards_deterministically() {
    let dir = std::env::temp_dir().join(format!("mynasim-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("junit.xml");
    let json = dir.join("report.json");
    let o = mynasim(&[
        "run",
        "scenarios/pin",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testcase") && xml.contains("user-authentication PIN lockout"),
        "{xml}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["summary"]["failed"], 0);
    let steps = v["scenarios"][0]["steps"].as_array().unwrap();
    assert!(steps[0]["micros"].is_u64());
    assert!(
        !std::fs::read_to_string(&json)
            .unwrap()
            .contains("\"0020008004393939"),
        "PINs masked"
    );
    // Shards partition the library.
    let list = |shard: &str| {
        stdout(&mynasim(&["run", "--list", "--shard", shard]))
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let all = stdout(&mynasim(&["run", "--list"])).lines().count();
    let (a, b) = (list("1/2"), list("2/2"));
    assert_eq!(a.len() + b.len(), all);
    assert!(a.iter().all(|x| !b.contains(x)));
    assert_eq!(list("1/2"), a, "deterministic");
    let o = mynasim(&["run", "--shard", "3/2"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

/// `ci/bless --check` passes on the committed tree, and fails, naming the file, when a golden
/// transcript is stale or missing (run on a copy of the files it reads).
#[test]
fn ci_bless_check_passes_here_and_catches_a_stale_golden_file() {
    let bless = |root: &std::path::Path| {
        Command::new(root.join("ci/bless"))
            .arg("--check")
            .env("MYNASIM", env!("CARGO_BIN_EXE_mynasim"))
            .output()
            .unwrap()
    };
    let o = bless(&repo());
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("every golden file is up to date"));

    let copy = crate::support::TempDir::new("bless");
    let cp = |from: &str| {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join(from))
            .arg(copy.join(from).parent().unwrap())
            .status()
            .unwrap();
        assert!(status.success());
    };
    for dir in ["ci", "scenarios", "docs", "simulator/keys"] {
        std::fs::create_dir_all(copy.join(dir).parent().unwrap()).unwrap();
        cp(dir);
    }
    assert!(
        bless(copy.path()).status.success(),
        "the copy starts up to date"
    );
    let golden = copy.join("scenarios/pin/auth-pin-lockout.transcript");
    let text = std::fs::read_to_string(&golden).unwrap();
    std::fs::write(&golden, text.replacen("<< 63 C2", "<< 63 C1", 1)).unwrap();
    std::fs::remove_file(copy.join("scenarios/jpki/token-info.transcript")).unwrap();
    let o = bless(copy.path());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("scenarios/jpki/token-info.transcript (missing)"),
        "{err}"
    );
    assert!(
        err.contains("transcript differs from scenarios/pin/auth-pin-lockout.transcript"),
        "{err}"
    );
}

/// A report that cannot be written is mynasim's I/O failure (exit 4), not a failed
/// scenario — even when every scenario passed.
#[test]
fn an_unwritable_report_is_exit_4() {
    let o = mynasim(&[
        "run",
        "scenarios/pin/auth-pin-lockout.yaml",
        "--junit",
        "/proc/mynasim/x.xml",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write /proc/mynasim/x.xml"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("PASS"));
}

/// Scenarios on a reader share its one card: `--jobs` above 1 is refused there. The vpcd
/// target gives each job a slot of its own, as many as one pcscd has readers (16).
#[test]
fn parallel_runs_on_a_shared_card_are_refused() {
    let o = mynasim(&["run", "--target", "pcsc:Virtual PCD 00 00", "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("one card at a time"), "{}", stderr(&o));
    let o = mynasim(&["run", "--target", "vpcd", "--jobs", "17"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("at most 16 cards at once"),
        "{}",
        stderr(&o)
    );
    let o = mynasim(&["run", "--bless", "--target", "vpcd"]);
    assert_eq!(o.status.code(), Some(2));
}
