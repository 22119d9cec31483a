//! Asking before a change: Terraform's and Pulumi's convention. `--yes` answers for scripts; a
//! run nobody can answer (stdin is not a terminal) refuses instead of guessing.

use std::io::{BufRead, IsTerminal, Write};

use crate::commands::CommandError;

/// Whether to go on: true with `yes`, else the answer to `question [y/N]` on the terminal.
/// Without a terminal and without `yes`, an error naming `--yes`.
pub fn confirm(yes: bool, question: &str) -> Result<bool, CommandError> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CommandError::Flag {
            flag: "--yes",
            message:
                "stdin is not a terminal, so nobody can confirm the change; pass --yes to apply it"
                    .to_string(),
        });
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
