//! Reports of a run, one module per format: the terminal ([`terminal`]), JUnit XML
//! ([`junit`]) and JSON ([`json`]). They read [`Outcome`](crate::engine::Outcome)s and
//! never decide exit codes; writing a file is the caller's I/O.

pub mod json;
pub mod junit;
pub mod terminal;

/// Options for what people read.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour.
    pub colour: bool,
    /// Show secrets in transcripts.
    pub reveal: bool,
}

impl Style {
    /// No colour, secrets masked: files and CI logs.
    pub const PLAIN: Self = Self {
        colour: false,
        reveal: false,
    };
}
