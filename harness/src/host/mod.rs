//! Cards where other programs reach them: the one slot loop that keeps a card on a vpcd
//! port ([`slot`]), what `mynasim serve` serves ([`config`]), its control protocol
//! ([`control`]), card state kept in a file ([`state`]), a private pcscd ([`pcscd`]), a
//! card in a PC/SC reader with a program under test beside it ([`exec`]), and records of
//! what passed ([`record`]). Nothing here
//! parses command lines or picks exit codes.

pub mod config;
pub mod control;
pub mod exec;
pub mod pcscd;
pub mod record;
pub mod replay;
pub mod slot;
pub mod state;
pub mod validation;
