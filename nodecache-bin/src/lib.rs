//! The `nodecache` command's code as a library, so that the fuzz targets (`fuzz/` at the
//! workspace root) can reach the daemon's packet path. Nothing here is a public API: the
//! binary calls [`main`], the fuzzers call [`fuzzing`], the criterion benches [`bench`]; every other item is crate-private.
//!
//! `main` only parses the command line and hands over to the command; each command returns
//! its exit code (SPEC §3: 0 success, 2 name does not resolve, 1 other errors, 64 usage).
#![forbid(unsafe_code)]

mod cli;
mod explain;
mod resolve;
mod serve;

#[doc(hidden)]
pub mod bench;
#[doc(hidden)]
pub mod fuzzing;

use std::process::ExitCode;

use clap::Parser;

/// The `nodecache` command: parses `std::env::args` and runs the command it names.
#[doc(hidden)]
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are not errors.
            if !error.use_stderr() {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            // SPEC §3: a bad flag is one line naming the problem (clap's usage block and
            // "For more information" lines would make it several).
            eprintln!("nodecache: {}", one_line(&error.render().to_string()));
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    let code = match cli.command {
        cli::Command::Resolve(args) => resolve::run(&args),
        cli::Command::Explain(args) => explain::run(&args),
        cli::Command::Serve(args) => serve::run(&args),
    };
    ExitCode::from(code)
}

/// Clap's message on one line: its error and tip lines joined, the usage block dropped.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty())
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("; ")
}
