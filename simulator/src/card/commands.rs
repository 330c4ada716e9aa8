//! Command handlers: class checks, then one handler per instruction (reference §2).
//!
//! Each handler validates the typed command (P1/P2, case, lengths), applies the card's
//! policy against the file system, and returns a [`Response`] or a [`CardError`]. Status
//! words are never chosen here.

use rand_chacha::ChaCha20Rng;
use rand_core::Rng;

use super::{CardError, CardEvent, Df, EfBody, Fid, KeyRole, PrivateKey, Quirks, Session};
use crate::apdu::{
    BinaryAddress, Case, Class, Command, Instruction, KeyReference, Response, SHORT_LE_MAX,
    SelectP1,
};
use crate::security::{SignatureScheme, VerifyOutcome, internal_authenticate};

/// Everything a handler may touch.
pub(super) struct Context<'a> {
    pub(super) dfs: &'a mut Vec<Df>,
    pub(super) session: &'a mut Session,
    pub(super) quirks: &'a Quirks,
    pub(super) rng: &'a mut ChaCha20Rng,
    pub(super) events: &'a mut super::EventLog,
}

/// Checks CLA and routes to the instruction's handler (the instruction table:
/// [`crate::apdu::ins`]).
pub(super) fn dispatch(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    check_class(cmd)?;
    let Some(instruction) = Instruction::decode(cmd.cla, cmd.ins) else {
        return Err(CardError::InsNotSupported);
    };
    match instruction {
        Instruction::Select => select(ctx, cmd),
        Instruction::ReadBinary => read_binary(ctx, cmd),
        Instruction::ReadRecord => read_record(ctx, cmd),
        Instruction::Verify => verify(ctx, cmd),
        Instruction::ChangeReferenceData => change_reference_data(ctx, cmd, 0x01),
        Instruction::GetChallenge => get_challenge(ctx, cmd),
        Instruction::InternalAuthenticate => internal_auth(ctx, cmd),
        Instruction::GetData => get_data(ctx, cmd),
        // No command ever answers `61 xx`, so there is never anything to fetch; clients that
        // send GET RESPONSE defensively get a refusal, not a hang (reference §7).
        Instruction::GetResponse => Err(CardError::NothingToGetResponse),
        Instruction::ComputeDigitalSignature => compute_signature(ctx, cmd),
        Instruction::ChangeKey => change_reference_data(ctx, cmd, 0x00),
        Instruction::SetSessionKey => set_session_key(ctx),
        // SET PUBLIC IC KEY: every P1/P2 tried on a card answered `6A 86` (reference §2.8).
        Instruction::SetPublicIcKey => Err(CardError::IncorrectP1P2),
        // The iPhone token's "last command indicator" is a length error on plastic cards.
        Instruction::LastCommandIndicator => Err(CardError::WrongLength),
        // Issuer-only instructions: known to the card (not `6D 00`), unusable without
        // issuer authentication.
        Instruction::EraseAllRecords
        | Instruction::LockDf
        | Instruction::UnlockDf
        | Instruction::UnlockKey
        | Instruction::ManageAttributes
        | Instruction::ExternalAuthenticate => Err(CardError::IssuerOnlyInstruction),
    }
}

/// CLA checks in the order the reference's status words imply (§2.2, §2.9): an unknown class
/// is `6E 00`; a logical channel other than 0 is `68 81`; command chaining is `68 84`;
/// secure messaging is `68 82` on SELECT and `69 FC` elsewhere (no session can be open:
/// the optional text-application SM is not emulated).
fn check_class(cmd: &Command<'_>) -> Result<Class, CardError> {
    let class = Class::of(cmd.cla).ok_or(CardError::ClassNotSupported)?;
    if cmd.cla & 0x03 != 0 {
        return Err(CardError::LogicalChannelNotSupported);
    }
    if cmd.cla & 0x10 != 0 {
        return Err(CardError::ChainingNotSupported);
    }
    if cmd.cla & 0x0C != 0 {
        let select = Instruction::decode(cmd.cla, cmd.ins) == Some(Instruction::Select);
        return Err(if select {
            CardError::SecureMessagingNotSupported
        } else {
            CardError::NoSecureMessagingSession
        });
    }
    Ok(class)
}

impl Context<'_> {
    fn current_df(&self) -> Result<&Df, CardError> {
        self.dfs
            .get(self.session.current_df)
            .ok_or(CardError::NoPreciseDiagnosis)
    }

    fn current_df_mut(&mut self) -> Result<&mut Df, CardError> {
        self.dfs
            .get_mut(self.session.current_df)
            .ok_or(CardError::NoPreciseDiagnosis)
    }

    fn app(&self) -> crate::apps::AppId {
        self.dfs
            .get(self.session.current_df)
            .map_or(crate::apps::AppId::Isd, |df| df.app)
    }

    /// The current EF's content for a read, in the order the checks answer: no current EF
    /// is `69 86`, the wrong file structure `69 81`, an unmet access rule `69 82`.
    fn readable<'s, T>(
        &'s self,
        content: impl Fn(&'s EfBody) -> Option<&'s T>,
    ) -> Result<&'s T, CardError> {
        let fid = self.session.current_ef.ok_or(CardError::NoCurrentEf)?;
        let ef = self.current_df()?.ef(fid).ok_or(CardError::NoCurrentEf)?;
        let found = content(&ef.body).ok_or(CardError::IncompatibleFileStructure)?;
        if !self.session.allows(self.session.current_df, &ef.read) {
            return Err(CardError::SecurityStatusNotSatisfied);
        }
        Ok(found)
    }

    /// Makes DF `index` current with no current EF. Selecting a different DF clears the
    /// security status unless a quirk keeps it; re-selecting the current one keeps it unless
    /// a quirk clears it (reference §2.5).
    fn enter_df(&mut self, index: usize) {
        let switch = index != self.session.current_df;
        if (switch && !self.quirks.keep_security_on_df_switch)
            || (!switch && self.quirks.reselect_clears_security)
        {
            self.session.verified.clear();
        }
        self.session.current_df = index;
        self.session.current_ef = None;
        if let Some(df) = self.dfs.get(index) {
            self.events.push(CardEvent::Selected { app: df.app });
        }
    }

    /// Makes an EF of the current DF current.
    fn enter_ef(&mut self, fid: Fid) -> Result<(), CardError> {
        let app = self.current_df()?.app;
        self.current_df()?.ef(fid).ok_or(CardError::FileNotFound)?;
        self.session.current_ef = Some(fid);
        self.events.push(CardEvent::EfSelected { app, fid });
        Ok(())
    }

    /// Resolves a P2 of the form `80` (current EF) or `80|SFI` (implicit selection) used by
    /// VERIFY, CHANGE REFERENCE DATA, COMPUTE DIGITAL SIGNATURE and INTERNAL AUTHENTICATE.
    /// An SFI naming no key is `6A 88`.
    fn key_reference(&mut self, p2: u8) -> Result<Fid, CardError> {
        match KeyReference::try_from(p2).map_err(|()| CardError::IncorrectP1P2)? {
            KeyReference::Current => self.session.current_ef.ok_or(CardError::NoCurrentEf),
            KeyReference::Sfi(sfi) => {
                let fid = Fid::from_sfi(sfi);
                self.enter_ef(fid)
                    .map_err(|_| CardError::ReferencedDataNotFound)?;
                Ok(fid)
            }
        }
    }
}

/// SELECT (`00 A4`), reference §1.2 and §2.2.
///
/// * P1 `04`: DF by name — full AID or any prefix (partial DF name), P2 `0C` (no response
///   data), `00` (FCI), `02`/`0E` (next occurrence, with/without FCI). No match: `6A 82`.
/// * P1 `02`: EF by 2-byte FID under the current DF, P2 `0C` (or `00`/`04` for a minimal
///   FCP). Unknown FID: `6A 82`.
/// * P1 `00`: MF. There is no usable MF: `6A 86` while the issuer security domain is
///   current (after power-on), `90 00` without any change once an application is current.
/// * Anything else (e.g. `09`, path from the current DF): `6A 86`.
fn select(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    match SelectP1::try_from(cmd.p1).map_err(|()| CardError::IncorrectP1P2)? {
        SelectP1::DfName => select_df(ctx, cmd),
        SelectP1::Ef => select_ef(ctx, cmd),
        SelectP1::Mf => {
            if ctx.session.current_df == 0 {
                Err(CardError::IncorrectP1P2)
            } else {
                Ok(Response::ok(Vec::new()))
            }
        }
    }
}

fn select_df(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    // P2 b2..b1: occurrence (00 first, 10 next); b4..b3: response (00 FCI, 11 none).
    let occurrence_next = match cmd.p2 & 0x03 {
        0x00 => false,
        0x02 => true,
        _ => return Err(CardError::IncorrectP1P2),
    };
    let fci = match cmd.p2 & 0xFC {
        0x0C => false,
        0x00 => true,
        _ => return Err(CardError::IncorrectP1P2),
    };
    let name = cmd.data();
    let start = if occurrence_next {
        ctx.session.current_df + 1
    } else {
        0
    };
    let index = ctx
        .dfs
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, df)| df.app.aid().starts_with(name))
        .map(|(i, _)| i)
        .ok_or(CardError::FileNotFound)?;
    ctx.enter_df(index);
    if !fci {
        return Ok(Response::ok(Vec::new()));
    }
    let ne = cmd.le();
    // The FCI's content is not published (reference §1.2): a minimal template holding the
    // DF name, flagged as a guess.
    let aid = ctx.current_df()?.app.aid();
    let inner = crate::apdu::tlv::encode(crate::apdu::tlv::Tag(0x84), aid);
    file_control_response(
        ne,
        crate::apdu::tlv::encode(crate::apdu::tlv::Tag(0x6F), &inner),
    )
}

/// FCI/FCP data goes back only if the host asked for it with Le (fuzzing found a case-3
/// SELECT with P2 = 04 answered with data: never more than Ne). A template that does not
/// fit Ne is a length error.
fn file_control_response(ne: Option<usize>, template: Vec<u8>) -> Result<Response, CardError> {
    match ne {
        None => Ok(Response::ok(Vec::new())),
        Some(ne) if ne >= template.len() => Ok(Response::ok(template)),
        Some(_) => Err(CardError::WrongLength),
    }
}

fn select_ef(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    let fcp = match cmd.p2 {
        0x0C => false,
        0x00 | 0x04 => true,
        _ => return Err(CardError::IncorrectP1P2),
    };
    let fid = Fid::try_from(cmd.data()).map_err(|()| CardError::WrongLength)?;
    ctx.enter_ef(fid)?;
    if !fcp {
        return Ok(Response::ok(Vec::new()));
    }
    // Minimal FCP (ISO/IEC 7816-4 §5.3.3): file size for transparent EFs, descriptor, FID.
    // The card's real FCP is not published.
    let ef = ctx.current_df()?.ef(fid).ok_or(CardError::FileNotFound)?;
    let mut body = Vec::new();
    let descriptor = match &ef.body {
        EfBody::Transparent(data) => {
            body.extend(crate::apdu::tlv::encode(
                crate::apdu::tlv::Tag(0x80),
                &(data.len().min(0xFFFF) as u16).to_be_bytes(),
            ));
            0x01
        }
        EfBody::Records(_) => 0x04,
        _ => 0x11,
    };
    body.extend(crate::apdu::tlv::encode(
        crate::apdu::tlv::Tag(0x82),
        &[descriptor],
    ));
    body.extend(crate::apdu::tlv::encode(
        crate::apdu::tlv::Tag(0x83),
        &fid.0.to_be_bytes(),
    ));
    file_control_response(
        cmd.le(),
        crate::apdu::tlv::encode(crate::apdu::tlv::Tag(0x62), &body),
    )
}

/// Checks that a command is a pure "read" (case 2, short or extended) and returns `Ne`.
fn expect_case2(cmd: &Command<'_>) -> Result<usize, CardError> {
    match cmd.case() {
        Case::Case2Short | Case::Case2Extended => cmd.le().ok_or(CardError::WrongLength),
        _ => Err(CardError::WrongLength),
    }
}

/// READ BINARY (`00 B0`), reference §2.3.
///
/// P1 b8 = 0: 15-bit offset `P1‖P2` in the current EF. P1 b8 = 1: `P1 = 80|SFI` selects the
/// EF with that short identifier and P2 is an 8-bit offset. The card returns
/// `min(Ne, bytes to the end of the EF)` with `90 00` — fewer than asked near the end,
/// never more — and `6B 00` for an offset at or past the end. Extended Le is accepted.
fn read_binary(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    let ne = expect_case2(cmd)?;
    let offset = match BinaryAddress::decode(cmd.p1, cmd.p2).ok_or(CardError::IncorrectP1P2)? {
        BinaryAddress::Offset(offset) => usize::from(offset),
        BinaryAddress::Sfi { sfi, offset } => {
            ctx.enter_ef(Fid::from_sfi(sfi))?;
            usize::from(offset)
        }
    };
    let data = ctx.readable(|body| match body {
        EfBody::Transparent(data) => Some(data),
        _ => None,
    })?;
    let rest = data
        .get(offset..)
        .filter(|r| !r.is_empty())
        .ok_or(CardError::OffsetOutsideEf)?;
    let chunk = rest.get(..ne.min(rest.len())).unwrap_or(rest);
    Ok(Response::ok(chunk.to_vec()))
}

/// READ RECORD (`00 B2`), reference §1.6 and §2.1: P1 = record number; P2 = `(SFI<<3)|4`
/// (SFI 0: the current EF), e.g. `00 B2 01 0C 00` reads record 1 of EF 0001. P2 low bits
/// `05` (record P1 to the last) is `6A 81` on this card; missing records are `6A 83`.
fn read_record(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    let ne = expect_case2(cmd)?;
    match cmd.p2 & 0x07 {
        0x04 => {}
        0x05 => return Err(CardError::FunctionNotSupported),
        _ => return Err(CardError::IncorrectP1P2),
    }
    let sfi = cmd.p2 >> 3;
    if sfi == 0x1F {
        return Err(CardError::IncorrectP1P2);
    }
    if sfi != 0 {
        ctx.enter_ef(Fid::from_sfi(sfi))?;
    }
    let records = ctx.readable(|body| match body {
        EfBody::Records(records) => Some(records),
        _ => None,
    })?;
    let record = usize::from(cmd.p1)
        .checked_sub(1)
        .and_then(|i| records.get(i))
        .ok_or(CardError::RecordNotFound)?;
    if record.len() > ne {
        return Err(CardError::WrongLength);
    }
    Ok(Response::ok(record.clone()))
}

/// VERIFY (`00 20 00 P2`), reference §2.4.
///
/// * Case 3 with 1–16 bytes: compare against the key reference (P2 `80`: the current EF;
///   `80|SFI`: that key, selected implicitly). See [`crate::security::Pin::verify`] for the
///   decrement-before-compare order. Wrong: `63 Cx` (`63 C0` on the try that blocks);
///   blocked: `69 84` for every VERIFY, the right secret included.
/// * Case 1 (`00 20 00 80`): the retry query — `63 Cx` and no try spent (`63 C0` when
///   blocked); optionally `90 00` when already verified (quirk).
/// * Case 2 (`00 20 00 80 00`) or any Le: `67 00`, as measured (reference §6 item 6).
fn verify(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    if cmd.p1 != 0x00 {
        return Err(CardError::IncorrectP1P2);
    }
    let query = match cmd.case() {
        Case::Case1 => true,
        Case::Case3Short | Case::Case3Extended => false,
        _ => return Err(CardError::WrongLength),
    };
    if !query && cmd.data().len() > 16 {
        return Err(CardError::WrongLength);
    }
    let key = ctx.key_reference(cmd.p2)?;
    let df_index = ctx.session.current_df;
    let app = ctx.app();
    let verified = ctx.session.is_verified(df_index, key);
    let pin = pin_mut(ctx.current_df_mut()?, key)?;
    if query {
        let counter = pin.query();
        if verified && ctx.quirks.verify_query_success_when_verified {
            return Ok(Response::ok(Vec::new()));
        }
        if counter.is_blocked() {
            return Err(CardError::BlockedKeyQueried);
        }
        return Err(CardError::RetriesRemaining {
            remaining: counter.left(),
        });
    }
    match pin.verify(cmd.data()) {
        Ok(VerifyOutcome::Verified) => {
            ctx.session.set_verified(df_index, key, true);
            ctx.events.push(CardEvent::PinVerified { app, key });
            Ok(Response::ok(Vec::new()))
        }
        Ok(VerifyOutcome::Failed { left }) => {
            ctx.session.set_verified(df_index, key, false);
            ctx.events.push(CardEvent::PinFailed { app, key, left });
            if left == 0 {
                ctx.events.push(CardEvent::PinBlocked { app, key });
            }
            Err(CardError::WrongPin { remaining: left })
        }
        Err(e) => {
            ctx.session.set_verified(df_index, key, false);
            Err(e)
        }
    }
}

/// The PIN object a key reference names; a data file or private key there is `69 81`.
fn pin_mut(df: &mut Df, key: Fid) -> Result<&mut crate::security::Pin, CardError> {
    match &mut df
        .ef_mut(key)
        .ok_or(CardError::ReferencedDataNotFound)?
        .body
    {
        EfBody::Pin(pin) => Ok(pin),
        _ => Err(CardError::IncompatibleFileStructure),
    }
}

/// CHANGE REFERENCE DATA (`00 24 01 80`, JPKI and input-support PINs) and JICSAP CHANGE KEY
/// (`80 32 00 80`, the resident PINs), reference §2.1 and §2.6: the new secret alone in the
/// data field, accepted only after a successful VERIFY of the same key in this session
/// (`69 82` otherwise — assumed, reference §7). A value that breaks the key's format rule is
/// `6A 80`. Which instruction a real card accepts for which key is not published; both are
/// accepted for every key.
fn change_reference_data(
    ctx: &mut Context<'_>,
    cmd: &Command<'_>,
    expected_p1: u8,
) -> Result<Response, CardError> {
    if cmd.p1 != expected_p1 {
        return Err(CardError::IncorrectP1P2);
    }
    if !matches!(cmd.case(), Case::Case3Short | Case::Case3Extended) || cmd.data().len() > 16 {
        return Err(CardError::WrongLength);
    }
    let key = ctx.key_reference(cmd.p2)?;
    let df_index = ctx.session.current_df;
    let app = ctx.app();
    let verified = ctx.session.is_verified(df_index, key);
    let pin = pin_mut(ctx.current_df_mut()?, key)?;
    if pin.counter().is_blocked() {
        return Err(CardError::KeyBlocked);
    }
    if !verified {
        return Err(CardError::ChangeWithoutVerify);
    }
    pin.change(cmd.data())?;
    ctx.events.push(CardEvent::PinChanged { app, key });
    Ok(Response::ok(Vec::new()))
}

/// Proof that a private key's use condition holds in this session. Only
/// [`Context::unlock`] makes one, and every signing path needs one, so no handler can sign
/// without checking.
struct Unlocked(());

impl Context<'_> {
    fn unlock(&self, key: &PrivateKey) -> Result<Unlocked, CardError> {
        if self.session.allows(self.session.current_df, &key.unlock) {
            Ok(Unlocked(()))
        } else {
            Err(CardError::SecurityStatusNotSatisfied)
        }
    }

    fn private_key(&self, fid: Fid) -> Result<PrivateKey, CardError> {
        match &self
            .current_df()?
            .ef(fid)
            .ok_or(CardError::ReferencedDataNotFound)?
            .body
        {
            EfBody::PrivateKey(key) => Ok(key.clone()),
            _ => Err(CardError::IncompatibleFileStructure),
        }
    }
}

/// The response to a signing command: the whole signature, which must fit in `Ne`.
fn signature_response(cmd: &Command<'_>, signature: Vec<u8>) -> Result<Response, CardError> {
    match cmd.le() {
        Some(ne) if ne >= signature.len() => Ok(Response::ok(signature)),
        _ => Err(CardError::WrongLength),
    }
}

/// COMPUTE DIGITAL SIGNATURE (`80 2A P1 P2 Lc data Le`), reference §2.7.
///
/// P2 names the key: `80` the current EF (SELECT `0017`/`001A` first), `80|SFI` directly
/// (`97`, `9A`), `00` the application's default key (card-face applications). P1 is the
/// scheme (see [`SignatureScheme`]). A JPKI key needs its PIN verified (`69 82`
/// otherwise), and one VERIFY allows any number of signatures. The 256-byte signature needs
/// Le `00` (or an extended Le); a smaller or missing Le is `67 00`.
fn compute_signature(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    if !matches!(
        cmd.case(),
        Case::Case4Short | Case::Case4Extended | Case::Case3Short | Case::Case3Extended
    ) {
        return Err(CardError::WrongLength);
    }
    let fid = match cmd.p2 {
        0x00 => ctx
            .current_df()?
            .default_key
            .ok_or(CardError::IncorrectP1P2)?,
        p2 => ctx.key_reference(p2)?,
    };
    let key = ctx.private_key(fid)?;
    let scheme = match key.role {
        KeyRole::JpkiSignature => SignatureScheme::try_from(cmd.p1)?,
        KeyRole::ApplicationSignature if cmd.p1 == 0x00 => SignatureScheme::Pkcs1Raw,
        KeyRole::ApplicationSignature => return Err(CardError::IncorrectP1P2),
        KeyRole::InternalAuthenticate => return Err(CardError::ConditionsNotSatisfied),
    };
    let proof = ctx.unlock(&key)?;
    let signature = sign(ctx, &key, proof, scheme, cmd.data())?;
    let response = signature_response(cmd, signature)?;
    ctx.events.push(CardEvent::Signed {
        app: ctx.app(),
        key: fid,
        scheme: scheme.p1(),
    });
    Ok(response)
}

fn sign(
    ctx: &mut Context<'_>,
    key: &PrivateKey,
    _proof: Unlocked,
    scheme: SignatureScheme,
    input: &[u8],
) -> Result<Vec<u8>, CardError> {
    scheme.sign(&key.key, input, ctx.rng)
}

/// INTERNAL AUTHENTICATE (`00 88 00 P2 Lc challenge Le`), reference §2.8: only the
/// common-card key 0019 answers (no credential); PIN-protected JPKI keys are `69 82`, the
/// card-face keys `69 85`.
fn internal_auth(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    if cmd.p1 != 0x00 {
        return Err(CardError::IncorrectP1P2);
    }
    if !cmd.case().has_data() {
        return Err(CardError::WrongLength);
    }
    let fid = ctx.key_reference(cmd.p2)?;
    let key = ctx.private_key(fid)?;
    match key.role {
        KeyRole::InternalAuthenticate => {}
        KeyRole::JpkiSignature => return Err(CardError::SecurityStatusNotSatisfied),
        KeyRole::ApplicationSignature => return Err(CardError::ConditionsNotSatisfied),
    }
    let _proof = ctx.unlock(&key)?;
    let signature = internal_authenticate(&key.key, cmd.data())?;
    let response = signature_response(cmd, signature)?;
    ctx.events.push(CardEvent::Signed {
        app: ctx.app(),
        key: fid,
        scheme: Instruction::InternalAuthenticate.code(),
    });
    Ok(response)
}

/// GET CHALLENGE (`00 84 00 00 Le`), reference §2.8: exactly `Ne` random bytes, 1–256, in
/// any application; the extended form is `69 85`.
fn get_challenge(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    if cmd.p1 != 0 || cmd.p2 != 0 {
        return Err(CardError::IncorrectP1P2);
    }
    let ne = match cmd.case() {
        Case::Case2Short => cmd.le().unwrap_or(SHORT_LE_MAX),
        Case::Case2Extended => return Err(CardError::ConditionsNotSatisfied),
        _ => return Err(CardError::WrongLength),
    };
    let mut challenge = vec![0u8; ne];
    ctx.rng.fill_bytes(&mut challenge);
    Ok(Response::ok(challenge))
}

/// GET DATA (`00 CA P1 P2 Le`), reference §1.7: the data objects of the current DF (the
/// issuer security domain holds the MF-level objects). Absent: `6A 88`. An object larger
/// than `Ne` is `67 00` — a short Le cannot fetch the large certificates; an extended Le can.
fn get_data(ctx: &mut Context<'_>, cmd: &Command<'_>) -> Result<Response, CardError> {
    let ne = expect_case2(cmd)?;
    let tag = u16::from_be_bytes([cmd.p1, cmd.p2]);
    let df = ctx.current_df()?;
    let value = df
        .data_objects
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, v)| v)
        .ok_or(CardError::ReferencedDataNotFound)?;
    if value.len() > ne {
        return Err(CardError::WrongLength);
    }
    Ok(Response::ok(value.clone()))
}

/// SET SESSION KEY (`80 AE`): secure messaging is not emulated; each application refuses
/// the way the reference measured (§2.8).
fn set_session_key(ctx: &mut Context<'_>) -> Result<Response, CardError> {
    let df = ctx.current_df()?;
    Err(match df.session_key {
        super::SessionKeySupport::SecurityStatusNotSatisfied => {
            CardError::SecurityStatusNotSatisfied
        }
        super::SessionKeySupport::SecurityEnvironmentFaulty => CardError::SecurityEnvironmentFaulty,
        super::SessionKeySupport::NotEmulated => {
            let current = ctx.session.current_df;
            let pin_verified = df.files.iter().any(|ef| {
                matches!(ef.body, EfBody::Pin(_)) && ctx.session.is_verified(current, ef.fid)
            });
            if pin_verified {
                CardError::IncorrectData
            } else {
                CardError::SecurityStatusNotSatisfied
            }
        }
    })
}
