//! `mynasim pki export DIR`: the test PKI's trust anchors, for a program under test or any
//! verifier that must trust the simulated cards — the JPKI test CA certificates and the CV
//! CA public keys, each as PEM and DER, and a bundle of the two CA certificates for
//! OpenSSL's `-CAfile`. Everything written says TEST; none of it chains to J-LIS.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use mynasim_simulator::pki::published;

use crate::exit::Error;

/// The bundle of both JPKI test CA certificates.
pub const BUNDLE: &str = "jpki-test-ca-bundle.pem";

/// Writes the trust anchors into `dir` (created if missing; files of the same names are
/// replaced) and lists them on standard output.
///
/// # Errors
/// `dir` cannot be created or written (4), or names a file (2).
pub fn export(dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid(anyhow!(
            "{}: not a folder (give a folder to write the trust anchors into)",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(anyhow!("cannot create {}: {e}", dir.display())))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, Error> {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Error::io(anyhow!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    };
    let mut lines = Vec::new();
    let mut bundle = String::new();
    for file in published::FILES {
        let pem = file
            .content()
            .map_err(|e| Error::io(anyhow!("cannot build {}: {e}", file.file)))?;
        let der = file
            .der()
            .map_err(|e| Error::io(anyhow!("cannot build {}: {e}", file.file)))?;
        let der_name = file.file.replace(".pem", ".der");
        write(file.file, pem.as_bytes())?;
        write(&der_name, &der)?;
        if file.is_certificate() {
            bundle.push_str(&pem);
        }
        lines.push(format!("{:<34} {:<34} {}", file.file, der_name, file.what));
    }
    write(BUNDLE, bundle.as_bytes())?;
    lines.push(format!(
        "{BUNDLE:<34} {:<34} both JPKI test CA certificates (OpenSSL -CAfile)",
        ""
    ));
    write(
        "README.txt",
        format!(
            "mynasim TEST trust anchors. Trust them in tests only: every key is public, and\n\
             nothing here chains to J-LIS. docs/trust.md says how to configure OpenSSL, NSS\n\
             and Java.\n\n{}\n",
            lines.join("\n")
        )
        .as_bytes(),
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "wrote to {} (TEST trust anchors):", dir.display())
        .and_then(|()| lines.iter().try_for_each(|l| writeln!(out, "  {l}")))
        .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}")))
}
