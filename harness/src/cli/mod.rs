//! The command line: clap's types, the help texts, logging, and the one place that turns
//! parsed arguments into a command's options. Nothing else in the crate imports this
//! module; the commands never see clap.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::exit;
use crate::host::config::{ServeRequest, parse_slot};
use crate::scenario::Shard;
use crate::target::TargetSpec;

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
  mynasim serve                              the default card in pcscd's virtual reader
  pkcs15-tool --dump                         ... then any PC/SC program sees it

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
    /// Put simulated cards in pcscd's virtual reader (vsmartcard vpcd) until stopped.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Put the card of a real PC/SC reader behind pcscd's virtual reader, recording the
    /// session (needs the `pcsc` feature).
    #[command(after_help = RELAY_HELP)]
    Relay(RelayArgs),
    /// Run a program with a simulated card in a PC/SC reader; exec exits with its status.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Remove or insert a card of a running `mynasim serve --control SOCKET`.
    #[command(after_help = CONTROL_HELP)]
    Control(ControlArgs),
    /// Turn a log (pcsc-spy, pcscd --apdu, OpenSC debug, a record, pasted hex) into a
    /// transcript.
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// Work with transcripts: `trace diff A B` aligns two by command.
    #[command(subcommand)]
    Trace(TraceCommand),
    /// The test PKI: export its trust anchors for programs and verifiers under test.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Answer OCSP and serve CRLs for the test PKI, as J-LIS's validation service does.
    #[command(after_help = VALIDATION_HELP)]
    Validation(ValidationArgs),
    /// Check a signature and its certificate as a relying party: chain, dates, signature,
    /// status by OCSP.
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Certify a reader (and the card in it): the portable scenarios and reader probes,
    /// with capabilities, timings and a verdict, as terminal text, JSON, JUnit and HTML
    /// (needs the `pcsc` feature).
    #[command(after_help = CERTIFY_HELP)]
    Certify(CertifyArgs),
    /// Print the JSON Schema of a file format.
    Schema {
        /// Which format.
        #[arg(value_enum)]
        format: SchemaFormat,
    },
    /// Render a run saved with `mynasim run --json` as an HTML page.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
}

const RUN_HELP: &str = "\
Each scenario file describes a card (a profile plus overrides) and steps with expectations,
or a program under test (`exec:`) and what it must do; docs/scenarios.md documents the
format and `mynasim schema scenario` prints its JSON Schema. Programs under test run with
the card in a pcscd of their own (pcscd and vsmartcard-vpcd needed; without them those
scenarios are n/a and say why).

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
  mynasim run --json run.json --html run.html   reports for tools and for people
  mynasim run --shard 2/4                       the 2nd quarter, for a CI matrix

Golden transcripts: when NAME.transcript sits beside a scenario file, a run on `sim`
compares what passed between the harness and the card with it (secrets masked), and a
difference fails the scenario. `--bless` writes those files instead (for files whose
scenarios all ran and passed); review the diff before committing.

Exit status: 0 all passed (n/a counts as passed), 1 a scenario failed, 2 a scenario or
profile is invalid, 3 the target could not be reached, 4 a report could not be written.";

/// `mynasim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (searched for *.yaml, skipping profiles/).
    #[arg(value_name = "PATH", default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Where to run: sim, vpcd or pcsc:READER.
    #[arg(long, short, default_value = "sim", value_name = "TARGET")]
    pub target: TargetSpec,
    /// Only scenarios whose path or name contains this text.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only scenarios with any of these tags (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Run shard K of N (scenarios are split round-robin in path order).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Write a JUnit XML report (one test case per scenario).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report with per-step timings and transcripts.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write an HTML report: the summary, each scenario with its decoded transcript
    /// (failures first), and the latency per command.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// For `--target vpcd`: pcscd's vpcd driver (the card connects there; slot 0 of Debian's
    /// driver is 127.0.0.1:35963).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// Parallel scenarios (default: the number of CPUs on `sim`, 1 elsewhere). On `vpcd`,
    /// each job has a slot of its own (port + J, reader `Virtual PCD 00 0J`): the reader
    /// needs that many slots (mynasim-ifd up to 16; Debian's driver 2). `pcsc:READER` drives
    /// one card at a time.
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
    /// Write NAME.transcript beside each scenario file (its golden transcript) instead of
    /// comparing with it; `sim` only.
    #[arg(long)]
    pub bless: bool,
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

With --reader NAME the APDUs go to a PC/SC reader (a real card, or `mynasim serve`'s
\"Virtual PCD 00 00\") instead: the card is used as it is (no power cycle) and the APDUs
go as one PC/SC transaction, so no other client's commands come between them.

Example (the reference's card check):
  mynasim card apdu 00A4040C0AD392F000260100000001 00A4020C020006 00B0000020
  mynasim card apdu --reader \"Virtual PCD 00 00\" 00A4040C0AD392F000260100000001")]
    Apdu(ApduArgs),
    /// List the PC/SC readers, with the card and ATR in each (needs the `pcsc` feature).
    Readers,
}

const SERVE_HELP: &str = "\
Each card is a TCP client of pcscd's vpcd driver (Debian package vsmartcard-vpcd), whose
reader.conf entry `CHANNELID 0x8C7B` listens on port 35963 (\"Virtual PCD 00 00\") and
35964 (\"Virtual PCD 00 01\"). mynasim connects to 127.0.0.1 unless --vpcd says otherwise,
slot N to PORT+N (Debian's driver has slots 0 and 1; more need a vpcd built with
--enable-vpcdslots). It waits and reconnects (with back-off, up to 2 s) while pcscd is not
there or restarts. Ctrl-C, SIGTERM or SIGHUP stops it cleanly (the control socket and the
ready file are removed).

Examples:
  mynasim serve                                   the default card in slot 0
  mynasim serve --profile scenarios/profiles/default.yaml -v     and log every APDU
  mynasim serve --slot 0=default --slot 1=minor.yaml             two cards
  mynasim serve --record session.jsonl            every exchange as it happens (PINs masked)
  mynasim serve --replay field.jsonl              a recording's answers, in order
  mynasim serve --config cards.yaml               slots from a file:
      version: 1
      vpcd: 127.0.0.1:35963            # optional
      control: /tmp/mynasim.sock       # optional
      slots:
        - { slot: 0, profile: default }
        - { slot: 1, profile: minor.yaml, state: minor.json }   # relative to the file

Removing and inserting cards while it runs (pcscd sees the removal when the card's
socket closes; removal powers the card off, its PIN counters stay):
  mynasim serve --control /tmp/mynasim.sock &
  mynasim control /tmp/mynasim.sock remove 0      (or: insert 0, status, remove all)
  kill -USR1 <pid>      remove every card;   kill -USR2 <pid>   insert every card

A card that remembers (like a real one): --state FILE keeps its secrets and retry counters
in FILE, written before each answer that depends on them leaves the card; a later serve with
the same FILE continues where it stopped (three wrong PINs stay blocked).

Waiting until the cards are there (no log parsing): --ready-file FILE appears once every
card has been seen by its reader, and `mynasim control SOCKET ready` answers `ok ready`:
  mynasim serve --ready-file /tmp/mynasim.ready &
  while [ ! -e /tmp/mynasim.ready ]; do sleep 0.05; done

Logs go to stderr: connections at info; -v adds one line per APDU (PINs and passwords
masked as **) and power changes; -vv adds pcscd's presence polls. MYNASIM_LOG=<filter>
overrides.";

const EXEC_HELP: &str = "\
exec starts a pcscd of its own with a vpcd reader on free ports (a mount namespace as root,
a user namespace as a normal user; where both are refused, on the machine's socket path,
one exec at a time; docs/ci.md), inserts the card into \"Virtual PCD 00 00\", waits until
PC/SC shows it, and runs CMD with PCSCLITE_CSOCK_NAME pointing at that pcscd (and
MYNASIM_READER naming the reader), so parallel execs never see each other and the system's
pcscd is untouched. --pcscd system uses the machine's pcscd and its vpcd slot (--vpcd)
instead. When CMD ends, exec stops everything it started. Ctrl-C, SIGTERM and SIGHUP are
passed to CMD. It needs pcscd; its reader driver is mynasim-ifd when libmynasim_ifd.so is
next to this program (a workspace build), else Debian's vsmartcard-vpcd
(MYNASIM_PCSCD_DRIVER=vpcd|mynasim chooses; ci/setup installs the Debian packages).

Examples:
  mynasim exec -- opensc-tool --list-readers
  mynasim exec --profile locked.yaml -- pytest tests/card
  mynasim exec --set pins.auth.tries_left=1 --transcript card.log -- ./my-app sign
  mynasim exec --state card.json -- ./my-app login      (the card remembers across runs)
  mynasim exec --fault '{on: compute_digital_signature, remove: {}}' -- ./my-app sign
  mynasim exec --timing realistic --json run.json -- ./my-app login
  mynasim exec --record run.jsonl -- ./my-app login     (a record: mynasim import jsonl)
  mynasim exec --remove-after 2 --reinsert-after 3 -- ./my-app wait-for-card
  mynasim exec --scenario app-scenarios/locked.yaml -- ./my-app login

To check how CMD behaved (what it sent, the card's state afterwards), write an app scenario
(`exec:` in a scenario file; docs/scenarios.md) and use `mynasim run`.

Exit status: CMD's own. exec's failures: 125 (card, profile, pcscd or reader; the reason is
printed), 126 (CMD cannot be executed), 127 (CMD not found), 128+N (CMD killed by signal N).";

const CONTROL_HELP: &str = "\
Commands: status | remove [N|all] | insert [N|all] (all slots when N is omitted) | ready
(`ok ready` once every inserted card has been seen by its reader).
The reply starts with `ok` (exit 0) or `error` (exit 2); an unreachable socket is exit 3.
The socket speaks one command per line, so `socat - UNIX-CONNECT:SOCKET` works too.";

const IMPORT_HELP: &str = "\
Formats, and how to capture each while the problem happens:
  pcsc-spy  pcsc-lite's spy (Debian libpcsclite-dev). Run `pcsc-spy -n > spy.log` in one
            terminal, then the program with LD_PRELOAD=libpcscspy.so.0; programs that
            dlopen libpcsclite.so.1 (OpenSC, pyscard) need libpcscspy.so.0 in its place
            (LD_LIBRARY_PATH to a folder where libpcsclite.so.1 is libpcscspy.so.0 and
            libpcsclite_nospy.so.1 the real one).
  pcscd     pcscd's own log: `pcscd --foreground --debug --apdu > pcscd.log 2>&1` (stop the
            system's pcscd first); syslog or journalctl lines read too.
  opensc    OpenSC's debug log: `OPENSC_DEBUG=9 pkcs15-tool --dump 2> opensc.log`, or
            `debug = 9; debug_file = /tmp/opensc.log;` in opensc.conf's `app default`.
  jsonl     a mynasim record (`mynasim serve --record`, `mynasim exec --record`).
  hex       `>> 00 A4 04 0C …` and `<< 90 00` lines, as pasted into issues.

The output is a mynasim record (JSON Lines, docs/traces.md) or, with --text, the `>>`/`<<`
transcript. PINs and passwords (VERIFY, CHANGE REFERENCE DATA, CHANGE KEY) are masked as
`**` unless --keep-secrets. The log is read one line at a time (lines up to 256 KiB), so a
log of any size imports in little memory; a line that is not of the format is an error
naming the file and the line.

Turning a trace into a regression test: --scenario OUT.yaml writes a host-side scenario
whose steps send the trace's commands and expect its answers (status word and data; by
length only where data is random by nature: challenges, signatures). A VERIFY of a known
key becomes `verify: { pin: \"${card.pin.auth}\" }` (auth, sign, text), so no secret is
written; other masked secrets need --keep-secrets. `mynasim run OUT.yaml` then replays it
on the simulator (docs/field-bugs.md).

Examples:
  mynasim import pcsc-spy spy.log --text
  mynasim import pcscd pcscd.log --scenario scenarios/traces/login.yaml
  mynasim import pcscd pcscd.log -o field.jsonl
  mynasim import jsonl record.jsonl --slot 1 --text
  pbpaste | mynasim import hex - --text

Exit status: 0 imported, 2 the log is unreadable or not of its format, 4 the output
cannot be written.";

/// `mynasim trace …`.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Two transcripts side by side, aligned by command, the first difference marked.
    #[command(after_help = "\
Each row is an exchange: `=` the same command and answer on both sides, `!` the same command
answered differently (both answers shown), `-` only in A, `+` only in B; `A  12 B  11` are
the exchange numbers on each side. Where the commands part, the side whose next command the
other sends soon after (within 64 exchanges) is taken as the one with extra exchanges.
Secrets are masked on both sides before comparing, so a masked record and a clear log align.
Power events and comments are not compared.

Either file may be a record (JSON Lines), the `>>`/`<<` text form (guessed from the first
line), or a tool's log with --format (pcsc-spy, pcscd, opensc, jsonl, hex).

Examples:
  mynasim trace diff my-card.jsonl their-card.jsonl
  mynasim trace diff --format pcscd mine.log theirs.log --only-differences

Exit status: 0 identical, 1 they differ, 2 a file is unreadable or not of its format.")]
    Diff(TraceDiffArgs),
}

/// `mynasim trace diff`.
#[derive(Debug, Args)]
pub struct TraceDiffArgs {
    /// The first transcript (the reference).
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The second transcript.
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// The files' format [default: a record if the first line is JSON, else the text form].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<mynasim_simulator::transcript::import::Format>,
    /// Print only the rows that differ, and the summary.
    #[arg(long)]
    pub only_differences: bool,
}

/// `mynasim import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The log's format: pcsc-spy, pcscd, opensc, jsonl or hex.
    #[arg(value_name = "FORMAT")]
    pub format: mynasim_simulator::transcript::import::Format,
    /// The log file, or `-` for standard input.
    #[arg(value_name = "LOG")]
    pub log: PathBuf,
    /// Write here instead of standard output (replaced only once the whole log imported).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the `>>`/`<<` text form instead of a JSON Lines record.
    #[arg(long)]
    pub text: bool,
    /// Keep PINs and passwords as the log has them (says so on stderr).
    #[arg(long)]
    pub keep_secrets: bool,
    /// For a record of several cards (jsonl): the slot to import.
    #[arg(long, value_name = "N")]
    pub slot: Option<u16>,
    /// Also write a host-side scenario: each exchange a step expecting the trace's answer
    /// (without -o, only the scenario is written).
    #[arg(long, value_name = "OUT.yaml")]
    pub scenario: Option<PathBuf>,
    /// The scenario's card: a profile name or file, as in `card.profile`.
    #[arg(
        long,
        default_value = "default",
        value_name = "NAME|FILE",
        requires = "scenario"
    )]
    pub profile: String,
}

const RELAY_HELP: &str = "\
A program talking to \"Virtual PCD 00 00\" (pcscd's vpcd reader, as for `mynasim serve`)
then talks to the card in READER: every command and answer passes through mynasim, and
--record FILE keeps the session (PINs masked unless --keep-secrets) for `mynasim import
jsonl`, `--scenario` and `serve --replay`. Power-on of the virtual card power-cycles the
real one; if the real card is removed, the virtual one leaves the reader too.

The real reader is reached through PC/SC (PCSCLITE_CSOCK_NAME chooses the pcscd), the
virtual reader through vpcd (--vpcd), so they may be two pcscds: the real reader on the
machine's, the virtual one on another (e.g. a container's).

Examples:
  mynasim relay --reader \"SCM Microsystems\" --record field.jsonl
  mynasim relay --reader \"Virtual PCD 00 00\" --vpcd 127.0.0.1:35965   (testing: a simulated
                                                                   card standing in)

Exit status: 0 stopped by a signal, 2 invalid arguments, 3 the reader or its card is not
there (or this mynasim was built without the `pcsc` feature: 2).";

/// `mynasim relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The real reader: its name or a part that names one reader (`mynasim card readers`).
    #[arg(long, value_name = "NAME")]
    pub reader: String,
    /// Where pcscd's vpcd listens for the virtual reader [default: 127.0.0.1:35963].
    #[arg(long, value_name = "HOST:PORT")]
    pub vpcd: Option<String>,
    /// Record the session in FILE (JSON Lines; PINs masked).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep PINs and passwords in the record (says so on stderr).
    #[arg(long, requires = "record")]
    pub keep_secrets: bool,
    /// Create FILE once the virtual reader has seen the card; removed on exit.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Inject a fault on the way (repeatable), one entry of a profile's `faults:` list:
    /// `--fault '{on: read_binary, times: 0, latency: {ms: 300}}'`. Applied outside the
    /// card: `tear` acts as `remove` (docs/faults.md).
    #[arg(long = "fault", value_name = "YAML")]
    pub faults: Vec<String>,
}

/// `mynasim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The card of slot 0: a YAML file, or a name under scenarios/profiles/ [default: the
    /// built-in default card].
    #[arg(short, long, value_name = "FILE|NAME", conflicts_with_all = ["slots", "config"])]
    pub profile: Option<String>,
    /// A card in slot N (repeat for more cards).
    #[arg(long = "slot", id = "slots", value_name = "N=FILE|NAME", value_parser = parse_slot)]
    pub slots: Vec<(u16, String)>,
    /// A YAML file listing the slots (format below).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where pcscd's vpcd listens for slot 0 [default: 127.0.0.1:35963].
    #[arg(long, value_name = "HOST:PORT")]
    pub vpcd: Option<String>,
    /// Accept remove/insert/status commands on this Unix socket.
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Exit with status 3 if some card has not reached its reader within SECONDS (0 to
    /// 86400) [default: wait for ever].
    #[arg(long, value_name = "SECONDS", value_parser = commands::serve::parse_wait)]
    pub wait: Option<Duration>,
    /// Create FILE once every card has been seen by its reader; it is removed on exit.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Keep the card's secrets and retry counters in FILE across runs (JSON, owner-only;
    /// created with the profile's state when missing). One card; with several, give each a
    /// `state:` in --config.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Serve the cards' validation service (OCSP, CRLs; docs/validation.md) on this
    /// loopback address too (127.0.0.1:35970 is where the certificates' OCSP URLs point).
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:35970")]
    pub validation: Option<std::net::SocketAddr>,
    /// Record every exchange and power event of every slot in FILE as it happens (JSON
    /// Lines with slot and timings; PINs masked). `mynasim import jsonl FILE --text` reads it.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep PINs and passwords in the record (says so on stderr).
    #[arg(long, requires = "record")]
    pub keep_secrets: bool,
    /// Answer from a recorded transcript (a record or the >>/<< text form) instead of the
    /// simulated card: each command must be the next recorded one, and gets its recorded
    /// answer. One card (slot 0).
    #[arg(long, value_name = "TRACE", conflicts_with_all = ["config", "state"])]
    pub replay: Option<PathBuf>,
    /// When a command differs from the recording: `fail` (the card leaves the reader; the
    /// log names the command, the recorded one and the nearest) or `simulate` (the profile's
    /// simulated card answers from then on).
    #[arg(long, value_name = "fail|simulate", default_value = "fail", value_parser = ["fail", "simulate"], requires = "replay")]
    pub on_divergence: String,
}

/// `mynasim exec`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("records").multiple(true)))]
pub struct ExecArgs {
    /// The card: a YAML file, or a name under scenarios/profiles/ (the default card is
    /// built in).
    #[arg(short, long, default_value = "default", value_name = "FILE|NAME")]
    pub profile: String,
    /// Use the card of this scenario file (its profile and `card.set`, faults and timing
    /// included); `FILE#N` picks the Nth scenario of a list.
    #[arg(long, value_name = "FILE[#N]", conflicts_with = "profile")]
    pub scenario: Option<String>,
    /// Override a profile field (repeatable), as `card.set` does in scenarios:
    /// `pins.auth.tries_left=0`, `today=2031-01-01`, `quirks.blocked_key_6983=true`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Inject a fault (repeatable), written as one entry of a profile's `faults:` list:
    /// '{on: verify 00 80 ?? .., tear: {}}', '{on: compute_digital_signature,
    /// latency: {ms: 900}}', '{after_apdus: 20, remove: {reinsert_after: 2}}'. Added after
    /// the profile's own faults (docs/faults.md).
    #[arg(long = "fault", value_name = "YAML")]
    pub faults: Vec<String>,
    /// Pull the card out of the reader SECONDS after the program starts (whatever it is
    /// doing), as a user does.
    #[arg(long, value_name = "SECONDS", value_parser = commands::serve::parse_wait)]
    pub remove_after: Option<Duration>,
    /// With --remove-after: put it back SECONDS later [default: leave it out].
    #[arg(long, value_name = "SECONDS", value_parser = commands::serve::parse_wait, requires = "remove_after")]
    pub reinsert_after: Option<Duration>,
    /// `realistic`: answers take as long as a real card's would (the link's bit rate and
    /// framing, the card's computation; docs/timing.md). Same as --set timing.mode=realistic.
    #[arg(long, value_name = "MODE", value_parser = ["fast", "realistic"])]
    pub timing: Option<String>,
    /// Keep the card's secrets and retry counters in FILE across runs.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the APDU transcript of everything CMD sent to FILE (PINs masked).
    #[arg(long, value_name = "FILE", group = "records")]
    pub transcript: Option<PathBuf>,
    /// Write a JSON record to FILE: the command, how it ended, its stdout and stderr (then
    /// piped through mynasim, not a terminal), timings and every exchange (PINs masked).
    #[arg(long, value_name = "FILE", group = "records")]
    pub json: Option<PathBuf>,
    /// Show PINs in the transcript and the JSON record.
    #[arg(long, requires = "records")]
    pub no_redact: bool,
    /// Record every exchange and power event in FILE as it happens (JSON Lines with
    /// timings; PINs masked), even if CMD hangs or is killed.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Keep PINs and passwords in the record (says so on stderr).
    #[arg(long, requires = "record")]
    pub keep_secrets: bool,
    /// `private` (a pcscd of exec's own) or `system` (the machine's pcscd).
    #[arg(long, default_value = "private", value_parser = ["private", "system"])]
    pub pcscd: String,
    /// With `--pcscd system`: where its vpcd listens for slot 0.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:35963")]
    pub vpcd: String,
    /// How long the card may take to appear in the reader (seconds).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = commands::serve::parse_wait)]
    pub wait: Duration,
    /// Start the card's validation service (OCSP, CRLs; docs/validation.md) on this
    /// loopback address for CMD, its URL in MYNASIM_VALIDATION_URL (127.0.0.1:35970 is
    /// where the certificates' OCSP URLs point; port 0 picks a free one).
    #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:35970")]
    pub validation: Option<std::net::SocketAddr>,
    /// Answer from a recorded trace instead of the simulated card (a `--record` file, an
    /// import's JSON Lines, or the >>/<< text form): the program sees the recorded card's
    /// bytes; a command that differs is reported on stderr.
    #[arg(long, value_name = "TRACE", conflicts_with = "state")]
    pub replay: Option<PathBuf>,
    /// With --replay, when a command differs from the recording: `fail` (the card leaves
    /// the reader) or `simulate` (the profile's card answers from then on).
    #[arg(long = "on-divergence", value_name = "fail|simulate", default_value = "fail", value_parser = ["fail", "simulate"], requires = "replay")]
    pub replay_on_divergence: String,
    /// The program and its arguments, after `--`.
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// `mynasim control`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The `--control` socket of a running `mynasim serve`.
    #[arg(value_name = "SOCKET")]
    pub socket: PathBuf,
    /// The command: status | remove [N|all] | insert [N|all].
    #[arg(required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
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
    /// Send the APDUs to this PC/SC reader instead of a simulated card: its exact name, or
    /// a part that names one reader (`mynasim card readers` lists them; needs the `pcsc`
    /// feature).
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub reader: Option<String>,
    /// In the transcript, show PINs instead of `**`.
    #[arg(long, requires = "transcript")]
    pub no_redact: bool,
    /// Command APDUs in hex, or `-` for standard input.
    #[arg(required = true, value_name = "HEX")]
    pub apdus: Vec<String>,
}

const VALIDATION_HELP: &str = "\
A relying party checks a My Number Card certificate with J-LIS: OCSP (same day) or the
daily CRL of the holder's municipality. This is a TEST stand-in for that service on
loopback: it knows the certificates of the given profiles' cards, with the statuses their
profiles give (`certificates.auth.status: suspended` is on hold), and its clock is the first
profile's `today` at noon, Japan time. docs/validation.md explains the certificate life
(hold, revocation, the CRL lag) and the URLs.

Examples:
  mynasim validation                                     the default card, 127.0.0.1:35970
  openssl ocsp -issuer auth-ca.pem -cert auth.pem -url http://127.0.0.1:35970/ocsp \\
               -VAfile auth-responder.pem -resp_text
  curl -s http://127.0.0.1:35970/crl/index.json           which CRL serves which partition
  curl -s http://127.0.0.1:35970/crl/auth/Tokyo-to/Chiyoda-ku.pem | openssl crl -text

The certificates' OCSP URLs point at http://127.0.0.1:35970/ (the profile's
`certificates.base_url`), so the default address needs no configuration.";

const VERIFY_HELP: &str = "\
What a server that accepts My Number Card signatures checks, in the documented order: the
certificate is issued by the (TEST) CA, it is within its dates at --at (default: now;
expired is reported before revoked), the PKCS#1 v1.5 signature verifies over the data, and
the validation service says `good` by OCSP (--url; without it the status is not checked).

Example (a signature made with the simulated card's authentication key):
  mynasim validation &
  mynasim verify --certificate auth.pem --signature sig.bin --data message.txt \\
                 --url http://127.0.0.1:35970/ --at 2026-11-25

Exit status: 0 accepted, 1 refused (bad signature, not the TEST CA, expired, revoked, on
hold, unknown), 2 unreadable input, 3 the validation service gave no answer.";

/// `mynasim verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signer's certificate (PEM or DER), with --signature.
    #[arg(
        long,
        value_name = "FILE",
        requires = "signature",
        conflicts_with = "cms"
    )]
    pub certificate: Option<PathBuf>,
    /// A raw PKCS#1 v1.5 signature: bytes, or hex or base64 text (with --certificate).
    #[arg(
        long,
        value_name = "FILE",
        requires = "certificate",
        conflicts_with = "cms"
    )]
    pub signature: Option<PathBuf>,
    /// A CMS / PKCS #7 SignedData (DER or PEM) carrying the signer's certificate: detached
    /// (give --data) or with its content.
    #[arg(long, value_name = "FILE", required_unless_present = "certificate")]
    pub cms: Option<PathBuf>,
    /// The data that was signed.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The digest of the PKCS#1 v1.5 signature.
    #[arg(long, value_enum, default_value = "sha256")]
    pub digest: VerifyDigest,
    /// The validation service's base URL (e.g. http://127.0.0.1:35970/).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Check the dates at this day (YYYY-MM-DD, noon Japan time) or instant (RFC 3339)
    /// instead of now.
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    pub at: Option<jiff::Timestamp>,
}

/// Digests for `verify --digest`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyDigest {
    /// SHA-256.
    Sha256,
    /// SHA-1.
    Sha1,
}

fn parse_when(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| format!("`{text}` is neither YYYY-MM-DD nor an RFC 3339 instant"))?;
    jiff::tz::offset(9)
        .to_timestamp(date.at(12, 0, 0, 0))
        .map_err(|e| e.to_string())
}

/// `mynasim validation`.
#[derive(Debug, Args)]
pub struct ValidationArgs {
    /// Where to listen (loopback unless --public).
    #[arg(long, value_name = "ADDR:PORT", default_value = commands::validation::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Allow an address that is not loopback.
    #[arg(long)]
    pub public: bool,
    /// Profiles whose cards' certificates the service knows (names under
    /// scenarios/profiles/, or files); repeat for several.
    #[arg(long, short, value_name = "FILE|NAME", default_value = "default")]
    pub profile: Vec<String>,
    /// Answer control commands on this Unix socket (`mynasim control SOCKET lose_card`):
    /// status, lose_card [N], find_card [N], move_house [N], hold/release/revoke SERIAL,
    /// advance 1d, fault …
    #[arg(long, value_name = "SOCKET")]
    pub control: Option<PathBuf>,
}

/// `mynasim pki`.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Write the TEST trust anchors into DIR: the JPKI test CA certificates and the CV CA
    /// public keys (PEM and DER) and a bundle of the two CA certificates for OpenSSL.
    #[command(after_help = "\
Configure a verifier to trust the simulated cards (docs/trust.md):
  openssl verify -CAfile DIR/jpki-test-ca-bundle.pem cert.pem
  certutil -d sql:NSSDB -A -n 'mynasim TEST auth CA' -t C,, -i DIR/jpki-auth-ca.pem
  keytool -importcert -noprompt -alias mynasim-test-auth-ca -file DIR/jpki-auth-ca.der \\
          -keystore truststore.p12 -storetype PKCS12 -storepass changeit
Every key is public: trust these in tests only.")]
    Export {
        /// The folder (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

const CERTIFY_HELP: &str = "\
Runs every certification case against the card in READER — a real My Number Card in a
vendor's reader, or a simulated card (`mynasim serve`) behind pcscd — and reports, per case
(a stable ID such as MNC-7816-4-SELECT-01, the clause it checks, must/should/may), the
steps with expected and observed answers, and pass / fail / not applicable / skipped; the
reader's declared capabilities (vendor, model, firmware, IFD version, ATR, protocol,
extended-length support, maximum APDU sizes, PIN pad); the time of every exchange by
instruction (count, median, p95, p99, max) and of the typical flows; the environment; the
masked transcripts; and an overall verdict. docs/certification.md explains every column.

Safety on a real card: by default only read-only cases and PIN retry queries run (no try
is ever spent). --allow-pin-use also runs the cases that present your PIN and sign; a
wrong PIN costs a try, so give the right one. --allow-destructive (wrong PINs, PIN changes,
instructions not known to be harmless) runs only on a simulated card: one identified as
mynasim's by its TEST CA certificate, or one you declare with --simulated. Skipped cases
are listed with the reason. PINs come from --pin-env NAME=VAR, --pin-file NAME=FILE or
--pin NAME=VALUE (NAME: auth, sign, text, resident, common); they never appear in logs,
transcripts or reports.

Every PC/SC call has a time-out (--step-timeout): a reader that stops answering ends its
case \"timed out\" and the rest \"not run\", and the report is still written; an absent
reader gives a report that says so.

Examples:
  mynasim certify \"ACS ACR39U ICC Reader 00 00\" --html report.html --json report.json
  MYNA_PIN=1234 mynasim certify ACR39U --allow-pin-use --pin-env auth=MYNA_PIN \\
      --pin-file sign=./sign-password.txt --junit certify.xml
  mynasim certify \"Virtual PCD 00 00\" --simulated --allow-pin-use --allow-destructive
  mynasim certify \"Virtual PCD 00 00\" --only MNC-FLOW --flow-runs 20

Exit status: 0 the verdict is pass, 1 a must-case failed, 2 an argument or secret is
invalid, 3 the reader was not found, hung, or the card left (the report says which), 4 a
report could not be written.";

/// `mynasim certify`.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// The reader: its name, or a unique part of it (`mynasim card readers` lists them).
    #[arg(value_name = "READER", required_unless_present = "reader_option")]
    pub reader: Option<String>,
    /// The reader, as an option (`--reader NAME`, as `relay` and `card apdu` take it).
    #[arg(
        long = "reader",
        id = "reader_option",
        value_name = "NAME",
        conflicts_with = "reader"
    )]
    pub reader_option: Option<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the JUnit XML report here (one test case per case ID).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the HTML report here (one self-contained page; prints well).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Run the cases that present the holder's PIN or sign (a wrong PIN costs a try).
    #[arg(long)]
    pub allow_pin_use: bool,
    /// Also run destructive cases (wrong PINs, PIN changes): simulated cards only.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Declare the card simulated (or a test card that may be spent).
    #[arg(long)]
    pub simulated: bool,
    /// A PIN from an environment variable: NAME=VAR (NAME: auth, sign, text, resident,
    /// common).
    #[arg(long, value_name = "NAME=VAR")]
    pub pin_env: Vec<String>,
    /// A PIN from the first line of a file: NAME=FILE.
    #[arg(long, value_name = "NAME=FILE")]
    pub pin_file: Vec<String>,
    /// A PIN on the command line: NAME=VALUE (other users can see it; prefer --pin-env).
    #[arg(long, value_name = "NAME=VALUE")]
    pub pin: Vec<String>,
    /// The longest one PC/SC call may take (seconds, or with a unit: 500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_step_timeout)]
    pub step_timeout: Duration,
    /// How many times each flow (card check, certificate read, signature) runs for timing.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub flow_runs: u16,
    /// Only the cases whose ID contains this text (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub only: Vec<String>,
    /// Print only the verdict line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--step-timeout`: a number of seconds, or a number with `ms`, `s` or `m`.
fn parse_step_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        format!("`{text}` is not a duration: write 2s, 500ms, 1m or a number of seconds")
    })?;
    let seconds = value * scale;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err(format!(
            "`{text}`: a step time-out is above 0 and at most 1 hour"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `NAME=REST` of a secret option.
fn secret_pair(option: &str, text: &str) -> Result<(String, String), exit::Error> {
    match text.split_once('=') {
        Some((name, rest)) if !name.is_empty() && !rest.is_empty() => {
            Ok((name.to_owned(), rest.to_owned()))
        }
        _ => Err(exit::Error::invalid(anyhow::anyhow!(
            "{option} takes NAME=…, with NAME one of auth, sign, text, resident, common"
        ))),
    }
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
    let quiet_default = if matches!(cli.command, Command::Serve(_) | Command::Relay(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.verbose, quiet_default);
    exit::finish(run(cli))
}

fn init_logging(verbose: u8, quiet_default: &str) {
    let default = match verbose {
        0 => quiet_default,
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MYNASIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line: each subcommand's arguments become its options.
pub fn run(cli: Cli) -> Result<(), exit::Error> {
    match cli.command {
        Command::Run(a) => commands::run::run(&commands::run::Options {
            paths: a.paths,
            target: a.target,
            filter: a.filter,
            tags: a.tags,
            shard: a.shard,
            junit: a.junit,
            json: a.json,
            html: a.html,
            vpcd: a.vpcd,
            jobs: a.jobs,
            reveal: a.no_redact,
            list: a.list,
            quiet: a.quiet,
            bless: a.bless,
        }),
        Command::Card(CardCommand::Show(a)) => {
            commands::card::show::run(&commands::card::show::Options {
                profile: a.profile.profile,
                json: a.json,
                export: a.export,
                reveal: a.reveal_secrets,
            })
        }
        Command::Card(CardCommand::Apdu(a)) => {
            commands::card::apdu::run(&commands::card::apdu::Options {
                profile: a.profile.profile,
                reader: a.reader,
                transcript: a.transcript,
                reveal: a.no_redact,
                apdus: a.apdus,
            })
        }
        Command::Card(CardCommand::Readers) => commands::card::readers(),
        Command::Serve(a) => commands::serve::run(&commands::serve::Options {
            request: ServeRequest {
                profile: a.profile,
                slots: a.slots,
                config: a.config,
                vpcd: a.vpcd,
                control: a.control,
                state: a.state,
            },
            wait: a.wait,
            ready_file: a.ready_file,
            record: a.record,
            keep_secrets: a.keep_secrets,
            relay: None,
            relay_faults: Vec::new(),
            validation: a.validation,
            replay: a.replay,
            on_divergence: if a.on_divergence == "simulate" {
                mynasim_simulator::replay::OnDivergence::Simulate
            } else {
                mynasim_simulator::replay::OnDivergence::Fail
            },
        }),
        Command::Relay(a) => commands::serve::run(&commands::serve::Options {
            request: ServeRequest {
                vpcd: a.vpcd,
                ..ServeRequest::default()
            },
            wait: None,
            ready_file: a.ready_file,
            record: a.record,
            keep_secrets: a.keep_secrets,
            replay: None,
            on_divergence: mynasim_simulator::replay::OnDivergence::Fail,
            relay: Some(a.reader),
            relay_faults: a.faults,
            validation: None,
        }),
        Command::Exec(a) => {
            let code = commands::exec::run(&commands::exec::Options {
                profile: a.profile,
                scenario: a.scenario,
                sets: a
                    .sets
                    .into_iter()
                    .chain(a.timing.map(|t| format!("timing.mode={t}")))
                    .collect(),
                faults: a.faults,
                removal: a.remove_after.map(|at| (at, a.reinsert_after)),
                state: a.state,
                transcript: a.transcript,
                json: a.json,
                reveal: a.no_redact,
                record: a.record,
                keep_secrets: a.keep_secrets,
                pcscd: if a.pcscd == "system" {
                    commands::exec::Pcscd::System(a.vpcd)
                } else {
                    commands::exec::Pcscd::Private
                },
                wait: a.wait,
                validation: a.validation,
                replay: a.replay.map(|p| {
                    (
                        p,
                        if a.replay_on_divergence == "simulate" {
                            mynasim_simulator::replay::OnDivergence::Simulate
                        } else {
                            mynasim_simulator::replay::OnDivergence::Fail
                        },
                    )
                }),
                command: a.command,
            })?;
            match code {
                0 => Ok(()),
                code => Err(exit::Error::Program(code)),
            }
        }
        Command::Control(a) => commands::control::run(&commands::control::Options {
            socket: a.socket,
            command: a.command,
        }),
        Command::Import(a) => commands::import::run(&commands::import::Options {
            format: a.format,
            log: a.log,
            output: a.output,
            text: a.text,
            keep_secrets: a.keep_secrets,
            slot: a.slot,
            scenario: a.scenario,
            profile: a.profile,
        }),
        Command::Trace(TraceCommand::Diff(a)) => commands::trace::diff(&commands::trace::Options {
            a: a.a,
            b: a.b,
            format: a.format,
            only_differences: a.only_differences,
        }),
        Command::Pki(PkiCommand::Export { dir }) => commands::pki::export(&dir),
        Command::Certify(a) => {
            use commands::certify::SecretSource;
            let mut secrets = Vec::new();
            for text in &a.pin_env {
                let (name, var) = secret_pair("--pin-env", text)?;
                secrets.push((name, SecretSource::Env(var)));
            }
            for text in &a.pin_file {
                let (name, file) = secret_pair("--pin-file", text)?;
                secrets.push((name, SecretSource::File(PathBuf::from(file))));
            }
            for text in &a.pin {
                let (name, value) = secret_pair("--pin", text)?;
                secrets.push((name, SecretSource::Value(value)));
            }
            commands::certify::run(&commands::certify::Options {
                reader: a.reader.or(a.reader_option).unwrap_or_default(),
                secrets,
                permissions: crate::certify::Permissions {
                    simulated: a.simulated,
                    allow_pin_use: a.allow_pin_use,
                    allow_destructive: a.allow_destructive,
                },
                step_timeout: a.step_timeout,
                flow_runs: usize::from(a.flow_runs),
                only: a.only,
                json: a.json,
                junit: a.junit,
                html: a.html,
                quiet: a.quiet,
            })
        }
        Command::Verify(a) => commands::verify::run(&commands::verify::Options {
            input: match (a.cms, a.certificate, a.signature) {
                (Some(cms), _, _) => commands::verify::Input::Cms(cms),
                (None, Some(certificate), Some(signature)) => commands::verify::Input::Raw {
                    certificate,
                    signature,
                },
                _ => {
                    return Err(exit::Error::invalid(anyhow::anyhow!(
                        "give --cms FILE, or --certificate FILE and --signature FILE"
                    )));
                }
            },
            data: a.data,
            digest: match a.digest {
                VerifyDigest::Sha256 => commands::verify::Digest::Sha256,
                VerifyDigest::Sha1 => commands::verify::Digest::Sha1,
            },
            url: a.url,
            at: a.at,
        }),
        Command::Validation(a) => commands::validation::run(&commands::validation::Options {
            listen: a.listen,
            public: a.public,
            profiles: a.profile,
            control: a.control,
        }),
        Command::Schema { format } => commands::schema::run(match format {
            SchemaFormat::Profile => commands::schema::Format::Profile,
            SchemaFormat::Scenario => commands::schema::Format::Scenario,
        }),
        Command::Report(a) => commands::report::run(&commands::report::Options {
            input: a.input,
            html: a.html,
        }),
    }
}

const REPORT_HELP: &str = "\
The page is the one `mynasim run --html` writes: the summary, every scenario (those that
did not pass first) with its steps and decoded transcript, and the latency per command as
a chart and a table. It is one self-contained file (no script, no network), and prints.
PINs and passwords stay masked unless the run had --no-redact. docs/reports.md describes
every report and the JSON fields.

Examples:
  mynasim run --json run.json            a run, kept as JSON (say, a CI artefact)
  mynasim report run.json --html run.html
  chromium run.html                      ... or any browser; or print it to PDF

Exit status: 0 the page was written (whatever the run's result), 2 the input is not a
mynasim JSON run report of version 1 (the error names the file, line and column), 4 the
page could not be written.";

/// `mynasim report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The JSON report (`mynasim run --json FILE`).
    #[arg(value_name = "RUN.json")]
    pub input: PathBuf,
    /// Write the HTML page here (replaced whole, never half-written).
    #[arg(long, value_name = "OUT.html", required = true)]
    pub html: PathBuf,
}
