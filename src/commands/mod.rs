//! One file per command; this file only dispatches.

use crate::cli::{Cli, Command};
use crate::outcome::Outcome;
use crate::output::Printer;

pub mod init;

pub async fn run(cli: Cli, printer: &Printer) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Init(args) => init::run(args, printer).await,
    }
}
