//! Any card in any PC/SC reader, through pcscd (feature `pcsc`): a real My Number Card, or a
//! simulated one behind `mynasim serve`. Also what `mynasim card readers` lists and how the
//! vpcd target finds the slot its card went into.

use std::ffi::CString;
use std::time::{Duration, Instant};

use mynasim_simulator::hex;
use pcsc::{Context, Disposition, Error, Protocols, ReaderState, Scope, ShareMode, State};

use super::{Link, TargetError};

fn unreachable(message: String) -> TargetError {
    TargetError::Unreachable(message)
}

/// Opens the PC/SC context.
fn context() -> Result<Context, TargetError> {
    Context::establish(Scope::User).map_err(|e| {
        unreachable(format!(
            "cannot reach pcscd: {e} (is it running? Debian package pcscd)"
        ))
    })
}

/// Reader names; none is an empty list.
fn names(ctx: &Context) -> Result<Vec<CString>, TargetError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names),
        Err(Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(unreachable(format!("cannot list readers: {e}"))),
    }
}

/// A reader and the ATR of the card in it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's name.
    pub name: String,
    /// The card's ATR, or `None` for an empty reader.
    pub atr: Option<Vec<u8>>,
}

/// Every reader pcscd knows, with the card in each.
///
/// # Errors
/// pcscd is not there.
pub fn readers() -> Result<Vec<ReaderInfo>, TargetError> {
    let ctx = context()?;
    let mut states: Vec<ReaderState> = names(&ctx)?
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    if states.is_empty() {
        return Ok(Vec::new());
    }
    ctx.get_status_change(Duration::ZERO, &mut states)
        .map_err(|e| unreachable(format!("cannot read the readers' state: {e}")))?;
    Ok(states
        .iter()
        .map(|s| ReaderInfo {
            name: s.name().to_string_lossy().into_owned(),
            atr: s
                .event_state()
                .contains(State::PRESENT)
                .then(|| s.atr().to_vec()),
        })
        .collect())
}

/// The reader `wanted` names: exactly, or as the one reader whose name contains it.
fn choose(names: &[CString], wanted: &str) -> Result<CString, TargetError> {
    let all: Vec<String> = names
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let listing = if all.is_empty() {
        "there are no readers".to_owned()
    } else {
        format!("readers: {}", all.join(", "))
    };
    let pick = |i: usize| {
        names
            .get(i)
            .cloned()
            .ok_or_else(|| unreachable("the reader list changed".to_owned()))
    };
    if let Some(i) = all.iter().position(|n| n == wanted) {
        return pick(i);
    }
    let matching: Vec<usize> = (0..all.len())
        .filter(|&i| all.get(i).is_some_and(|n| n.contains(wanted)))
        .collect();
    match matching.as_slice() {
        [i] => pick(*i),
        [] => Err(unreachable(format!("no reader `{wanted}` ({listing})"))),
        _ => Err(TargetError::Ambiguous(format!(
            "`{wanted}` names several readers; give the whole name ({listing})"
        ))),
    }
}

/// How long a power-on waits for the scenario's own card to come back into the reader.
const REINSERT_WAIT: Duration = Duration::from_secs(10);

/// Watches the readers whose name contains `part` for a card that was not there when the
/// watch began: how the vpcd target finds the slot its card went into. Begin the watch
/// *before* inserting the card — a driver with card events (mynasim-ifd) shows it in PC/SC
/// within a millisecond, before a watch begun afterwards could tell it from an old one.
pub struct NewCardWatch {
    ctx: Context,
    part: String,
    states: Vec<ReaderState>,
    before: Vec<bool>,
}

impl NewCardWatch {
    /// Notes which readers hold a card now.
    ///
    /// # Errors
    /// pcscd is not there, or has no such reader.
    pub fn begin(part: &str) -> Result<Self, TargetError> {
        let ctx = context()?;
        let mut states: Vec<ReaderState> = names(&ctx)?
            .into_iter()
            .filter(|n| n.to_string_lossy().contains(part))
            .map(|name| ReaderState::new(name, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Err(unreachable(format!(
                "pcscd has no reader named `{part}…`: is the vsmartcard-vpcd driver configured?"
            )));
        }
        ctx.get_status_change(Duration::ZERO, &mut states)
            .map_err(|e| unreachable(format!("cannot read the readers' state: {e}")))?;
        let before = states
            .iter()
            .map(|s| s.event_state().contains(State::PRESENT))
            .collect();
        Ok(Self {
            ctx,
            part: part.to_owned(),
            states,
            before,
        })
    }

    /// Waits until one of the readers holds a card it did not hold when the watch began;
    /// returns its name.
    ///
    /// # Errors
    /// No new card within `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Result<String, TargetError> {
        let deadline = Instant::now() + timeout;
        loop {
            for (s, was) in self.states.iter().zip(&self.before) {
                if !was && s.event_state().contains(State::PRESENT) {
                    return Ok(s.name().to_string_lossy().into_owned());
                }
            }
            for s in &mut self.states {
                s.sync_current_state();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(unreachable(format!(
                    "no card appeared in a `{}` reader within {} s: is pcscd's vpcd driver \
                     listening where --vpcd points?",
                    self.part,
                    timeout.as_secs()
                )));
            }
            match self.ctx.get_status_change(left, &mut self.states) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => return Err(unreachable(format!("cannot watch the readers: {e}"))),
            }
        }
    }
}

/// Waits until a reader whose name contains `part` holds a card that was not there when the
/// wait started, and returns its name ([`NewCardWatch`] begun now).
///
/// # Errors
/// No such reader, or no new card within `timeout`.
pub fn wait_for_new_card(part: &str, timeout: Duration) -> Result<String, TargetError> {
    NewCardWatch::begin(part)?.wait(timeout)
}

/// Waits until the reader `name` is empty.
///
/// # Errors
/// pcscd went away, or the card stayed past `timeout`.
pub fn wait_for_removal(name: &str, timeout: Duration) -> Result<(), TargetError> {
    let ctx = context()?;
    let name =
        CString::new(name).map_err(|e| TargetError::Ambiguous(format!("reader name: {e}")))?;
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) | Err(Error::Timeout) => {}
            Err(e) => return Err(unreachable(format!("cannot watch the reader: {e}"))),
        }
        let [state] = &mut states;
        if !state.event_state().contains(State::PRESENT) {
            return Ok(());
        }
        if left.is_zero() {
            return Err(TargetError::Protocol(
                "the card stayed in the reader after removal".to_owned(),
            ));
        }
        state.sync_current_state();
    }
}

/// What a failed PC/SC call means for the target.
fn card_error(what: &str, reader: &str, e: Error) -> TargetError {
    match e {
        Error::NoSmartcard | Error::RemovedCard => {
            TargetError::Removed(format!("{what}: no card in reader `{reader}`"))
        }
        // The reader could not power the card: it left between pcscd's presence check and
        // the power-up (a card pulled as a program connects — a contactless card leaving
        // the field gives the same).
        Error::UnpoweredCard => TargetError::Removed(format!(
            "{what}: the card in reader `{reader}` could not be powered (pulled out?)"
        )),
        Error::NoService | Error::ServiceStopped | Error::NoReadersAvailable => {
            unreachable(format!("{what}: pcscd is gone ({e})"))
        }
        Error::UnknownReader | Error::ReaderUnavailable => {
            unreachable(format!("{what}: reader `{reader}` is gone ({e})"))
        }
        other => TargetError::Protocol(format!("{what} in `{reader}` failed: {other}")),
    }
}

/// A card connected in shared mode, T=0 or T=1.
pub struct PcscLink {
    // Field order: the card handle is released before its context.
    card: Option<pcsc::Card>,
    ctx: Context,
    reader: String,
    atr: Vec<u8>,
    buffer: Vec<u8>,
    owns_card: bool,
}

impl std::fmt::Debug for PcscLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscLink")
            .field("reader", &self.reader)
            .field("atr", &hex::spaced(&self.atr))
            .finish_non_exhaustive()
    }
}

impl PcscLink {
    /// Connects to the card in the reader `wanted` names (exactly, or a unique part).
    ///
    /// # Errors
    /// pcscd, the reader or the card not there; an ambiguous name.
    pub fn open(wanted: &str) -> Result<Self, TargetError> {
        let ctx = context()?;
        let name = choose(&names(&ctx)?, wanted)?;
        let reader = name.to_string_lossy().into_owned();
        let card = ctx
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| card_error("connect", &reader, e))?;
        let atr = card
            .status2_owned()
            .map(|s| s.atr().to_vec())
            .map_err(|e| card_error("read the ATR", &reader, e))?;
        Ok(Self {
            card: Some(card),
            ctx,
            reader,
            atr,
            buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
            owns_card: false,
        })
    }

    /// Marks the card as the scenario's own (the vpcd target inserted it).
    pub(crate) fn owning_the_card(mut self) -> Self {
        self.owns_card = true;
        self
    }

    /// The reader's full name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's ATR as of the last connect, reset or power-on.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The reader driver's vendor name (`SCARD_ATTR_VENDOR_NAME`), if it gives one:
    /// `mynasim` for mynasim-ifd.
    pub fn reader_vendor(&self) -> Option<String> {
        let card = self.card.as_ref()?;
        let mut buffer = [0u8; 256];
        let name = card
            .get_attribute(pcsc::Attribute::VendorName, &mut buffer)
            .ok()?;
        let name = name.split(|b| *b == 0).next().unwrap_or_default();
        Some(String::from_utf8_lossy(name).into_owned())
    }

    /// A reader attribute (`SCardGetAttrib`), if the reader answers it.
    pub fn attribute(&self, attribute: pcsc::Attribute) -> Option<Vec<u8>> {
        self.card.as_ref()?.get_attribute_owned(attribute).ok()
    }

    /// `SCardControl` with a control code (`pcsc::ctl_code(3400)` for
    /// `CM_IOCTL_GET_FEATURE_REQUEST`); the reader's answer.
    ///
    /// # Errors
    /// The card is not connected, or the reader refuses the code.
    pub fn control(&self, code: u32, send: &[u8]) -> Result<Vec<u8>, TargetError> {
        let card = self.connected()?;
        let mut answer = vec![0u8; 4096];
        let n = card
            .control(code.into(), send, &mut answer)
            .map_err(|e| card_error("control", &self.reader, e))?
            .len();
        answer.truncate(n);
        Ok(answer)
    }

    /// The active protocol (`T=0`, `T=1`, `RAW`), if known.
    pub fn protocol(&self) -> Option<String> {
        let status = self.card.as_ref()?.status2_owned().ok()?;
        Some(match status.protocol2()? {
            pcsc::Protocol::T0 => "T=0".to_owned(),
            pcsc::Protocol::T1 => "T=1".to_owned(),
            pcsc::Protocol::RAW => "RAW".to_owned(),
        })
    }

    /// Runs `f` inside a PC/SC transaction (`SCardBeginTransaction`): no other client's
    /// commands come between the APDUs `f` sends with the function it is given.
    ///
    /// # Errors
    /// The card is not connected, or the transaction cannot begin.
    pub fn in_transaction<R>(
        &mut self,
        f: impl FnOnce(&mut super::Transmit<'_>) -> R,
    ) -> Result<R, TargetError> {
        let reader = self.reader.clone();
        let buffer = &mut self.buffer;
        let card = self.card.as_mut().ok_or_else(|| {
            TargetError::Removed("the card is powered off (disconnected)".to_owned())
        })?;
        let tx = card
            .transaction()
            .map_err(|e| card_error("begin a transaction", &reader, e))?;
        let mut transmit = |apdu: &[u8]| {
            tx.transmit(apdu, buffer)
                .map_err(|e| card_error("transmit", &reader, e))
                .and_then(answered)
        };
        let result = f(&mut transmit);
        Ok(result)
    }

    fn connected(&self) -> Result<&pcsc::Card, TargetError> {
        self.card
            .as_ref()
            .ok_or_else(|| TargetError::Removed("the card is powered off (disconnected)".into()))
    }

    fn refresh_atr(&mut self) -> Result<Vec<u8>, TargetError> {
        let atr = self
            .connected()?
            .status2_owned()
            .map(|s| s.atr().to_vec())
            .map_err(|e| card_error("read the ATR", &self.reader, e))?;
        self.atr.clone_from(&atr);
        Ok(atr)
    }
}

/// A response as the card gave it — or, without a status word, no answer: no card answers
/// without one, and the vpcd driver gives an empty response when the card's connection went
/// away mid-command (ISO/IEC 7816-4 §5.1: every response ends with SW1 SW2).
fn answered(response: &[u8]) -> Result<Vec<u8>, TargetError> {
    if response.len() < 2 {
        return Err(TargetError::Removed(format!(
            "no answer: the reader returned {} bytes, no status word (the card went away \
             mid-command)",
            response.len()
        )));
    }
    Ok(response.to_vec())
}

impl Link for PcscLink {
    fn describe(&self) -> String {
        format!("pcsc:{}", self.reader)
    }

    /// Cold start: connects again if powered off (pcscd powers the card on), or reconnects
    /// with `SCARD_UNPOWER_CARD`.
    ///
    /// The scenario's own card (the vpcd target) may be on its way back into the reader
    /// after a fault took it out: then this waits up to [`REINSERT_WAIT`] for pcscd to see it.
    fn power_on(&mut self) -> Result<Vec<u8>, TargetError> {
        let reconnected = match &mut self.card {
            Some(card) => card
                .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::UnpowerCard)
                .map_err(|e| card_error("power-cycle the card", &self.reader, e)),
            None => Err(TargetError::Removed("not connected".into())),
        };
        if let Err(first) = reconnected {
            self.card = None;
            let name = CString::new(self.reader.clone())
                .map_err(|e| TargetError::Ambiguous(format!("reader name: {e}")))?;
            let deadline = Instant::now() + REINSERT_WAIT;
            loop {
                match self.ctx.connect(&name, ShareMode::Shared, Protocols::ANY) {
                    Ok(card) => {
                        self.card = Some(card);
                        break;
                    }
                    Err(e) if !self.owns_card || Instant::now() >= deadline => {
                        return Err(if matches!(first, TargetError::Removed(_)) {
                            card_error("connect", &self.reader, e)
                        } else {
                            first
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        self.refresh_atr()
    }

    /// Removes power: disconnects with `SCARD_UNPOWER_CARD`.
    fn power_off(&mut self) -> Result<(), TargetError> {
        if let Some(card) = self.card.take() {
            card.disconnect(Disposition::UnpowerCard)
                .map_err(|(_, e)| card_error("power the card off", &self.reader, e))?;
        }
        Ok(())
    }

    /// Warm reset: reconnects with `SCARD_RESET_CARD`.
    fn reset(&mut self) -> Result<Vec<u8>, TargetError> {
        let reader = self.reader.clone();
        let card = self
            .card
            .as_mut()
            .ok_or_else(|| TargetError::Removed("the card is powered off (disconnected)".into()))?;
        card.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| card_error("reset the card", &reader, e))?;
        self.refresh_atr()
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TargetError> {
        let card = self.card.as_ref().ok_or_else(|| {
            TargetError::Removed("the card is powered off (disconnected)".to_owned())
        })?;
        card.transmit(apdu, &mut self.buffer)
            .map_err(|e| card_error("transmit", &self.reader, e))
            .and_then(answered)
    }

    fn runs_scenario_card(&self) -> bool {
        self.owns_card
    }
}

impl Drop for PcscLink {
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
        list.iter()
            .map(|n| CString::new(*n).unwrap_or_default())
            .collect()
    }

    #[test]
    fn readers_match_exactly_or_by_a_unique_part() {
        let list = names(&["Virtual PCD 00 00", "Virtual PCD 00 01"]);
        let chosen = |wanted| choose(&list, wanted).map(|c| c.to_string_lossy().into_owned());
        assert_eq!(
            chosen("Virtual PCD 00 01"),
            Ok("Virtual PCD 00 01".to_owned())
        );
        assert_eq!(chosen("00 00"), Ok("Virtual PCD 00 00".to_owned()));
        assert!(matches!(chosen("Virtual"), Err(TargetError::Ambiguous(_))));
        let missing = chosen("ACS").unwrap_err();
        assert!(matches!(missing, TargetError::Unreachable(_)));
        assert!(missing.to_string().contains("Virtual PCD 00 01"));
    }
}
