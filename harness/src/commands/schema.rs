//! `mynasim schema`: the JSON Schema of a file format.

use std::io::Write as _;

use crate::exit::Error;

/// The formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Card profiles.
    Profile,
    /// Scenario files.
    Scenario,
}

/// The schema as pretty JSON.
pub fn text(format: Format) -> String {
    let schema = match format {
        Format::Profile => mynasim_simulator::profile::json_schema(),
        Format::Scenario => schemars::schema_for!(crate::scenario::model::Scenario),
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// Prints the schema.
///
/// # Errors
/// Standard output cannot be written.
pub fn run(format: Format) -> Result<(), Error> {
    writeln!(std::io::stdout(), "{}", text(format))
        .map_err(|e| Error::io(anyhow::anyhow!("cannot write standard output: {e}")))
}
