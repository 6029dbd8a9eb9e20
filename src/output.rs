//! The one printer: results on stdout (human text or one JSON object), everything else
//! (progress, warnings, hints, errors) on stderr. A reader that closes stdout early is not
//! an error, so broken pipes are swallowed here rather than panicking in `println!`.

use std::fmt::Display;
use std::io::Write;

#[derive(Clone, Copy, Debug, Default)]
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Printer {
    /// Prints a command's result: `human` as text, or `json` as one compact JSON line.
    pub fn result(&self, human: impl Display, json: &serde_json::Value) {
        if self.json {
            out(&json.to_string());
        } else {
            out(&human.to_string());
        }
    }

    /// Progress and context for humans; silent with `-q` or `--json`.
    pub fn info(&self, msg: impl Display) {
        if !self.quiet && !self.json {
            err(&msg.to_string());
        }
    }

    /// Detail shown only with `-v`.
    pub fn debug(&self, msg: impl Display) {
        if self.verbose {
            err(&msg.to_string());
        }
    }

    /// Always shown on stderr, also with `--json` (stdout stays machine-readable).
    pub fn warn(&self, msg: impl Display) {
        if !self.quiet {
            err(&format!("Warning: {msg}"));
        }
    }

    /// An expected refusal (a held claim, a timeout): the `Error:` line on stderr, and with
    /// `--json` the machine-readable outcome on stdout as well.
    pub fn refusal(&self, msg: impl Display, hint: Option<&str>, json: &serde_json::Value) {
        self.error(msg, hint);
        if self.json {
            out(&json.to_string());
        }
    }

    pub fn error(&self, msg: impl Display, hint: Option<&str>) {
        err(&format!("Error: {msg}"));
        if let Some(hint) = hint {
            err(&format!("Hint: {hint}"));
        }
    }
}

fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|_| stdout.flush());
}

fn err(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
