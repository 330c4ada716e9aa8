//! The GlobalPlatform issuer security domain, `A0 00 00 01 51 00 00` (reference §1.1,
//! §1.2): the DF that is current after power-on. No EF in it is readable: of the FIDs
//! 0001–001E only `001E` exists, and it answers READ with `69 81`.

use crate::card::{Df, Ef};

use super::AppId;

/// Builds the issuer security domain. `data_objects` are its GET DATA objects.
pub fn build(data_objects: Vec<(u16, Vec<u8>)>) -> Df {
    let mut df = Df::new(AppId::Isd, vec![Ef::internal(0x001E)]);
    df.data_objects = data_objects;
    df
}
