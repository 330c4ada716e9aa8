//! `mynasim card`: look at a simulated card ([`show`]), send APDUs to it or to any reader
//! ([`apdu`]), list the PC/SC readers ([`readers`]).

pub mod apdu;
pub mod show;

use std::io::Write as _;

use crate::exit::Error;

/// `mynasim card readers`: every PC/SC reader, with the ATR of the card in each.
///
/// # Errors
/// pcscd is not there (3); no `pcsc` feature (2).
pub fn readers() -> Result<(), Error> {
    #[cfg(feature = "pcsc")]
    {
        let readers = crate::target::pcsc::readers()?;
        let mut out = String::new();
        if readers.is_empty() {
            out.push_str("(no readers)\n");
        }
        for r in readers {
            match r.atr {
                Some(atr) => out.push_str(&format!(
                    "{}\tATR {}\n",
                    r.name,
                    mynasim_simulator::hex::spaced(&atr)
                )),
                None => out.push_str(&format!("{}\t(no card)\n", r.name)),
            }
        }
        std::io::stdout()
            .write_all(out.as_bytes())
            .map_err(|e| Error::io(anyhow::anyhow!("cannot write standard output: {e}")))
    }
    #[cfg(not(feature = "pcsc"))]
    {
        let _ = std::io::stdout().flush();
        Err(crate::target::TargetError::NotBuilt.into())
    }
}
