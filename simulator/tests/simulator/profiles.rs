//! Profile mistakes are reported with the file, line, column and key; the FAQ rules shape
//! what the card holds.

use mynasim_simulator::profile::{self, CertificateStatus, Profile, ProfileError};

use super::support::{self, SELECT_JPKI, select_ef, tx};

const BASE: &str = "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-04-12\ncard:\n  issued: 2024-06-01\n";

fn error(yaml: &str) -> ProfileError {
    Profile::from_yaml(yaml, "bad.yaml")
        .and_then(|p| p.personalise("bad.yaml"))
        .expect_err("profile must be refused")
}

#[test]
fn an_unknown_key_names_the_key_its_path_and_line() {
    let e = error(&format!(
        "{BASE}pins:\n  auth:\n    value: \"1234\"\n    retries: 2\n"
    ));
    assert_eq!((e.origin.as_str(), e.line, e.column), ("bad.yaml", 10, 5));
    assert_eq!(e.path, "pins.auth.retries");
    assert!(e.message.contains("unknown field `retries`"), "{e}");
    assert!(
        e.to_string()
            .starts_with("bad.yaml:10:5: pins.auth.retries: unknown field `retries`"),
        "{e}"
    );
}

#[test]
fn a_wrong_type_names_the_value() {
    let e = error(&format!("{BASE}seed: lots\n"));
    assert_eq!((e.line, e.column), (7, 7));
    assert_eq!(e.path, "seed");
}

#[test]
fn an_impossible_date_is_refused_where_it_is() {
    let e = error(
        "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-02-29\ncard:\n  issued: 2024-06-01\n",
    );
    assert_eq!((e.line, e.path.as_str()), (4, "holder.birth_date"));
    assert!(e.message.contains("1985-02-29"), "{e}");
}

#[test]
fn a_missing_key_is_named() {
    let e = error("version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-04-12\n");
    assert!(e.message.contains("missing field `card`"), "{e}");
}

#[test]
fn the_signature_password_rule_points_at_the_value() {
    let e = error(&format!("{BASE}pins:\n  sign:\n    value: \"abc123\"\n"));
    assert_eq!(
        (e.line, e.column, e.path.as_str()),
        (9, 12, "pins.sign.value")
    );
    assert!(e.message.contains("FAQ Q44"), "{e}");
    let e = error(&format!("{BASE}pins:\n  auth: {{ value: \"12345\" }}\n"));
    assert_eq!(e.path, "pins.auth.value");
    assert!(e.message.contains("exactly 4 digits"), "{e}");
    let e = error(&format!(
        "{BASE}pins:\n  auth: {{ value: \"1234\", tries_left: 4 }}\n"
    ));
    assert_eq!(e.path, "pins.auth.tries_left");
}

#[test]
fn a_wrong_check_digit_needs_the_corruption_knob() {
    let e = error(&format!("{BASE}my_number: \"537686677189\"\n"));
    assert_eq!((e.line, e.path.as_str()), (7, "my_number"));
    assert!(e.message.contains("check digit should be 8"), "{e}");
    let ok = Profile::from_yaml(
        &format!(
            "{BASE}my_number: \"537686677189\"\ncorruption: {{ my_number_check_digit: true }}\n"
        ),
        "x",
    )
    .unwrap()
    .personalise("x")
    .unwrap();
    assert!(!ok.my_number.has_valid_check_digit());
}

#[test]
fn no_signature_certificate_under_15() {
    let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 2012-01-01 }\ncard: { issued: 2024-06-01 }\n";
    let p = Profile::from_yaml(yaml, "x")
        .unwrap()
        .personalise("x")
        .unwrap();
    assert!(p.sign_certificate.is_none());
    assert!(p.auth_certificate.is_some());
    let (mut c, _) = support::card_from(yaml);
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0008));
    assert_eq!(tx(&mut c, "00 B0 00 00 00"), "00 8F 00 90 00");
    assert_eq!(tx(&mut c, &select_ef(0x0001)), "6A 82");
    assert_eq!(tx(&mut c, &select_ef(0x001B)), "6A 82");
    // Asking for one is an error that explains the rule.
    let e = error(
        "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 2012-01-01 }\ncard: { issued: 2024-06-01 }\n\
         certificates:\n  sign:\n    present: true\n",
    );
    assert_eq!((e.line, e.path.as_str()), (7, "certificates.sign.present"));
    assert!(e.message.contains("under 15"), "{e}");
}

#[test]
fn expired_status_must_match_the_dates() {
    let e = error(&format!(
        "{BASE}certificates:\n  auth:\n    status: expired\n"
    ));
    assert_eq!(e.path, "certificates.auth.status");
    assert!(e.message.contains("needs notAfter before today"), "{e}");
    // Issued six years before today: both certificates have expired, the card has not.
    let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\n\
                card: { issued: 2020-11-01 }\ncertificates:\n  auth: { status: expired }\n";
    let p = Profile::from_yaml(yaml, "x")
        .unwrap()
        .personalise("x")
        .unwrap();
    let auth = p.auth_certificate.as_ref().unwrap();
    assert_eq!(auth.effective_status(p.today), CertificateStatus::Expired);
    let sign = p.sign_certificate.as_ref().unwrap();
    assert_eq!(
        sign.effective_status(p.today),
        CertificateStatus::Expired,
        "by its dates"
    );
    assert!(!p.card_expired());
}

#[test]
fn an_unsupported_version_is_refused() {
    let e = error(&BASE.replace("version: 1", "version: 2"));
    assert_eq!((e.line, e.path.as_str()), (1, "version"));
    assert!(e.message.contains("version 2"), "{e}");
}

#[test]
fn a_file_that_cannot_be_read_is_named() {
    let e = profile::load(std::path::Path::new("/nonexistent/profile.yaml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/profile.yaml: cannot read the profile"),
        "{e}"
    );
}

#[test]
fn the_default_profile_follows_the_faq() {
    let p = &support::default_issued().personalisation;
    // Born 1985-04-12, issued 2024-06-03 (age 39): card to the 10th birthday after issue.
    assert_eq!(p.card_expires.to_string(), "2034-04-12");
    assert_eq!(
        p.auth_certificate.as_ref().unwrap().not_after.to_string(),
        "2029-04-12"
    );
    assert!(p.my_number.has_valid_check_digit());
}

#[test]
fn the_same_profile_and_seed_give_the_same_card_and_another_seed_another() {
    let a = Profile::from_yaml(BASE, "x")
        .unwrap()
        .personalise("x")
        .unwrap()
        .issue()
        .unwrap();
    let b = Profile::from_yaml(BASE, "x")
        .unwrap()
        .personalise("x")
        .unwrap()
        .issue()
        .unwrap();
    let c = Profile::from_yaml(&format!("{BASE}seed: 9\n"), "x")
        .unwrap()
        .personalise("x")
        .unwrap()
        .issue()
        .unwrap();
    let der = |i: &profile::IssuedCard| i.auth_certificate.as_ref().unwrap().der.clone();
    assert_eq!(der(&a), der(&b));
    assert_ne!(der(&a), der(&c));
    assert_ne!(a.personalisation.my_number, c.personalisation.my_number);
}

#[test]
fn every_bundled_profile_loads_and_issues() {
    let dir = support::repo().join("scenarios/profiles");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let p = profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        p.issue()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        count += 1;
    }
    assert!(count >= 16, "{count} profiles");
}

#[test]
fn a_photo_file_is_read_relative_to_the_profile_and_checked() {
    let dir = std::env::temp_dir().join(format!("mynasim-photo-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("me.jp2"),
        mynasim_simulator::profile::BUILT_IN_PHOTO,
    )
    .unwrap();
    std::fs::write(dir.join("bad.jp2"), b"GIF89a").unwrap();
    let yaml = |photo: &str| format!("{BASE}  photo: {photo}\n");
    std::fs::write(dir.join("ok.yaml"), yaml("me.jp2")).unwrap();
    std::fs::write(dir.join("bad.yaml"), yaml("bad.jp2")).unwrap();
    std::fs::write(dir.join("missing.yaml"), yaml("nope.jp2")).unwrap();
    let p = profile::load(&dir.join("ok.yaml")).unwrap();
    assert_eq!(
        p.photo.as_deref(),
        Some(mynasim_simulator::profile::BUILT_IN_PHOTO)
    );
    let e = profile::load(&dir.join("bad.yaml")).unwrap_err();
    assert_eq!((e.line, e.path.as_str()), (7, "card.photo"));
    assert!(e.message.contains("not a JPEG 2000 file"), "{e}");
    let e = profile::load(&dir.join("missing.yaml")).unwrap_err();
    assert!(e.message.contains("cannot read"), "{e}");
    // Inline YAML cannot name a file.
    let e = error(&yaml("me.jp2"));
    assert!(e.message.contains("was not read"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue 12, finding 7: a birth date before the Meiji era has no era year (the card would
/// show "明治-1867年" and a negative 照合番号B); dates far in the future overflowed.
#[test]
fn finding_7_dates_outside_the_card_eras_are_refused_with_their_place() {
    let born = |date: &str| {
        error(&format!(
            "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: {date}\ncard:\n  issued: 2024-06-01\n"
        ))
    };
    let e = born("1867-12-31");
    assert_eq!(e.path, "holder.birth_date");
    assert_eq!(e.line, 4);
    assert!(
        e.message.contains("before the Meiji era (1868-01-25)"),
        "{e}"
    );
    assert!(
        Profile::from_yaml(
            "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1868-01-25\ncard:\n  issued: 2024-06-01\n",
            "ok.yaml"
        )
        .and_then(|p| p.personalise("ok.yaml"))
        .is_ok(),
        "the first Meiji day is fine"
    );
    let e = error(
        "version: 1\ntoday: 9999-01-01\nholder:\n  birth_date: 1985-04-12\ncard:\n  issued: 9998-06-01\n",
    );
    assert_eq!(e.path, "card.issued");
    assert!(e.message.contains("is after 2199-12-31"), "{e}");
    let e = error(
        "version: 1\ntoday: 9999-01-01\nholder:\n  birth_date: 1985-04-12\ncard:\n  issued: 2024-06-01\n",
    );
    assert_eq!(e.path, "today");
}

/// Issue 12, finding 8: names and addresses are bounded by what the card holds (a 70 KB
/// address wrapped EF 0002's 16-bit offsets; megabytes of name took gigabytes of memory).
#[test]
fn finding_8_long_names_and_addresses_are_refused_before_the_card_is_built() {
    let holder = |field: &str, text: &str| {
        error(&format!(
            "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-04-12\n  {field}: \"{text}\"\ncard:\n  issued: 2024-06-01\n"
        ))
    };
    let e = holder("name", &"試".repeat(101));
    assert_eq!(e.path, "holder.name");
    assert_eq!(e.message, "101 characters; at most 100 fit the card");
    let e = holder("address", &"a".repeat(70_000));
    assert_eq!(e.path, "holder.address");
    assert_eq!(e.message, "70000 characters; at most 200 fit the card");
    let e = holder("name_substitute", &"0".repeat(101));
    assert_eq!(e.path, "holder.name_substitute");
    let e = holder("name", "  ");
    assert_eq!(e.message, "must not be empty");
    // The longest allowed values still make a card whose EF 0002 offsets are right.
    let (mut card, _) = support::card_from(&format!(
        "version: 1\ntoday: 2026-11-25\nholder:\n  birth_date: 1985-04-12\n  name: \"{}\"\n  address: \"{}\"\ncard:\n  issued: 2024-06-01\n",
        "試".repeat(100),
        "東".repeat(200)
    ));
    tx(&mut card, super::applications::SELECT_TEXT);
    tx(&mut card, &select_ef(0x0011));
    tx(&mut card, &super::support::verify("1234"));
    tx(&mut card, &select_ef(0x0002));
    let (ef, sw) = super::support::tx_data(&mut card, "00 B0 00 00 00 00 00");
    assert_eq!(sw, "90 00");
    let tlv = mynasim_simulator::apdu::tlv::Tlv::parse(&ef).unwrap().0;
    let offsets = tlv.children().unwrap()[0].value.to_vec();
    let address_at = usize::from(u16::from_be_bytes([offsets[2], offsets[3]]));
    assert_eq!(&ef[address_at..address_at + 2], [0xDF, 0x23]);
}
