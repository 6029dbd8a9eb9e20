//! `completions <shell>`: prints a completion script generated from the clap definition,
//! so completions can never drift from the real flags.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::outcome::Outcome;

pub fn run(args: CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "tracecraft", &mut out);
    Ok(Outcome::Success)
}
