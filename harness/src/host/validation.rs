//! The validation service on HTTP (issue 11; docs/validation.md): OCSP (RFC 6960 appendix A:
//! POST `application/ocsp-request`, and GET with the request base64-encoded in the path) and
//! the CRLs of both test CAs per municipality partition, DER or PEM by suffix. Loopback by
//! default; request bodies are capped at [`MAX_BODY`] bytes.
//!
//! | path | what |
//! |---|---|
//! | `POST /ocsp`, `/ocsp/auth`, `/ocsp/sign` | an OCSP response |
//! | `GET /ocsp/<base64 request>` (also under `/ocsp/auth/`, `/ocsp/sign/`) | the same, RFC 6960 A.1 |
//! | `GET /crl/{auth,sign}/<prefecture>/<municipality>.crl` (`.pem`) | the partition's current CRL |
//! | `GET /crl/index.json` | each known partition: its distribution-point name (RFC 4514) → URL |
//! | `GET /certs/{auth,sign}-{ca,responder}.pem` | the CA and responder certificates |
//!
//! Stock OpenSSL cannot follow the certificates' directoryName CRL distribution points, so
//! `index.json` publishes the name → URL map a relying party configures.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::x509;
use mynasim_simulator::validation::{Service, partition_name, responder};
use tokio::net::TcpListener;

/// The largest OCSP request body read (an OCSP request for 16 certificates with a signature
/// is a few kilobytes).
pub const MAX_BODY: usize = 64 * 1024;

/// How long a `down` responder keeps a client waiting before it drops the connection.
pub const DOWN_HOLD: Duration = Duration::from_secs(30);

/// Refuses an address that is not loopback unless `public` allows it: the service listens on
/// loopback unless told otherwise.
///
/// # Errors
/// A non-loopback address without `public`, with why.
pub fn check_loopback(addr: SocketAddr, public: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || public {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not a loopback address: the validation service listens on loopback \
             unless --public is given"
        ))
    }
}

/// The service shared between the server and whoever changes it (scenario steps, the
/// control socket).
pub type Shared = Arc<Mutex<Service>>;

/// Builds the router.
pub fn router(service: Shared) -> axum::Router {
    axum::Router::new()
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/auth", post(ocsp_post))
        .route("/ocsp/sign", post(ocsp_post))
        .route("/ocsp/{request}", get(ocsp_get))
        .route("/ocsp/auth/{request}", get(ocsp_get))
        .route("/ocsp/sign/{request}", get(ocsp_get))
        .route("/crl/index.json", get(crl_index_route))
        .route("/crl/{kind}/{prefecture}/{file}", get(crl))
        .route("/certs/{file}", get(certificate))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// Serves until `shutdown` completes.
///
/// # Errors
/// If the server fails.
pub async fn serve(
    listener: TcpListener,
    service: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server on a thread of its own (for `exec` and the tests): stops when dropped.
#[derive(Debug)]
pub struct Background {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The service it answers from.
    pub service: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts a server on `addr` (port 0: any free port).
    ///
    /// # Errors
    /// If the address cannot be bound.
    pub fn start(addr: SocketAddr, service: Service) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let service: Shared = Arc::new(Mutex::new(service));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&service);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("mynasim-validation".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let _ = serve(listener, shared, async {
                        let _ = stopped.await;
                    })
                    .await;
                });
            })?;
        Ok(Self {
            addr,
            service,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL (`http://127.0.0.1:PORT/`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Applies the HTTP-level faults: a `down` responder holds the request and then drops it;
/// `http_503` answers 503; `delay_ms` waits first.
async fn faults(service: &Shared) -> Option<Response> {
    let faults = service.lock().ok().map(|s| s.faults).unwrap_or_default();
    if faults.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms.min(60_000))).await;
    }
    if faults.down {
        tokio::time::sleep(DOWN_HOLD).await;
        return Some(StatusCode::GATEWAY_TIMEOUT.into_response());
    }
    if faults.http_503 {
        return Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "60")],
                "mynasim TEST validation service: 503 (fault)\n",
            )
                .into_response(),
        );
    }
    None
}

fn ocsp_answer(service: &Shared, request: &[u8]) -> Response {
    let body = match service.lock() {
        Ok(s) => s.ocsp(request),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    ([(header::CONTENT_TYPE, "application/ocsp-response")], body).into_response()
}

async fn ocsp_post(State(service): State<Shared>, body: Bytes) -> Response {
    if let Some(r) = faults(&service).await {
        return r;
    }
    ocsp_answer(&service, &body)
}

async fn ocsp_get(State(service): State<Shared>, Path(request): Path<String>) -> Response {
    if let Some(r) = faults(&service).await {
        return r;
    }
    if request.len() > MAX_BODY * 2 {
        return StatusCode::URI_TOO_LONG.into_response();
    }
    // RFC 6960 A.1: base64 of the DER, URL-encoded (the path is already decoded).
    match base64::engine::general_purpose::STANDARD.decode(request.trim_end_matches('/')) {
        Ok(der) => ocsp_answer(&service, &der),
        // Not base64: the request is malformed all the same.
        Err(_) => ocsp_answer(&service, &[]),
    }
}

fn kind_of(name: &str) -> Option<CertKind> {
    match name {
        "auth" => Some(CertKind::Authentication),
        "sign" => Some(CertKind::Signature),
        _ => None,
    }
}

async fn crl(
    State(service): State<Shared>,
    Path((kind, prefecture, file)): Path<(String, String, String)>,
) -> Response {
    if let Some(r) = faults(&service).await {
        return r;
    }
    let Some(kind) = kind_of(&kind) else {
        return not_found("no such CA: use auth or sign");
    };
    let (municipality, pem) = if let Some(m) = file.strip_suffix(".crl") {
        (m, false)
    } else if let Some(m) = file.strip_suffix(".pem") {
        (m, true)
    } else {
        return not_found("a CRL is <municipality>.crl (DER) or <municipality>.pem");
    };
    let der = match service.lock() {
        Ok(s) => s.crl(kind, &prefecture, municipality),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match der {
        Ok(der) if pem => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &der).unwrap_or_default(),
        )
            .into_response(),
        Ok(der) => ([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Each partition the service knows a certificate in: its distribution point's directory
/// name (RFC 4514, as OpenSSL and the certificates print it) and the URL of its CRL.
pub fn crl_index(service: &Service, base: &str) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for r in service.registry.records() {
        let kind = match r.kind {
            CertKind::Authentication => "auth",
            CertKind::Signature => "sign",
        };
        if let Ok(name) = partition_name(r.kind, &r.prefecture, &r.municipality) {
            out.insert(
                name.to_string(),
                serde_json::Value::String(format!(
                    "{base}crl/{kind}/{}/{}.crl",
                    r.prefecture, r.municipality
                )),
            );
        }
    }
    serde_json::Value::Object(out)
}

async fn crl_index_route(
    State(service): State<Shared>,
    headers: axum::http::HeaderMap,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}/");
    let index = match service.lock() {
        Ok(s) => crl_index(&s, &base),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&index).unwrap_or_default(),
    )
        .into_response()
}

async fn certificate(Path(file): Path<String>) -> Response {
    let der = match file.as_str() {
        "auth-ca.pem" => jpki::ca(CertKind::Authentication)
            .map(|c| c.der.clone())
            .ok(),
        "sign-ca.pem" => jpki::ca(CertKind::Signature).map(|c| c.der.clone()).ok(),
        "auth-responder.pem" => responder(CertKind::Authentication)
            .map(|r| r.der.clone())
            .ok(),
        "sign-responder.pem" => responder(CertKind::Signature).map(|r| r.der.clone()).ok(),
        _ => return not_found("certificates: {auth,sign}-{ca,responder}.pem"),
    };
    match der {
        Some(der) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            x509::pem(&der),
        )
            .into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn not_found(why: &'static str) -> Response {
    (StatusCode::NOT_FOUND, format!("{why}\n")).into_response()
}

/// The largest answer [`http_post`] reads.
pub const MAX_ANSWER: usize = 1024 * 1024;

/// POSTs `body` to a plain-HTTP URL (`http://host:port/path`) and returns the response body
/// of a `200` (the relying party's side: `mynasim verify`). Bounded: `timeout` for connect and
/// each read, at most [`MAX_ANSWER`] bytes.
///
/// # Errors
/// Not an `http://` URL, no connection, a status other than 200, an answer too large.
pub fn http_post(
    url: &str,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}`: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(rest), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)
        .map_err(|e| format!("`{authority}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{authority}` resolves to nothing"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| format!("cannot send to {addr}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(u64::try_from(MAX_ANSWER + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    if answer.len() > MAX_ANSWER {
        return Err(format!("the answer from {addr} is over {MAX_ANSWER} bytes"));
    }
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{addr} did not answer HTTP"))?;
    let status_line = String::from_utf8_lossy(answer.get(..split).unwrap_or_default())
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    if !status_line.starts_with("HTTP/1.1 200") && !status_line.starts_with("HTTP/1.0 200") {
        return Err(format!("{addr} answered `{status_line}`"));
    }
    Ok(answer.get(split + 4..).unwrap_or_default().to_vec())
}

/// The commands of `mynasim validation --control SOCKET` (one per line; the reply's first
/// line starts with `ok` or `error`), for changing the service while a program under test
/// uses it.
pub const CONTROL_USAGE: &str = "status | lose_card [N] | find_card [N] | move_house [N] | \
hold SERIAL | release SERIAL | revoke SERIAL [REASON] | advance 1d | \
fault none|try_later|stale_crl|down|http_503|delay_ms=N ...";

/// Executes one control line on the service. Cards are numbered from 1 in the order their
/// profiles were given; serials are hex, as `status` prints them.
pub fn control(service: &mut Service, line: &str) -> String {
    match control_inner(service, line) {
        Ok(reply) => format!("ok {reply}\n"),
        Err(e) => format!("error {e}\n"),
    }
}

fn control_inner(service: &mut Service, line: &str) -> Result<String, String> {
    use mynasim_simulator::validation::{parse_reason, reason_name};
    use x509_cert::ext::pkix::crl::CrlReason;
    let words: Vec<&str> = line.split_whitespace().collect();
    let now = service.clock.now();
    let card = |service: &Service, n: Option<&&str>| -> Result<[Option<Vec<u8>>; 2], String> {
        let n: usize = match n {
            None => 1,
            Some(t) => t
                .parse()
                .map_err(|_| format!("`{t}` is not a card number"))?,
        };
        service
            .cards
            .get(n.wrapping_sub(1))
            .cloned()
            .ok_or_else(|| format!("no card {n}: the service knows {}", service.cards.len()))
    };
    let kinds = [CertKind::Authentication, CertKind::Signature];
    let find = |service: &Service, hex: &str| -> Result<(CertKind, Vec<u8>), String> {
        let serial = mynasim_simulator::hex::decode(hex)
            .map_err(|_| format!("`{hex}` is not a serial in hex"))?;
        service
            .registry
            .records()
            .iter()
            .find(|r| r.serial == serial)
            .map(|r| (r.kind, serial.clone()))
            .ok_or_else(|| format!("no certificate with serial {hex}"))
    };
    let err = |e: mynasim_simulator::validation::TransitionError| e.to_string();
    match words.as_slice() {
        ["status"] => {
            let mut out = format!("now {}", service.clock.now());
            for r in service.registry.records() {
                let _ = std::fmt::Write::write_fmt(
                    &mut out,
                    format_args!(
                        "\n{} {} {}/{} {}",
                        match r.kind {
                            CertKind::Authentication => "auth",
                            CertKind::Signature => "sign",
                        },
                        mynasim_simulator::hex::compact(&r.serial),
                        r.prefecture,
                        r.municipality,
                        r.status
                    ),
                );
            }
            Ok(out)
        }
        ["lose_card", rest @ ..] if rest.len() <= 1 => {
            let serials = card(service, rest.first())?;
            for (kind, serial) in kinds.iter().zip(serials.iter()) {
                if let Some(s) = serial {
                    service.registry.hold(*kind, s, now).map_err(err)?;
                }
            }
            Ok("on hold".into())
        }
        ["find_card", rest @ ..] if rest.len() <= 1 => {
            let serials = card(service, rest.first())?;
            for (kind, serial) in kinds.iter().zip(serials.iter()) {
                if let Some(s) = serial {
                    service
                        .registry
                        .revoke(*kind, s, CrlReason::CertificateHold, now)
                        .map_err(err)?;
                }
            }
            Ok("revoked (certificateHold); new certificates come from a new card or a scenario's find_card".into())
        }
        ["move_house", rest @ ..] if rest.len() <= 1 => {
            let serials = card(service, rest.first())?;
            let sign = serials
                .get(1)
                .cloned()
                .flatten()
                .ok_or("the card has no signature certificate")?;
            service
                .registry
                .revoke(
                    CertKind::Signature,
                    &sign,
                    CrlReason::AffiliationChanged,
                    now,
                )
                .map_err(err)?;
            Ok("signature certificate revoked (affiliationChanged)".into())
        }
        ["hold", hex] => {
            let (kind, serial) = find(service, hex)?;
            service.registry.hold(kind, &serial, now).map_err(err)?;
            Ok("on hold".into())
        }
        ["release", hex] => {
            let (kind, serial) = find(service, hex)?;
            service.registry.release(kind, &serial).map_err(err)?;
            Ok("good".into())
        }
        ["revoke", hex, rest @ ..] if rest.len() <= 1 => {
            let (kind, serial) = find(service, hex)?;
            let reason = match rest.first() {
                None => CrlReason::Unspecified,
                Some(r) => {
                    parse_reason(r).ok_or_else(|| format!("`{r}` is not an RFC 5280 reason"))?
                }
            };
            service
                .registry
                .revoke(kind, &serial, reason, now)
                .map_err(err)?;
            Ok(format!("revoked ({})", reason_name(reason)))
        }
        ["advance", by] => {
            let d = mynasim_simulator::validation::parse_duration(by)?;
            service.clock.advance(d);
            Ok(format!("now {}", service.clock.now()))
        }
        ["fault", names @ ..] if !names.is_empty() => {
            let mut f = mynasim_simulator::validation::Faults::default();
            for name in names {
                match *name {
                    "none" => {}
                    "try_later" => f.try_later = true,
                    "stale_crl" => f.stale_crl = true,
                    "down" => f.down = true,
                    "http_503" => f.http_503 = true,
                    other => match other.strip_prefix("delay_ms=").map(str::parse::<u64>) {
                        Some(Ok(ms)) if ms <= 60_000 => f.delay_ms = ms,
                        _ => return Err(format!("unknown fault `{other}`")),
                    },
                }
            }
            service.faults = f;
            Ok(format!("{f:?}"))
        }
        _ => Err(format!("expected: {CONTROL_USAGE}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn service() -> Service {
        let card = mynasim_simulator::profile::Profile::from_yaml(
            "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-03 }\n",
            "<t>",
        )
        .unwrap()
        .personalise("<t>")
        .unwrap()
        .issue()
        .unwrap();
        Service::for_card(&card)
    }

    #[test]
    fn control_lines_change_the_service_and_say_what_they_did() {
        let mut s = service();
        assert!(control(&mut s, "status").starts_with("ok now 2026-11-25T03:00:00Z\nauth "));
        assert_eq!(control(&mut s, "lose_card"), "ok on hold\n");
        assert!(control(&mut s, "status").contains(" hold"));
        assert_eq!(
            control(&mut s, "lose_card 2"),
            "error no card 2: the service knows 1\n"
        );
        assert!(control(&mut s, "find_card 1").starts_with("ok revoked (certificateHold)"));
        assert!(control(&mut s, "move_house").starts_with("error certificate "));
        assert_eq!(
            control(&mut s, "advance 1d"),
            "ok now 2026-11-26T03:00:00Z\n"
        );
        assert_eq!(
            control(&mut s, "advance 1w"),
            "error `1w` is not a duration: write a number and d, h, m or s (`1d`, `12h`)\n"
        );
        assert!(control(&mut s, "fault stale_crl down").contains("stale_crl: true"));
        assert!(s.faults.down && s.faults.stale_crl);
        assert!(control(&mut s, "fault none").starts_with("ok "));
        assert!(!s.faults.down);
        assert!(control(&mut s, "fault loud").starts_with("error unknown fault"));
        assert!(control(&mut s, "revoke 00 keyCompromise").starts_with("error no certificate"));
        assert!(control(&mut s, "jump").starts_with("error expected: status"));
    }

    #[test]
    fn revoke_and_hold_by_serial() {
        let mut s = service();
        let serial = mynasim_simulator::hex::compact(&s.cards[0][1].clone().unwrap());
        assert_eq!(
            control(&mut s, &format!("revoke {serial} affiliation-changed")),
            "ok revoked (affiliationChanged)\n"
        );
        let auth = mynasim_simulator::hex::compact(&s.cards[0][0].clone().unwrap());
        assert_eq!(control(&mut s, &format!("hold {auth}")), "ok on hold\n");
        assert!(control(&mut s, &format!("release {auth}")).starts_with("error "));
    }
}
