//! The binary: parse, run on a current-thread runtime, map the result to an exit code, and
//! with `-v` end with the store requests the command made.

use clap::Parser;

use tracecraft::cli::Cli;
use tracecraft::outcome::{EXIT_ERROR, report};
use tracecraft::output::Printer;
use tracecraft::store::counting::Tally;

fn main() {
    let cli = Cli::parse();
    let printer = Printer {
        json: cli.json,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(format!("cannot start the async runtime: {e}"), None);
            std::process::exit(EXIT_ERROR);
        }
    };
    let code = match runtime.block_on(tracecraft::commands::run(cli, &printer)) {
        Ok(outcome) => outcome.code(),
        Err(err) => report(&printer, &err),
    };
    // The last line with `-v`, whatever the command and however it ended.
    printer.debug(Tally::process().snapshot().line());
    // Dropping the runtime would wait for idle connection tasks; the process is done.
    std::mem::forget(runtime);
    std::process::exit(code);
}
