//! One module per subcommand. Each takes its own options (never clap's types), does its
//! work through the engine, the host, the targets and the reports, and returns
//! `Result<(), exit::Error>`. They never import each other.

pub mod card;
pub mod certify;
pub mod control;
pub mod exec;
pub mod import;
pub mod pki;
pub mod report;
pub mod run;
pub mod schema;
pub mod serve;
pub mod trace;
pub mod validation;
pub mod verify;
