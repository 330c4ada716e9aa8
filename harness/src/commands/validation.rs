//! `mynasim validation`: the stand-in for J-LIS's validation service (OCSP and CRLs of the
//! test PKI) on loopback, knowing the certificates of the given profiles' cards, until
//! Ctrl-C or SIGTERM (docs/validation.md).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::anyhow;
use mynasim_simulator::validation::Service;
use tokio::net::TcpListener;

use crate::exit::Error;
use crate::host::validation::{self, Shared};
use crate::profiles::ProfileSource;

/// The default address: the one the test certificates' OCSP URLs name
/// (`certificates.base_url`, `http://127.0.0.1:35970/`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:35970";

/// What to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Listen on an address that is not loopback.
    pub public: bool,
    /// The cards whose certificates the service knows (profile names or files).
    pub profiles: Vec<String>,
    /// Answer control commands on this Unix socket (`host::validation::CONTROL_USAGE`).
    pub control: Option<std::path::PathBuf>,
}

/// A service that knows the cards of these profiles (the first one's `today` is its clock).
///
/// # Errors
/// A profile that does not load (2).
pub fn service_for(profiles: &[String]) -> Result<Service, Error> {
    let mut service: Option<Service> = None;
    for name in profiles {
        let card = ProfileSource::find(name, Path::new("."))?.issue()?;
        match &mut service {
            None => service = Some(Service::for_card(&card)),
            Some(s) => s.register_card(&card),
        }
    }
    service.ok_or_else(|| Error::invalid(anyhow!("give at least one profile")))
}

/// Serves until a stop signal.
///
/// # Errors
/// A profile that does not load (2); an address that cannot be bound (4).
pub fn run(options: &Options) -> Result<(), Error> {
    validation::check_loopback(options.listen, options.public)
        .map_err(|e| Error::invalid(anyhow!(e)))?;
    let service = service_for(&options.profiles)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io(anyhow!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|e| Error::io(anyhow!("cannot listen on {}: {e}", options.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io(anyhow!("cannot read the bound address: {e}")))?;
        let shared: Shared = std::sync::Arc::new(std::sync::Mutex::new(service));
        let base = format!("http://{addr}/");
        let index = shared
            .lock()
            .map(|s| validation::crl_index(&s, &base))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "mynasim TEST validation service on {base}\n  OCSP      {base}ocsp (POST or GET)\n  \
             CRLs      {base}crl/index.json\n  CAs       {base}certs/auth-ca.pem, {base}certs/sign-ca.pem\n  \
             responder {base}certs/auth-responder.pem, {base}certs/sign-responder.pem"
        );
        if let Some(map) = index.as_object() {
            for (name, url) in map {
                let _ = writeln!(err, "  CRL {url}\n      for {name}");
            }
        }
        drop(err);
        let (stop_control, stopped) = tokio::sync::watch::channel(false);
        if let Some(path) = &options.control {
            let socket = crate::host::control::bind(path)
                .await
                .map_err(|e| Error::io(anyhow!(e)))?;
            let service = std::sync::Arc::clone(&shared);
            let handler: crate::host::control::Handler = std::sync::Arc::new(move |line: &str| {
                match service.lock() {
                    Ok(mut s) => validation::control(&mut s, line),
                    Err(_) => "error the service is unusable\n".to_owned(),
                }
            });
            tokio::spawn(crate::host::control::serve_with(socket, handler, stopped));
        }
        let served = validation::serve(listener, shared, stop_signal()).await;
        let _ = stop_control.send(true);
        if let Some(path) = &options.control {
            let _ = std::fs::remove_file(path);
        }
        served.map_err(|e| Error::io(anyhow!("the validation service failed: {e}")))
    })
}

/// SIGINT or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
