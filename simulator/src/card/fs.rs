//! The card's file system as JIS X 6319-4 / JICSAP models it: dedicated files (DFs, one per
//! application) holding elementary files (EFs) — transparent and record data files, and
//! internal EFs (IEFs) that hold secrets and private keys (reference §1).
//!
//! Applications are data: each `apps::*` module builds a [`Df`] of files with their access
//! rules, and the card core interprets every command against it, so selection, access
//! control and PIN handling exist once.

use std::fmt;
use std::sync::Arc;

use rsa::PrivateKey as RsaPrivateKey;

use crate::apps::AppId;
use crate::security::Pin;

/// A 2-byte file identifier (`00 18`, `00 0A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fid(pub u16);

impl Fid {
    /// The FID a short EF identifier names: SFI `n` is FID `00 0n` (reference conventions:
    /// "the low 5 bits of an FID in 0001–001E").
    pub fn from_sfi(sfi: u8) -> Self {
        Self(u16::from(sfi & 0x1F))
    }
}

impl TryFrom<&[u8]> for Fid {
    type Error = ();
    fn try_from(bytes: &[u8]) -> Result<Self, ()> {
        match bytes {
            [hi, lo] => Ok(Self(u16::from_be_bytes([*hi, *lo]))),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Fid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// Who may read a data EF or use a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no credential.
    Free,
    /// Nobody through any public command.
    Never,
    /// Whoever verified any of these key references of the same DF in this session.
    AnyOf(Vec<Fid>),
}

/// What a private key answers to (reference §2.7, §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// A JPKI key: COMPUTE DIGITAL SIGNATURE `80 2A` with the P1 schemes `00`–`05`, after its
    /// PIN; INTERNAL AUTHENTICATE is refused with `69 82`.
    JpkiSignature,
    /// A card-face application's own key: `80 2A 00 00` with a SHA-256 DigestInfo, no
    /// credential; INTERNAL AUTHENTICATE is refused with `69 85`.
    ApplicationSignature,
    /// The common-card application's key 0019: INTERNAL AUTHENTICATE only, no credential.
    InternalAuthenticate,
}

/// A private key IEF.
#[derive(Clone)]
pub struct PrivateKey {
    /// The RSA key (shared: a card clone shares its keys).
    pub key: Arc<RsaPrivateKey>,
    /// What it answers to.
    pub role: KeyRole,
    /// Who may use it.
    pub unlock: Access,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("role", &self.role)
            .field("unlock", &self.unlock)
            .finish_non_exhaustive()
    }
}

/// What an EF holds.
#[derive(Debug, Clone)]
pub enum EfBody {
    /// A transparent EF (READ BINARY): the file's physical bytes, filler included.
    Transparent(Vec<u8>),
    /// A record EF (READ RECORD), records numbered from 1.
    Records(Vec<Vec<u8>>),
    /// A key reference holding a secret (VERIFY, CHANGE REFERENCE DATA).
    Pin(Pin),
    /// A private key (COMPUTE DIGITAL SIGNATURE, INTERNAL AUTHENTICATE).
    PrivateKey(PrivateKey),
    /// An internal EF that can be selected and nothing else (reference §1.2: MF `001E`).
    Internal,
}

/// An elementary file.
#[derive(Debug, Clone)]
pub struct Ef {
    /// Its identifier.
    pub fid: Fid,
    /// Its content.
    pub body: EfBody,
    /// Who may read it (data EFs only; keys have their own rule).
    pub read: Access,
}

impl Ef {
    /// A transparent EF.
    pub fn transparent(fid: u16, data: Vec<u8>, read: Access) -> Self {
        Self {
            fid: Fid(fid),
            body: EfBody::Transparent(data),
            read,
        }
    }

    /// A record EF.
    pub fn records(fid: u16, records: Vec<Vec<u8>>, read: Access) -> Self {
        Self {
            fid: Fid(fid),
            body: EfBody::Records(records),
            read,
        }
    }

    /// A key reference.
    pub fn pin(fid: u16, pin: Pin) -> Self {
        Self {
            fid: Fid(fid),
            body: EfBody::Pin(pin),
            read: Access::Never,
        }
    }

    /// A private key.
    pub fn private_key(fid: u16, key: PrivateKey) -> Self {
        Self {
            fid: Fid(fid),
            body: EfBody::PrivateKey(key),
            read: Access::Never,
        }
    }

    /// An internal EF.
    pub fn internal(fid: u16) -> Self {
        Self {
            fid: Fid(fid),
            body: EfBody::Internal,
            read: Access::Never,
        }
    }
}

/// How an application answers SET SESSION KEY (`80 AE`), which the card knows everywhere
/// (reference §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKeySupport {
    /// `69 82`: the JPKI and resident-registry applications.
    SecurityStatusNotSatisfied,
    /// `66 F1`: the common-card and card-face applications.
    SecurityEnvironmentFaulty,
    /// The input-support application's secure messaging, which mynasim does not emulate:
    /// `69 82` until the PIN is verified, then every cryptogram is refused as malformed
    /// (`6A 80`), as a real card refuses a bad one.
    NotEmulated,
}

/// A dedicated file: one application and its EFs.
#[derive(Debug, Clone)]
pub struct Df {
    /// Which application.
    pub app: AppId,
    /// The EFs, in ascending FID order.
    pub files: Vec<Ef>,
    /// The key `80 2A 00 00` uses when P2 names none (card-face applications).
    pub default_key: Option<Fid>,
    /// The answer to SET SESSION KEY.
    pub session_key: SessionKeySupport,
    /// GET DATA objects: (tag, value) — the MF-level objects live in the issuer security
    /// domain (reference §1.7).
    pub data_objects: Vec<(u16, Vec<u8>)>,
}

impl Df {
    /// A DF with these files (sorted by FID here).
    pub fn new(app: AppId, mut files: Vec<Ef>) -> Self {
        files.sort_by_key(|ef| ef.fid);
        Self {
            app,
            files,
            default_key: None,
            session_key: SessionKeySupport::SecurityStatusNotSatisfied,
            data_objects: Vec::new(),
        }
    }

    /// The EF with this FID.
    pub fn ef(&self, fid: Fid) -> Option<&Ef> {
        self.files
            .binary_search_by_key(&fid, |ef| ef.fid)
            .ok()
            .and_then(|i| self.files.get(i))
    }

    /// The EF with this FID, mutably.
    pub fn ef_mut(&mut self, fid: Fid) -> Option<&mut Ef> {
        self.files
            .binary_search_by_key(&fid, |ef| ef.fid)
            .ok()
            .and_then(|i| self.files.get_mut(i))
    }

    /// The key reference with this FID, if it is one.
    pub fn pin(&self, fid: Fid) -> Option<&Pin> {
        match &self.ef(fid)?.body {
            EfBody::Pin(pin) => Some(pin),
            _ => None,
        }
    }

    /// The key reference with this FID, mutably.
    pub fn pin_mut(&mut self, fid: Fid) -> Option<&mut Pin> {
        match &mut self.ef_mut(fid)?.body {
            EfBody::Pin(pin) => Some(pin),
            _ => None,
        }
    }

    /// The bytes of a transparent EF.
    pub fn transparent(&self, fid: Fid) -> Option<&[u8]> {
        match &self.ef(fid)?.body {
            EfBody::Transparent(data) => Some(data),
            _ => None,
        }
    }
}
