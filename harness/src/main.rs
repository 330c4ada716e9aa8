//! `mynasim`: the command line of the My Number Card simulator and test harness.

fn main() -> std::process::ExitCode {
    mynasim_harness::cli::main()
}
