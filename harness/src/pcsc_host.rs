//! The PC/SC host side (`pcsc` feature): list readers, connect to the card in one, transmit
//! APDUs — through pcscd, so the same `mynasim card apdu` pokes a real card or a simulated
//! one behind `mynasim serve`.
//!
//! Without the feature these commands explain how to get it (exit 2): the feature needs the
//! PC/SC library headers (Debian `libpcsclite-dev`, and `pkg-config`; `ci/setup` installs
//! them).

use crate::exit::Failure;

/// A connected card in a PC/SC reader.
#[cfg(feature = "pcsc")]
pub use imp::PcscCard;
#[cfg(feature = "pcsc")]
pub(crate) use imp::{wait_for_new_card, wait_for_removal};

/// `mynasim card readers`.
///
/// # Errors
/// pcscd unreachable (exit 3), or no `pcsc` feature (exit 2).
pub fn readers() -> Result<(), Failure> {
    #[cfg(feature = "pcsc")]
    {
        for line in imp::reader_lines()? {
            println!("{line}");
        }
        Ok(())
    }
    #[cfg(not(feature = "pcsc"))]
    Err(not_built())
}

/// The error of a build without the `pcsc` feature.
#[cfg(not(feature = "pcsc"))]
pub fn not_built() -> Failure {
    Failure::invalid(anyhow::anyhow!(
        "this mynasim was built without PC/SC support: rebuild with `cargo build --features \
         pcsc` (needs the Debian packages libpcsclite-dev and pkg-config; ci/setup installs \
         them)"
    ))
}

#[cfg(feature = "pcsc")]
mod imp {
    use std::ffi::CString;

    use anyhow::anyhow;
    use mynasim_simulator::hex;
    use pcsc::{Context, Disposition, Error, Protocols, ReaderState, Scope, ShareMode, State};

    use crate::exit::Failure;

    /// Opens the PC/SC context.
    pub(crate) fn context() -> Result<Context, Failure> {
        Context::establish(Scope::User).map_err(|e| {
            Failure::unreachable(anyhow!(
                "cannot reach pcscd: {e} (is it running? Debian package pcscd)"
            ))
        })
    }

    /// Reader names; none is an empty list.
    pub(crate) fn names(ctx: &Context) -> Result<Vec<CString>, Failure> {
        match ctx.list_readers_owned() {
            Ok(names) => Ok(names),
            Err(Error::NoReadersAvailable) => Ok(Vec::new()),
            Err(e) => Err(Failure::unreachable(anyhow!("cannot list readers: {e}"))),
        }
    }

    /// One line per reader: name, then the card's ATR or `(no card)`.
    pub(super) fn reader_lines() -> Result<Vec<String>, Failure> {
        let ctx = context()?;
        let mut states: Vec<ReaderState> = names(&ctx)?
            .into_iter()
            .map(|name| ReaderState::new(name, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Ok(vec!["(no readers)".to_owned()]);
        }
        ctx.get_status_change(std::time::Duration::ZERO, &mut states)
            .map_err(|e| Failure::unreachable(anyhow!("cannot read the readers' state: {e}")))?;
        Ok(states
            .iter()
            .map(|s| {
                let name = s.name().to_string_lossy();
                if s.event_state().contains(State::PRESENT) {
                    format!("{name}\tATR {}", hex::spaced(s.atr()))
                } else {
                    format!("{name}\t(no card)")
                }
            })
            .collect())
    }

    /// The reader `wanted` names: exactly, or as the one reader whose name contains it.
    fn choose(names: &[CString], wanted: &str) -> Result<CString, Failure> {
        let all: Vec<String> = names
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let listing = if all.is_empty() {
            "there are no readers".to_owned()
        } else {
            format!("readers: {}", all.join(", "))
        };
        if let Some(i) = all.iter().position(|n| n == wanted) {
            return names
                .get(i)
                .cloned()
                .ok_or_else(|| Failure::unreachable(anyhow!("reader list changed")));
        }
        let matching: Vec<usize> = (0..all.len())
            .filter(|&i| all.get(i).is_some_and(|n| n.contains(wanted)))
            .collect();
        match matching.as_slice() {
            [i] => names
                .get(*i)
                .cloned()
                .ok_or_else(|| Failure::unreachable(anyhow!("reader list changed"))),
            [] => Err(Failure::unreachable(anyhow!(
                "no reader `{wanted}` ({listing})"
            ))),
            _ => Err(Failure::invalid(anyhow!(
                "`{wanted}` names several readers; give the whole name ({listing})"
            ))),
        }
    }

    /// Waits until a reader whose name contains `part` holds a card that was not there
    /// before the wait started, and returns its name: how the `vpcd` target finds the slot
    /// its card went into.
    pub(crate) fn wait_for_new_card(
        part: &str,
        timeout: std::time::Duration,
    ) -> Result<String, Failure> {
        let ctx = context()?;
        let deadline = std::time::Instant::now() + timeout;
        let mut states: Vec<ReaderState> = names(&ctx)?
            .into_iter()
            .filter(|n| n.to_string_lossy().contains(part))
            .map(|name| ReaderState::new(name, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Err(Failure::unreachable(anyhow!(
                "pcscd has no reader named `{part}…`: is the vsmartcard-vpcd driver configured?"
            )));
        }
        ctx.get_status_change(std::time::Duration::ZERO, &mut states)
            .map_err(|e| Failure::unreachable(anyhow!("cannot read the readers' state: {e}")))?;
        let before: Vec<bool> = states
            .iter()
            .map(|s| s.event_state().contains(State::PRESENT))
            .collect();
        loop {
            for s in &mut states {
                s.sync_current_state();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(Failure::unreachable(anyhow!(
                    "no card appeared in a `{part}` reader within {} s: is pcscd's vpcd driver listening where --vpcd points?",
                    timeout.as_secs()
                )));
            }
            match ctx.get_status_change(left, &mut states) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => {
                    return Err(Failure::unreachable(anyhow!(
                        "cannot watch the readers: {e}"
                    )));
                }
            }
            for (s, was) in states.iter().zip(&before) {
                if !was && s.event_state().contains(State::PRESENT) {
                    return Ok(s.name().to_string_lossy().into_owned());
                }
            }
        }
    }

    /// Waits until the reader `name` is empty.
    pub(crate) fn wait_for_removal(
        name: &str,
        timeout: std::time::Duration,
    ) -> Result<(), Failure> {
        let ctx = context()?;
        let name = CString::new(name).map_err(|e| Failure::invalid(anyhow!("reader name: {e}")))?;
        let mut states = [ReaderState::new(name, State::UNAWARE)];
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match ctx.get_status_change(left, &mut states) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => {
                    return Err(Failure::unreachable(anyhow!(
                        "cannot watch the reader: {e}"
                    )));
                }
            }
            if !states[0].event_state().contains(State::PRESENT) {
                return Ok(());
            }
            if left.is_zero() {
                return Err(Failure::unreachable(anyhow!(
                    "the card stayed in the reader after removal"
                )));
            }
            states[0].sync_current_state();
        }
    }

    /// A card connected in shared mode, T=0 or T=1.
    pub struct PcscCard {
        // Field order: the card handle is released before its context.
        card: Option<pcsc::Card>,
        _ctx: Context,
        /// The reader's full name.
        pub reader: String,
        /// The card's ATR.
        pub atr: Vec<u8>,
        buffer: Vec<u8>,
    }

    impl std::fmt::Debug for PcscCard {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("PcscCard")
                .field("reader", &self.reader)
                .field("atr", &hex::spaced(&self.atr))
                .finish_non_exhaustive()
        }
    }

    impl PcscCard {
        /// Connects to the card in the reader `wanted` names.
        ///
        /// # Errors
        /// pcscd, the reader or the card not there (exit 3); an ambiguous name (exit 2).
        pub fn open(wanted: &str) -> Result<Self, Failure> {
            let ctx = context()?;
            let name = choose(&names(&ctx)?, wanted)?;
            let reader = name.to_string_lossy().into_owned();
            let card = ctx
                .connect(&name, ShareMode::Shared, Protocols::ANY)
                .map_err(|e| {
                    Failure::unreachable(match e {
                        Error::NoSmartcard | Error::RemovedCard => {
                            anyhow!("no card in reader `{reader}`")
                        }
                        e => anyhow!("cannot connect to the card in `{reader}`: {e}"),
                    })
                })?;
            let atr = card
                .status2_owned()
                .map(|s| s.atr().to_vec())
                .map_err(|e| Failure::unreachable(anyhow!("cannot read the ATR: {e}")))?;
            Ok(Self {
                card: Some(card),
                _ctx: ctx,
                reader,
                atr,
                buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
            })
        }

        /// Removes power: disconnects with `SCARD_UNPOWER_CARD`.
        ///
        /// # Errors
        /// Never in practice; a failed disconnect leaves the card disconnected anyway.
        pub fn power_off(&mut self) -> Result<(), Failure> {
            if let Some(card) = self.card.take() {
                card.disconnect(Disposition::UnpowerCard)
                    .map_err(|(_, e)| {
                        Failure::unreachable(anyhow!("cannot power the card off: {e}"))
                    })?;
            }
            Ok(())
        }

        /// Cold start: connects again if powered off (pcscd powers the card on), or
        /// reconnects with `SCARD_UNPOWER_CARD`. Returns the ATR.
        ///
        /// # Errors
        /// The reader or card went away (exit 3).
        pub fn power_on(&mut self) -> Result<Vec<u8>, Failure> {
            match &mut self.card {
                Some(card) => card
                    .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::UnpowerCard)
                    .map_err(|e| {
                        Failure::unreachable(anyhow!("cannot power-cycle the card: {e}"))
                    })?,
                None => {
                    let name = CString::new(self.reader.clone())
                        .map_err(|e| Failure::invalid(anyhow!("reader name: {e}")))?;
                    let card = self
                        ._ctx
                        .connect(&name, ShareMode::Shared, Protocols::ANY)
                        .map_err(|e| {
                            Failure::unreachable(anyhow!("cannot connect to the card: {e}"))
                        })?;
                    self.card = Some(card);
                }
            }
            self.refresh_atr()
        }

        /// Warm reset: reconnects with `SCARD_RESET_CARD`. Returns the ATR.
        ///
        /// # Errors
        /// The reader or card went away (exit 3).
        pub fn reset(&mut self) -> Result<Vec<u8>, Failure> {
            let card = self
                .card
                .as_mut()
                .ok_or_else(|| Failure::unreachable(anyhow!("the card is disconnected")))?;
            card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
                .map_err(|e| Failure::unreachable(anyhow!("cannot reset the card: {e}")))?;
            self.refresh_atr()
        }

        fn refresh_atr(&mut self) -> Result<Vec<u8>, Failure> {
            let card = self
                .card
                .as_ref()
                .ok_or_else(|| Failure::unreachable(anyhow!("the card is disconnected")))?;
            self.atr = card
                .status2_owned()
                .map(|s| s.atr().to_vec())
                .map_err(|e| Failure::unreachable(anyhow!("cannot read the ATR: {e}")))?;
            Ok(self.atr.clone())
        }

        /// Sends one command APDU; returns the response APDU.
        ///
        /// # Errors
        /// The card or reader went away (exit 3).
        pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, Failure> {
            let card = self
                .card
                .as_ref()
                .ok_or_else(|| Failure::unreachable(anyhow!("the card is disconnected")))?;
            card.transmit(apdu, &mut self.buffer)
                .map(<[u8]>::to_vec)
                .map_err(|e| {
                    Failure::unreachable(anyhow!("transmit to `{}` failed: {e}", self.reader))
                })
        }
    }

    impl Drop for PcscCard {
        /// Leaves the card as it is (no reset), like `scriptor` and most tools.
        fn drop(&mut self) {
            if let Some(card) = self.card.take() {
                let _ = card.disconnect(Disposition::LeaveCard);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn names(list: &[&str]) -> Vec<CString> {
            list.iter().map(|n| CString::new(*n).unwrap()).collect()
        }

        #[test]
        fn readers_match_exactly_or_by_a_unique_part() {
            let list = names(&["Virtual PCD 00 00", "Virtual PCD 00 01"]);
            assert_eq!(
                choose(&list, "Virtual PCD 00 01")
                    .unwrap()
                    .to_str()
                    .unwrap(),
                "Virtual PCD 00 01"
            );
            assert_eq!(
                choose(&list, "00 00").unwrap().to_str().unwrap(),
                "Virtual PCD 00 00"
            );
            let ambiguous = choose(&list, "Virtual").unwrap_err();
            assert_eq!(ambiguous.code, crate::exit::INVALID);
            let missing = choose(&list, "ACS").unwrap_err();
            assert_eq!(missing.code, crate::exit::UNREACHABLE);
            assert!(missing.error.to_string().contains("Virtual PCD 00 01"));
        }
    }
}
