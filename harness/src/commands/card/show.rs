//! `mynasim card show`: what a profile's card holds — holder, My Number, validity,
//! certificates, PINs — as text or JSON, with the certificates and trust anchors exported on
//! request.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use jiff::civil::Date;
use mynasim_simulator::apps::jpki::ef;
use mynasim_simulator::hex;
use mynasim_simulator::pki::{published, x509};
use mynasim_simulator::profile::{IssuedCard, IssuedCertificate, era};
use serde::Serialize;

use crate::exit::Error;
use crate::profiles::ProfileSource;

/// What to show.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile (`--profile`).
    pub profile: String,
    /// JSON instead of text.
    pub json: bool,
    /// Export the certificates and trust anchors here.
    pub export: Option<PathBuf>,
    /// Show PIN and password values.
    pub reveal: bool,
}

/// Shows the card.
///
/// # Errors
/// A profile that does not load (2); output that cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    let source = ProfileSource::find(&options.profile, Path::new("."))?;
    let issued = source.issue()?;
    let report = report(&source, &issued, options.reveal);
    if let Some(dir) = &options.export {
        export(dir, &issued)
            .map_err(|e| Error::io(anyhow!("cannot export to {}: {e}", dir.display())))?;
    }
    let out = if options.json {
        serde_json::to_string_pretty(&report)
            .map_err(|e| Error::io(anyhow!("cannot render JSON: {e}")))?
            + "\n"
    } else {
        render_text(&report)
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}")))
}

/// JSON (and text) view of a card.
#[derive(Debug, Serialize)]
pub struct CardReport {
    /// Where the profile came from.
    pub profile: String,
    /// "Today" of the profile.
    pub today: Date,
    /// The holder.
    pub holder: HolderReport,
    /// The individual number.
    pub my_number: MyNumberReport,
    /// The card.
    pub card: CardInfoReport,
    /// The JPKI certificates.
    pub certificates: CertificatesReport,
    /// The test CA certificates (EF 000B and 0002).
    pub ca_certificates: CaReport,
    /// Retry counters.
    pub pins: PinsReport,
    /// The 4-digit PINs of the other applications and the 照合番号 keys.
    pub other_keys: Vec<KeyReport>,
    /// The committed trust anchors (public half of the test PKI).
    pub trust_anchors: TrustAnchorsReport,
}

/// A key reference of the input-support, card-face, common-card or resident application.
#[derive(Debug, Serialize)]
pub struct KeyReport {
    /// Application short name.
    pub application: String,
    /// The key EF.
    pub ef: String,
    /// What it is.
    pub name: String,
    /// The value (`****` for PINs unless revealed; 照合番号 are printed on the card).
    pub value: String,
    /// Tries left.
    pub tries_left: u8,
    /// Maximum tries.
    pub max_tries: u8,
}

/// Where the test PKI's public half is.
#[derive(Debug, Serialize)]
pub struct TrustAnchorsReport {
    /// Directory in the mynasim repository.
    pub directory: String,
    /// Files and what they are.
    pub files: Vec<(String, String)>,
}

/// The holder.
#[derive(Debug, Serialize)]
pub struct HolderReport {
    /// 氏名.
    pub name: String,
    /// 住所.
    pub address: String,
    /// Date of birth.
    pub birth_date: Date,
    /// In the Japanese era (`昭和60年4月12日`).
    pub birth_date_era: String,
    /// Sex digit (1, 2, 9, 0).
    pub sex: String,
    /// Age on "today".
    pub age_today: i16,
}

/// The individual number.
#[derive(Debug, Serialize)]
pub struct MyNumberReport {
    /// 12 digits.
    pub value: String,
    /// Whether the check digit is right.
    pub check_digit_valid: bool,
}

/// The card itself.
#[derive(Debug, Serialize)]
pub struct CardInfoReport {
    /// Issue date.
    pub issued: Date,
    /// Application date.
    pub applied: Date,
    /// Last valid day.
    pub expires: Date,
    /// Whether it has expired on "today".
    pub expired: bool,
    /// Age at issue.
    pub age_at_issue: i16,
    /// Age of majority that applied.
    pub majority_age: i16,
    /// Birthdays the card lasts by the FAQ rule (10 or 5).
    pub birthdays: i16,
    /// ATR preset name.
    pub atr_preset: String,
    /// ATR bytes (of the first activation: a `pupi` reader shows a new one at every power-on).
    pub atr: String,
    /// Reader personality, if the profile names one.
    pub reader: Option<String>,
    /// EF 0006 label.
    pub token: String,
    /// Layout generation (2016 or 2023).
    pub layout: u16,
    /// Municipality code.
    pub municipality_code: String,
    /// Security code printed on the card face.
    pub security_code: String,
    /// Manufacturing serial (common-card EF 0001).
    pub serial: String,
    /// 照合番号A (the My Number).
    pub verification_code_a: String,
    /// 照合番号B (era birth date + expiry year + security code).
    pub verification_code_b: String,
}

/// One certificate.
#[derive(Debug, Serialize)]
pub struct CertificateReport {
    /// The EF holding it.
    pub ef: String,
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Serial (hex).
    pub serial: String,
    /// First valid day.
    pub not_before: Date,
    /// Last valid day.
    pub not_after: Date,
    /// Status as recorded in the profile.
    pub status: String,
    /// Status a relying party sees on "today" (expired once past notAfter).
    pub effective_status: String,
    /// SHA-256 fingerprint of the DER.
    pub sha256: String,
    /// DER size.
    pub size: usize,
    /// PEM.
    pub pem: String,
}

/// Both certificates.
#[derive(Debug, Serialize)]
pub struct CertificatesReport {
    /// User authentication (EF 000A).
    pub auth: Option<CertificateReport>,
    /// Digital signature (EF 0001).
    pub sign: Option<CertificateReport>,
}

/// A CA certificate.
#[derive(Debug, Serialize)]
pub struct CaCertificateReport {
    /// The EF holding it.
    pub ef: String,
    /// Subject.
    pub subject: String,
    /// SHA-256 fingerprint.
    pub sha256: String,
    /// PEM.
    pub pem: String,
}

/// The two CA certificates.
#[derive(Debug, Serialize)]
pub struct CaReport {
    /// Authentication CA (EF 000B).
    pub auth: CaCertificateReport,
    /// Signature CA (EF 0002).
    pub sign: CaCertificateReport,
}

/// One secret.
#[derive(Debug, Serialize)]
pub struct PinReport {
    /// The key EF.
    pub ef: String,
    /// The value, or `****` unless revealed.
    pub value: String,
    /// Tries left.
    pub tries_left: u8,
    /// Maximum tries.
    pub max_tries: u8,
}

/// The secrets.
#[derive(Debug, Serialize)]
pub struct PinsReport {
    /// 利用者証明用暗証番号 (EF 0018).
    pub auth: Option<PinReport>,
    /// 署名用パスワード (EF 001B).
    pub sign: Option<PinReport>,
}

fn certificate_report(c: &IssuedCertificate, ef: u16, today: Date) -> CertificateReport {
    CertificateReport {
        ef: format!("{ef:04X}"),
        subject: c.subject(),
        issuer: c.issuer(),
        serial: c.serial(),
        not_before: c.plan.not_before,
        not_after: c.plan.not_after,
        status: status_name(c.plan.status),
        effective_status: status_name(c.plan.effective_status(today)),
        sha256: c.fingerprint(),
        size: c.der.len(),
        pem: c.pem(),
    }
}

fn status_name(status: mynasim_simulator::profile::CertificateStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn ca_report(der: &[u8], ef: u16) -> CaCertificateReport {
    let subject = mynasim_simulator::pki::jpki::parse(der)
        .map(|c| c.tbs_certificate().subject().to_string())
        .unwrap_or_default();
    CaCertificateReport {
        ef: format!("{ef:04X}"),
        subject,
        sha256: x509::fingerprint(der),
        pem: x509::pem(der),
    }
}

/// Builds the report of an issued card.
fn report(source: &ProfileSource, issued: &IssuedCard, reveal: bool) -> CardReport {
    let p = &issued.personalisation;
    let secret = |value: &str| {
        if reveal {
            value.to_owned()
        } else {
            "*".repeat(value.len())
        }
    };
    CardReport {
        profile: source.origin(),
        today: p.today,
        holder: HolderReport {
            name: p.name.clone(),
            address: p.address.clone(),
            birth_date: p.birth_date,
            birth_date_era: format!(
                "{}{}年{}月{}日",
                era::Era::of(p.birth_date).kanji(),
                era::era_year(p.birth_date),
                p.birth_date.month(),
                p.birth_date.day()
            ),
            sex: p.sex.digit().to_string(),
            age_today: p.age_today(),
        },
        my_number: MyNumberReport {
            value: p.my_number.to_string(),
            check_digit_valid: p.my_number.has_valid_check_digit(),
        },
        card: CardInfoReport {
            issued: p.issued,
            applied: p.applied,
            expires: p.card_expires,
            expired: p.card_expired(),
            age_at_issue: p.validity.age_at_issue,
            majority_age: p.validity.majority_age,
            birthdays: p.validity.birthdays,
            atr_preset: p.atr.name().to_owned(),
            atr: hex::spaced(issued.card.atr()),
            reader: p.reader.map(|r| r.name().to_owned()),
            token: p.token.label().to_owned(),
            layout: p.layout.year(),
            municipality_code: p.municipality_code.clone(),
            security_code: p.security_code.clone(),
            serial: p.serial.clone(),
            verification_code_a: p.my_number.to_string(),
            verification_code_b: mynasim_simulator::apps::text::verification_code_b(
                p.birth_date,
                p.card_expires,
                &p.security_code,
            ),
        },
        certificates: CertificatesReport {
            auth: issued
                .auth_certificate
                .as_ref()
                .map(|c| certificate_report(c, ef::AUTH_CERT, p.today)),
            sign: issued
                .sign_certificate
                .as_ref()
                .map(|c| certificate_report(c, ef::SIGN_CERT, p.today)),
        },
        ca_certificates: CaReport {
            auth: ca_report(&issued.auth_ca, ef::AUTH_CA_CERT),
            sign: ca_report(&issued.sign_ca, ef::SIGN_CA_CERT),
        },
        pins: PinsReport {
            auth: issued.auth_certificate.as_ref().map(|_| PinReport {
                ef: format!("{:04X}", ef::AUTH_PIN),
                value: secret(&p.auth_pin.value),
                tries_left: p.auth_pin.counter.left(),
                max_tries: p.auth_pin.counter.max(),
            }),
            sign: issued.sign_certificate.as_ref().map(|_| PinReport {
                ef: format!("{:04X}", ef::SIGN_PIN),
                value: secret(&p.sign_pin.value),
                tries_left: p.sign_pin.counter.left(),
                max_tries: p.sign_pin.counter.max(),
            }),
        },
        other_keys: other_keys(p, reveal),
        trust_anchors: TrustAnchorsReport {
            directory: published::DIRECTORY.to_owned(),
            files: published::FILES
                .iter()
                .map(|f| (f.file.to_owned(), f.what.to_owned()))
                .collect(),
        },
    }
}

fn other_keys(p: &mynasim_simulator::profile::Personalisation, reveal: bool) -> Vec<KeyReport> {
    let mask = |v: &str| {
        if reveal {
            v.to_owned()
        } else {
            "*".repeat(v.len())
        }
    };
    let key = |app: &str,
               ef: u16,
               name: &str,
               value: String,
               c: mynasim_simulator::security::RetryCounter| KeyReport {
        application: app.to_owned(),
        ef: format!("{ef:04X}"),
        name: name.to_owned(),
        value,
        tries_left: c.left(),
        max_tries: c.max(),
    };
    let code_b = mynasim_simulator::apps::text::verification_code_b(
        p.birth_date,
        p.card_expires,
        &p.security_code,
    );
    vec![
        key(
            "text",
            0x0011,
            "input-support PIN",
            mask(&p.text_pin.value),
            p.text_pin.counter,
        ),
        key(
            "text",
            0x0014,
            "verification code A",
            p.my_number.to_string(),
            p.text_codes.0,
        ),
        key(
            "text",
            0x0015,
            "verification code B",
            code_b.clone(),
            p.text_codes.1,
        ),
        key(
            "face",
            0x0013,
            "verification code A",
            p.my_number.to_string(),
            p.face_codes.0,
        ),
        key(
            "face",
            0x0012,
            "verification code B",
            code_b,
            p.face_codes.1,
        ),
        key(
            "face",
            0x0011,
            "birth-date key",
            era::era_yymmdd(p.birth_date),
            p.face_codes.2,
        ),
        key(
            "juki",
            0x001C,
            "resident PIN",
            mask(&p.resident_pin.value),
            p.resident_pin.counter,
        ),
        key(
            "common",
            0x001C,
            "resident PIN",
            mask(&p.common_pin.value),
            p.common_pin.counter,
        ),
    ]
}

/// Renders the report as text.
fn render_text(r: &CardReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Profile      {}", r.profile);
    let _ = writeln!(s, "Today        {}", r.today);
    let _ = writeln!(
        s,
        "Holder       {} (sex {}), born {} ({}), age {} today",
        r.holder.name,
        r.holder.sex,
        r.holder.birth_date,
        r.holder.birth_date_era,
        r.holder.age_today
    );
    let _ = writeln!(s, "Address      {}", r.holder.address);
    let _ = writeln!(
        s,
        "My Number    {} (check digit {})",
        r.my_number.value,
        if r.my_number.check_digit_valid {
            "valid"
        } else {
            "WRONG"
        }
    );
    let _ = writeln!(
        s,
        "Card         issued {}, expires {}{}",
        r.card.issued,
        r.card.expires,
        if r.card.expired {
            " — EXPIRED today"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "             {} at issue, age of majority {} (applied {}): valid to the {}th birthday after issue",
        r.card.age_at_issue, r.card.majority_age, r.card.applied, r.card.birthdays
    );
    match &r.card.reader {
        None => {
            let _ = writeln!(s, "ATR          {} ({})", r.card.atr, r.card.atr_preset);
        }
        Some(reader) => {
            let _ = writeln!(
                s,
                "ATR          {} ({} in a {reader} reader{})",
                r.card.atr,
                r.card.atr_preset,
                if reader == "pupi" {
                    "; the PUPI, and so the ATR, changes at every power-on"
                } else {
                    ""
                }
            );
        }
    }
    let _ = writeln!(s, "Token        {}", r.card.token);
    let _ = writeln!(
        s,
        "Layout       {} (input-support EF 0002 outer length {})",
        r.card.layout,
        if r.card.layout >= 2023 {
            "82 HH LL"
        } else {
            "minimal"
        }
    );
    let _ = writeln!(s, "Municipality {}", r.card.municipality_code);
    let _ = writeln!(
        s,
        "Security code {}, serial {}",
        r.card.security_code, r.card.serial
    );
    let _ = writeln!(
        s,
        "Verification codes (照合番号) A {}, B {}",
        r.card.verification_code_a, r.card.verification_code_b
    );
    let _ = writeln!(s, "\nCertificates");
    for (title, cert) in [
        ("user authentication", &r.certificates.auth),
        ("digital signature", &r.certificates.sign),
    ] {
        match cert {
            None => {
                let _ = writeln!(s, "  {title}: none on this card");
            }
            Some(c) => {
                let _ = writeln!(s, "  {title} (EF {}, {} bytes)", c.ef, c.size);
                let _ = writeln!(s, "    subject   {}", c.subject);
                let _ = writeln!(s, "    issuer    {}", c.issuer);
                let _ = writeln!(s, "    serial    {}", c.serial);
                let _ = writeln!(s, "    validity  {} to {}", c.not_before, c.not_after);
                let status = if c.status == c.effective_status {
                    c.status.clone()
                } else {
                    format!("{} (recorded: {})", c.effective_status, c.status)
                };
                let _ = writeln!(s, "    status    {status}");
                let _ = writeln!(s, "    SHA-256   {}", c.sha256);
            }
        }
    }
    let _ = writeln!(
        s,
        "  test CAs (EF {} and {})",
        r.ca_certificates.auth.ef, r.ca_certificates.sign.ef
    );
    let _ = writeln!(s, "    {}", r.ca_certificates.auth.subject);
    let _ = writeln!(s, "    {}", r.ca_certificates.sign.subject);
    let _ = writeln!(s, "\nSecrets");
    for (title, pin) in [
        ("user authentication PIN", &r.pins.auth),
        ("signature password", &r.pins.sign),
    ] {
        if let Some(p) = pin {
            let _ = writeln!(
                s,
                "  {title:<32} EF {}  {:<16} {} of {} tries left{}",
                p.ef,
                p.value,
                p.tries_left,
                p.max_tries,
                blocked(p.tries_left)
            );
        }
    }
    for k in &r.other_keys {
        let title = format!("{} ({})", k.name, k.application);
        let _ = writeln!(
            s,
            "  {title:<32} EF {}  {:<16} {} of {} tries left{}",
            k.ef,
            k.value,
            k.tries_left,
            k.max_tries,
            blocked(k.tries_left)
        );
    }
    let _ = writeln!(
        s,
        "\nTrust anchors (TEST): {}/ in the mynasim repository, or `card show --export DIR`",
        r.trust_anchors.directory
    );
    for (file, what) in &r.trust_anchors.files {
        let _ = writeln!(s, "  {file:<28} {what}");
    }
    s
}

fn blocked(tries_left: u8) -> &'static str {
    if tries_left == 0 { " — BLOCKED" } else { "" }
}

/// Writes the card's certificates as PEM and DER files.
fn export(dir: &Path, issued: &IssuedCard) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut files: Vec<(&str, &[u8])> =
        vec![("auth-ca", &issued.auth_ca), ("sign-ca", &issued.sign_ca)];
    if let Some(c) = &issued.auth_certificate {
        files.push(("auth", &c.der));
    }
    if let Some(c) = &issued.sign_certificate {
        files.push(("sign", &c.der));
    }
    for (name, der) in files {
        std::fs::write(dir.join(format!("{name}.der")), der)?;
        std::fs::write(dir.join(format!("{name}.pem")), x509::pem(der))?;
    }
    for file in published::FILES {
        let content = file
            .content()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        std::fs::write(dir.join(file.file), content)?;
    }
    Ok(())
}
