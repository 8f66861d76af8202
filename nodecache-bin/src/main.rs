//! `nodecache`: node-local DNS cache daemon and resolver diagnostics.
//!
//! `main` only parses the command line and hands over to the command; each command returns
//! its exit code (SPEC §3: 0 success, 2 name does not resolve, 1 other errors, 64 usage).
#![forbid(unsafe_code)]

mod cli;
mod explain;
mod resolve;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are not errors.
            let code = if error.use_stderr() {
                cli::EXIT_USAGE
            } else {
                0
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        cli::Command::Resolve(args) => resolve::run(&args),
        cli::Command::Explain(args) => explain::run(&args),
        cli::Command::Serve(args) => serve::run(&args),
    };
    ExitCode::from(code)
}
