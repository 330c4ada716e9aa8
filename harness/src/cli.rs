//! Command-line parsing and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::card_cmd;
use crate::exit::{self, Failure};

const ABOUT: &str = "\
A software My Number Card (Japan's Individual Number Card) and a test harness around it.

The simulated card answers ISO 7816-4 APDUs byte for byte like the real card's JPKI
application: PIN retry counters and lockout, RSA-2048 signatures, certificates from a
TEST PKI shaped like J-LIS's. Every key and certificate it holds is TEST data.";

const AFTER_HELP: &str = "\
Examples:
  mynasim card show                          the built-in default card
  mynasim card show --profile my-card.yaml --json
  mynasim card apdu 00A4040C0AD392F000260100000001 00A4020C020006 00B0000020

Profiles: scenarios/profiles/default.yaml is the default card (authentication PIN 1234,
signature password ABC123). `mynasim schema profile` prints the profile format.";

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(name = "mynasim", version, about = ABOUT, after_help = format!("{AFTER_HELP}\n\n{}", exit::HELP))]
pub struct Cli {
    /// More logging on stderr (-v debug, -vv trace); MYNASIM_LOG=<filter> overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios against a target and report what differed.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Inspect a simulated card or send it APDUs by hand.
    #[command(subcommand)]
    Card(CardCommand),
    /// Print the JSON Schema of a file format.
    Schema {
        /// Which format.
        #[arg(value_enum)]
        format: SchemaFormat,
    },
}

const RUN_HELP: &str = "\
Each scenario file describes a card (a profile plus overrides) and steps with expectations;
docs/scenarios.md documents the format and `mynasim schema scenario` prints its JSON Schema.

Targets:
  sim            the scenario's own card, in process (default; no system packages)
  vpcd           the scenario's card behind pcscd through the vpcd driver (needs pcscd and
                 vsmartcard-vpcd, and root for a private pcscd)
  pcsc:READER    whatever card is in READER (a real card, or `mynasim serve` through pcscd);
                 scenarios not marked `portable: true` are reported n/a there

Examples:
  mynasim run                                   every scenario under scenarios/
  mynasim run scenarios/pin --tags pin-lockout  a folder, one tag
  mynasim run --filter 'auth PIN' --junit report.xml
  mynasim run --shard 2/4                       the 2nd quarter, for a CI matrix

Exit status: 0 all passed (n/a counts as passed), 1 a scenario failed, 2 a scenario or
profile is invalid, 3 the target could not be reached.";

/// `mynasim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (searched for *.yaml, skipping profiles/).
    #[arg(value_name = "PATH", default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Where to run: sim, vpcd or pcsc:READER.
    #[arg(long, short, default_value = "sim", value_name = "TARGET")]
    pub target: crate::scenario::TargetSpec,
    /// Only scenarios whose path or name contains this text.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only scenarios with any of these tags (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Run shard K of N (scenarios are split round-robin in path order).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::scenario::Shard>,
    /// Write a JUnit XML report (one test case per scenario).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report with per-step timings and transcripts.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Parallel scenarios (default: the number of CPUs; 1 for pcsc/vpcd targets).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Show PINs in failure transcripts and the JSON report.
    #[arg(long)]
    pub no_redact: bool,
    /// List the selected scenarios instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Print only failures and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `mynasim card …`.
#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Show what a profile's card holds: holder, My Number, validity, certificates, PINs.
    #[command(after_help = "\
The validity dates follow the J-LIS FAQ (Q12): the card lasts to the 10th birthday after
issue (the 5th for minors; majority is 20 for cards applied for before 2022-04-01, 18
after), the certificates to the 5th, never past the card.")]
    Show(ShowArgs),
    /// Power on a profile's card, send each APDU in order, print each response as hex.
    #[command(after_help = "\
Each APDU is one argument of hex digits (spaces allowed inside quotes), or `-` to read
APDUs from standard input, one per line (`#` starts a comment). The card powers on
before the first APDU; its state lives only for this run.

Example (the reference's card check):
  mynasim card apdu 00A4040C0AD392F000260100000001 00A4020C020006 00B0000020")]
    Apdu(ApduArgs),
}

/// Arguments naming a profile.
#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Profile: a YAML file, or a name under scenarios/profiles/. The default card is
    /// built in.
    #[arg(short, long, default_value = "default", value_name = "FILE|NAME")]
    pub profile: String,
}

/// `card show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    /// The profile.
    pub profile: ProfileArg,
    /// Print JSON instead of text (certificates included as PEM).
    #[arg(long)]
    pub json: bool,
    /// Also write the card's certificates (PEM and DER) and the test trust anchors (CA
    /// certificates, CV CA public keys) into this directory.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Print PIN and password values instead of `****`.
    #[arg(long)]
    pub reveal_secrets: bool,
}

/// `card apdu`.
#[derive(Debug, Args)]
pub struct ApduArgs {
    #[command(flatten)]
    /// The profile.
    pub profile: ProfileArg,
    /// Print a transcript (`>>` command, `<<` response) instead of bare responses.
    #[arg(long)]
    pub transcript: bool,
    /// In the transcript, show PINs instead of `**`.
    #[arg(long, requires = "transcript")]
    pub no_redact: bool,
    /// Command APDUs in hex, or `-` for standard input.
    #[arg(required = true, value_name = "HEX")]
    pub apdus: Vec<String>,
}

/// Schema formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaFormat {
    /// Card profiles (scenarios/profiles/*.yaml).
    Profile,
    /// Scenario files (scenarios/**/*.yaml).
    Scenario,
}

/// Parses the command line, runs it, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    exit::finish(run(cli))
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MYNASIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Card(CardCommand::Show(args)) => card_cmd::show(&args),
        Command::Card(CardCommand::Apdu(args)) => card_cmd::apdu(&args),
        Command::Run(args) => crate::run_cmd::run(&args),
        Command::Schema { format } => {
            let schema = match format {
                SchemaFormat::Profile => mynasim_simulator::profile::json_schema(),
                SchemaFormat::Scenario => schemars::schema_for!(crate::scenario::model::Scenario),
            };
            let text = serde_json::to_string_pretty(&schema).map_err(anyhow::Error::from)?;
            println!("{text}");
            Ok(())
        }
    }
}
