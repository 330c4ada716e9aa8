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
