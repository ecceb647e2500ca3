//! `bgctl completion SHELL`: prints a completion script for the shell.

use clap::CommandFactory as _;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the script; returns the exit code.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    write(args.shell, &mut out);
    Ok(0)
}

fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(shell, &mut cmd, "bgctl", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_that_completes_bgctl_and_its_commands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            write(shell, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("bgctl"), "{shell}: {text}");
            // Subcommands are in the script, not just the program name.
            assert!(text.contains("set-context"), "{shell}");
            assert!(text.contains("login"), "{shell}");
        }
    }
}
