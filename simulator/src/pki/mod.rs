//! The test PKI (reference §4): the committed pool of test keys, X.509 building blocks and
//! the JPKI-shaped hierarchy. Everything here is deterministic: the same inputs give the
//! same DER, so transcripts are reproducible.

pub mod cv;
pub mod jpki;
pub mod keys;
pub mod ocsp;
pub mod published;
pub mod x509;
