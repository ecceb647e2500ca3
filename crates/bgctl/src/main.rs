//! `bgctl`, the breakglass command-line client.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod manifest;
mod validate;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(name = "bgctl", version, about = "Command-line client for breakglass")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; each lives in its own module, which also holds its help text.
#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )
        .map(|s| s.exit_code()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
