//! The validation service over HTTP, asked by real OpenSSL (issue 11): `openssl ocsp` for
//! good, on hold, revoked with a reason and the nonce; `openssl crl` parses every CRL;
//! `openssl verify -crl_check` follows a revocation through the daily CRL.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::SignedDuration;
use mynasim_harness::host::validation::Background;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::x509::pem;
use mynasim_simulator::profile::{IssuedCard, Profile};
use mynasim_simulator::validation::{Service, responder};
use x509_cert::ext::pkix::crl::CrlReason;

fn card(extra: &str) -> IssuedCard {
    let yaml = format!(
        "version: 1\ntoday: 2026-11-25\nholder: {{ birth_date: 1985-04-12 }}\n\
         card: {{ issued: 2024-06-03 }}\n{extra}"
    );
    Profile::from_yaml(&yaml, "<inline>")
        .unwrap()
        .personalise("<inline>")
        .unwrap()
        .issue()
        .unwrap()
}

/// The card's certificates, the CAs and the responders as PEM files in a fresh folder.
fn files(card: &IssuedCard) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mynasim-validation-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, der: &[u8]| std::fs::write(dir.join(name), pem(der)).unwrap();
    write("auth.pem", &card.auth_certificate.as_ref().unwrap().der);
    write("sign.pem", &card.sign_certificate.as_ref().unwrap().der);
    write(
        "auth-ca.pem",
        &jpki::ca(CertKind::Authentication).unwrap().der,
    );
    write("sign-ca.pem", &jpki::ca(CertKind::Signature).unwrap().der);
    write(
        "auth-responder.pem",
        &responder(CertKind::Authentication).unwrap().der,
    );
    write(
        "sign-responder.pem",
        &responder(CertKind::Signature).unwrap().der,
    );
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (ci/setup installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `openssl ocsp` about `which` (auth or sign), checking the response with the published
/// responder certificate.
fn ocsp(dir: &Path, server: &Background, which: &str) -> String {
    let url = format!("{}ocsp/{which}", server.url());
    let (ok, text) = openssl(
        dir,
        &[
            "ocsp",
            "-issuer",
            &format!("{which}-ca.pem"),
            "-cert",
            &format!("{which}.pem"),
            "-url",
            &url,
            "-VAfile",
            &format!("{which}-responder.pem"),
            "-resp_text",
        ],
    );
    assert!(ok, "openssl ocsp failed:\n{text}");
    assert!(text.contains("Response verify OK"), "{text}");
    text
}

fn start(card: &IssuedCard) -> Background {
    Background::start("127.0.0.1:0".parse().unwrap(), Service::for_card(card)).unwrap()
}

#[test]
fn openssl_ocsp_sees_good_hold_and_revoked_with_its_reason_and_its_nonce() {
    let card = card("certificates: { auth: { status: suspended } }\n");
    let dir = files(&card);
    let server = start(&card);
    let auth = ocsp(&dir, &server, "auth");
    assert!(auth.contains("auth.pem: revoked"), "{auth}");
    assert!(auth.contains("Reason: certificateHold"), "{auth}");
    assert!(
        auth.contains("OCSP Nonce"),
        "the nonce OpenSSL sent is echoed: {auth}"
    );
    let sign = ocsp(&dir, &server, "sign");
    assert!(sign.contains("sign.pem: good"), "{sign}");
    // The holder moves house: the signature certificate is revoked at once.
    {
        let mut s = server.service.lock().unwrap();
        let serial = card
            .sign_certificate
            .as_ref()
            .unwrap()
            .certificate
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec();
        let now = s.clock.now();
        s.registry
            .revoke(
                CertKind::Signature,
                &serial,
                CrlReason::AffiliationChanged,
                now,
            )
            .unwrap();
    }
    let sign = ocsp(&dir, &server, "sign");
    assert!(sign.contains("sign.pem: revoked"), "{sign}");
    assert!(sign.contains("Reason: affiliationChanged"), "{sign}");
    // A response checked against the wrong responder does not verify.
    let (_, wrong) = openssl(
        &dir,
        &[
            "ocsp",
            "-issuer",
            "auth-ca.pem",
            "-cert",
            "auth.pem",
            "-url",
            &format!("{}ocsp", server.url()),
            "-VAfile",
            "sign-responder.pem",
        ],
    );
    assert!(!wrong.contains("Response verify OK"), "{wrong}");
}

#[test]
fn openssl_reads_every_crl_and_verify_follows_the_daily_schedule() {
    let card = card("");
    let dir = files(&card);
    let server = start(&card);
    let get = |path: &str| -> Vec<u8> {
        let out = Command::new("curl")
            .args(["-sf", &format!("{}{path}", server.url())])
            .output()
            .expect("curl runs");
        assert!(out.status.success(), "GET {path}");
        out.stdout
    };
    let index: serde_json::Value = serde_json::from_slice(&get("crl/index.json")).unwrap();
    assert_eq!(index.as_object().unwrap().len(), 2, "{index}");
    let attime = |s: &Background| {
        s.service
            .lock()
            .unwrap()
            .clock
            .now()
            .as_second()
            .to_string()
    };
    let verify = |dir: &Path, t: &str| {
        std::fs::write(dir.join("crl.pem"), get("crl/sign/Tokyo-to/Chiyoda-ku.pem")).unwrap();
        let (ok, text) = openssl(dir, &["crl", "-in", "crl.pem", "-noout", "-text"]);
        assert!(ok, "{text}");
        openssl(
            dir,
            &[
                "verify",
                "-attime",
                t,
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                "-CAfile",
                "sign-ca.pem",
                "sign.pem",
            ],
        )
    };
    let (ok, text) = verify(&dir, &attime(&server));
    assert!(ok, "{text}");
    // Revoked now: today's CRL (issued at 03:00) does not list it yet...
    let serial = card
        .sign_certificate
        .as_ref()
        .unwrap()
        .certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    {
        let mut s = server.service.lock().unwrap();
        let now = s.clock.now();
        s.registry
            .revoke(
                CertKind::Signature,
                &serial,
                CrlReason::AffiliationChanged,
                now,
            )
            .unwrap();
    }
    let (ok, text) = verify(&dir, &attime(&server));
    assert!(ok, "the CRL lags a day: {text}");
    // ...tomorrow's does.
    server
        .service
        .lock()
        .unwrap()
        .clock
        .advance(SignedDuration::from_hours(24));
    let (ok, text) = verify(&dir, &attime(&server));
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (_, crl_text) = openssl(&dir, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(crl_text.contains("Affiliation Changed"), "{crl_text}");
    // A stale CRL (yesterday's, past its nextUpdate) is refused by OpenSSL.
    server.service.lock().unwrap().faults.stale_crl = true;
    let (ok, text) = verify(&dir, &attime(&server));
    assert!(!ok && text.contains("CRL has expired"), "{text}");
}

#[test]
fn the_service_answers_garbage_with_malformed_request_and_caps_bodies() {
    let card = card("");
    let server = start(&card);
    let post = |body: Vec<u8>| -> (String, Vec<u8>) {
        let path = std::env::temp_dir().join(format!("mynasim-ocsp-body-{}", rand_suffix()));
        std::fs::write(&path, body).unwrap();
        let out = Command::new("curl")
            .args(["-s", "-o", "-", "-w", "%{http_code}", "--data-binary"])
            .arg(format!("@{}", path.display()))
            .args(["-H", "Content-Type: application/ocsp-request"])
            .arg(format!("{}ocsp", server.url()))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(path);
        let mut body = out.stdout;
        let code = String::from_utf8(body.split_off(body.len() - 3)).unwrap();
        (code, body)
    };
    let (code, body) = post(b"not an OCSP request".to_vec());
    assert_eq!(code, "200");
    let status = mynasim_simulator::pki::ocsp::parse_response(&body)
        .unwrap()
        .response_status;
    assert_eq!(
        status,
        mynasim_simulator::pki::ocsp::ResponseStatus::MalformedRequest
    );
    let (code, _) = post(vec![0x30; 70 * 1024]);
    assert_eq!(code, "413", "bodies over 64 KiB are refused");
    server.service.lock().unwrap().faults.http_503 = true;
    let (code, _) = post(b"x".to_vec());
    assert_eq!(code, "503");
}

/// A signature by the card's authentication key over `message` (PKCS#1 v1.5, SHA-256).
fn sign_with_card(card: &IssuedCard, message: &[u8]) -> Vec<u8> {
    use mynasim_simulator::apdu::{KeyReference, build};
    use sha2::Digest;
    let mut c = card.card.clone();
    c.power_on();
    let ok = |r: Vec<u8>| {
        assert_eq!(&r[r.len() - 2..], [0x90, 0x00]);
        r[..r.len() - 2].to_vec()
    };
    ok(c.transmit(&build::select_df(&[
        0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
    ])));
    ok(c.transmit(&build::select_ef([0x00, 0x18])));
    ok(c.transmit(&build::verify(KeyReference::Current, b"1234")));
    ok(c.transmit(&build::select_ef([0x00, 0x17])));
    let mut digest_info = hex_decode("3031300d060960864801650304020105000420");
    digest_info.extend(sha2::Sha256::digest(message));
    ok(c.transmit(&build::compute_digital_signature(
        0,
        0x80,
        &digest_info,
        256,
    )))
}

fn hex_decode(h: &str) -> Vec<u8> {
    mynasim_simulator::hex::decode(h).unwrap()
}

fn verify_cmd(dir: &Path, url: Option<&str>, at: &str) -> (i32, String) {
    let mut cmd = super::support::mynasim();
    cmd.args(["verify", "--certificate"])
        .arg(dir.join("auth.pem"))
        .arg("--signature")
        .arg(dir.join("sig.bin"))
        .arg("--data")
        .arg(dir.join("message.txt"))
        .args(["--at", at]);
    if let Some(url) = url {
        cmd.args(["--url", url]);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn mynasim_verify_accepts_a_good_signature_and_refuses_in_the_documented_order() {
    let card = card("");
    let dir = files(&card);
    std::fs::write(dir.join("message.txt"), b"login challenge 42").unwrap();
    std::fs::write(
        dir.join("sig.bin"),
        sign_with_card(&card, b"login challenge 42"),
    )
    .unwrap();
    let server = start(&card);
    let url = server.url();
    let (code, text) = verify_cmd(&dir, Some(&url), "2026-11-25");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("signature    verifies") && text.contains("verdict      good"),
        "{text}"
    );
    // Without a service the status is not checked, and says so.
    let (code, text) = verify_cmd(&dir, None, "2026-11-25");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("status unknown"), "{text}");
    // Expired comes first, whatever the status.
    let (code, text) = verify_cmd(&dir, Some(&url), "2030-01-01");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("verdict      expired"), "{text}");
    // On hold.
    {
        let mut s = server.service.lock().unwrap();
        let serial = card
            .auth_certificate
            .as_ref()
            .unwrap()
            .certificate
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec();
        let now = s.clock.now();
        s.registry
            .hold(CertKind::Authentication, &serial, now)
            .unwrap();
    }
    let (code, text) = verify_cmd(&dir, Some(&url), "2026-11-25");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("verdict      hold"), "{text}");
    // A changed message: the signature check comes before the status.
    std::fs::write(dir.join("message.txt"), b"login challenge 43").unwrap();
    let (code, text) = verify_cmd(&dir, Some(&url), "2026-11-25");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("verdict      bad signature"), "{text}");
    // No service listening: exit 3.
    std::fs::write(dir.join("message.txt"), b"login challenge 42").unwrap();
    drop(server);
    let (code, text) = verify_cmd(&dir, Some(&url), "2026-11-25");
    assert_eq!(code, 3, "{text}");
}

#[test]
fn a_found_card_seen_by_openssl_old_certificate_held_for_good_new_one_good() {
    let card = card("");
    let dir = files(&card);
    let server = start(&card);
    let old = card.auth_certificate.as_ref().unwrap();
    let old_serial = old
        .certificate
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let p = &card.personalisation;
    let new = {
        let mut s = server.service.lock().unwrap();
        let now = s.clock.now();
        s.registry
            .hold(CertKind::Authentication, &old_serial, now)
            .unwrap();
        s.registry
            .revoke(
                CertKind::Authentication,
                &old_serial,
                CrlReason::CertificateHold,
                now,
            )
            .unwrap();
        let (new, _key) = p
            .reissue(CertKind::Authentication, 1, s.clock.today())
            .unwrap();
        s.registry.add(mynasim_simulator::validation::record_of(
            &new,
            &p.prefecture,
            &p.city,
            false,
            mynasim_simulator::validation::Status::Good,
        ));
        new
    };
    std::fs::write(dir.join("new.pem"), pem(&new.der)).unwrap();
    let url = format!("{}ocsp", server.url());
    let ask = |cert: &str| {
        let (ok, text) = openssl(
            &dir,
            &[
                "ocsp",
                "-issuer",
                "auth-ca.pem",
                "-cert",
                cert,
                "-url",
                &url,
                "-VAfile",
                "auth-responder.pem",
            ],
        );
        assert!(ok && text.contains("Response verify OK"), "{text}");
        text
    };
    let old_text = ask("auth.pem");
    assert!(
        old_text.contains("auth.pem: revoked") && old_text.contains("Reason: certificateHold"),
        "{old_text}"
    );
    let new_text = ask("new.pem");
    assert!(new_text.contains("new.pem: good"), "{new_text}");
    // The next day's CRL lists the old serial as held and covers the new certificate.
    server
        .service
        .lock()
        .unwrap()
        .clock
        .advance(SignedDuration::from_hours(24));
    let crl = Command::new("curl")
        .args([
            "-sf",
            &format!("{}crl/auth/Tokyo-to/Chiyoda-ku.pem", server.url()),
        ])
        .output()
        .unwrap()
        .stdout;
    std::fs::write(dir.join("crl.pem"), crl).unwrap();
    let (_, crl_text) = openssl(&dir, &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(crl_text.contains("Certificate Hold"), "{crl_text}");
    let t = server
        .service
        .lock()
        .unwrap()
        .clock
        .now()
        .as_second()
        .to_string();
    let verify = |cert: &str| {
        openssl(
            &dir,
            &[
                "verify",
                "-attime",
                &t,
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                "-CAfile",
                "auth-ca.pem",
                cert,
            ],
        )
    };
    let (ok, text) = verify("new.pem");
    assert!(ok, "{text}");
    let (ok, text) = verify("auth.pem");
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

#[test]
fn with_crl_uri_openssl_downloads_the_crl_itself() {
    // The service first (its port goes into the certificates), then the card.
    let server = Background::start(
        "127.0.0.1:0".parse().unwrap(),
        Service::new(jiff::civil::date(2026, 11, 25)),
    )
    .unwrap();
    let card = card(&format!(
        "certificates: {{ base_url: \"{}\", crl_uri: true }}\n",
        server.url()
    ));
    server.service.lock().unwrap().register_card(&card);
    let dir = files(&card);
    let (_, text) = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "auth.pem",
            "-noout",
            "-ext",
            "crlDistributionPoints",
        ],
    );
    assert!(
        text.contains("DirName:") && text.contains("URI:http://127.0.0.1:"),
        "{text}"
    );
    let t = server
        .service
        .lock()
        .unwrap()
        .clock
        .now()
        .as_second()
        .to_string();
    let download = |dir: &Path| {
        openssl(
            dir,
            &[
                "verify",
                "-attime",
                &t,
                "-crl_check",
                "-crl_download",
                "-CAfile",
                "auth-ca.pem",
                "auth.pem",
            ],
        )
    };
    let (ok, text) = download(&dir);
    assert!(ok, "{text}");
    // Held yesterday: today's CRL, downloaded by OpenSSL, lists it.
    {
        let mut s = server.service.lock().unwrap();
        let serial = card
            .auth_certificate
            .as_ref()
            .unwrap()
            .certificate
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec();
        let yesterday = s.clock.now() - SignedDuration::from_hours(30);
        s.registry
            .hold(CertKind::Authentication, &serial, yesterday)
            .unwrap();
    }
    let (ok, text) = download(&dir);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
}

/// `mynasim validation --control SOCKET`: the running service changes on command, and OpenSSL
/// sees it.
#[test]
fn the_running_service_changes_on_control_commands() {
    use std::io::{BufRead, BufReader};
    let dir = files(&card(""));
    let profile = dir.join("card.yaml");
    std::fs::write(
        &profile,
        "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-03 }\n",
    )
    .unwrap();
    let socket = dir.join("validation.sock");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(
        super::support::mynasim()
            .args(["validation", "--listen", "127.0.0.1:0", "--profile"])
            .arg(&profile)
            .arg("--control")
            .arg(&socket)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let control = |line: &str| {
        let out = super::support::mynasim()
            .args(["control"])
            .arg(&socket)
            .args(line.split_whitespace())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ask = || {
        openssl(
            &dir,
            &[
                "ocsp",
                "-issuer",
                "auth-ca.pem",
                "-cert",
                "auth.pem",
                "-url",
                &format!("{url}ocsp"),
                "-VAfile",
                "auth-responder.pem",
            ],
        )
        .1
    };
    let good = ask();
    assert!(good.contains("auth.pem: good"), "{good}");
    assert!(
        control("lose_card").starts_with("ok on hold"),
        "{}",
        control("status")
    );
    let held = ask();
    assert!(
        held.contains("auth.pem: revoked") && held.contains("certificateHold"),
        "{held}"
    );
    assert!(control("fault try_later").starts_with("ok"));
    let busy = ask();
    assert!(busy.to_lowercase().contains("trylater"), "{busy}");
    drop(child);
}

/// `mynasim verify --cms`: a CMS SignedData made by `openssl cms -sign` with the card's
/// authentication key (a pool TEST key) and certificate, detached and attached.
#[test]
fn mynasim_verify_reads_a_cms_signature_made_by_openssl() {
    use rsa::pkcs8::EncodePrivateKey;
    let card = card("");
    let dir = files(&card);
    let key = mynasim_simulator::pki::keys::card_key(
        card.personalisation.seed,
        mynasim_simulator::pki::keys::CardKey::JpkiAuthentication,
    )
    .unwrap();
    std::fs::write(
        dir.join("key.pem"),
        key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    std::fs::write(dir.join("msg.txt"), b"a document to sign").unwrap();
    for (name, extra) in [
        ("detached.p7s", &["-binary"][..]),
        ("attached.p7s", &["-binary", "-nodetach"][..]),
    ] {
        let mut args = vec![
            "cms", "-sign", "-in", "msg.txt", "-signer", "auth.pem", "-inkey", "key.pem",
            "-outform", "DER", "-out", name,
        ];
        args.extend_from_slice(extra);
        let (ok, text) = openssl(&dir, &args);
        assert!(ok, "{text}");
    }
    let server = start(&card);
    let run = |args: &[&str]| {
        let out = super::support::mynasim()
            .arg("verify")
            .args(args)
            .args(["--at", "2026-11-25", "--url", &server.url()])
            .current_dir(&dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run(&["--cms", "detached.p7s", "--data", "msg.txt"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("CMS with signed attributes") && text.contains("verdict      good"),
        "{text}"
    );
    let (code, text) = run(&["--cms", "attached.p7s"]);
    assert_eq!(code, 0, "{text}");
    // Other data: the messageDigest does not match.
    std::fs::write(dir.join("other.txt"), b"another document").unwrap();
    let (code, text) = run(&["--cms", "detached.p7s", "--data", "other.txt"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("messageDigest is not the content's digest"),
        "{text}"
    );
    let (code, text) = run(&["--cms", "detached.p7s"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("give the signed data with --data"), "{text}");
}

/// RFC 6960 appendix A.1: a GET with the request base64-encoded (and URL-encoded) in the
/// path gets the same answer as the POST.
#[test]
fn ocsp_over_get_answers_like_post() {
    use base64::Engine;
    use mynasim_simulator::pki::ocsp::{self, CertIdHash};
    let card = card("");
    let server = start(&card);
    let cert = &card.auth_certificate.as_ref().unwrap().certificate;
    let ca = &jpki::ca(CertKind::Authentication).unwrap().certificate;
    let request = ocsp::request(ocsp::cert_id(cert, ca, CertIdHash::Sha1).unwrap(), None).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(&request)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let out = Command::new("curl")
        .args(["-sf", &format!("{}ocsp/{encoded}", server.url())])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        mynasim_simulator::validation::client::read_ocsp(&out.stdout, cert, ca, None),
        mynasim_simulator::validation::client::Verdict::Good
    );
    // Not base64: malformedRequest, not an error page.
    let out = Command::new("curl")
        .args(["-sf", &format!("{}ocsp/not*base64", server.url())])
        .output()
        .unwrap();
    assert_eq!(
        ocsp::parse_response(&out.stdout).unwrap().response_status,
        ocsp::ResponseStatus::MalformedRequest
    );
}
