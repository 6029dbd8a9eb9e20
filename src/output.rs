//! The one printer: results on stdout (human text or one JSON object), everything else
//! (progress, warnings, hints, errors) on stderr. A reader that closes stdout early is not
//! an error, so broken pipes are swallowed here rather than panicking in `println!`.
//!
//! [`capture`] runs a command with both streams collected instead of written: how the MCP
//! server and the harness hooks run the very same command code and keep stdout for their
//! own protocol.

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

/// What a command printed while [`capture`]d, line by line.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Captured {
    /// The last line on stdout that is a JSON object: the command's `--json` result (or
    /// its refusal).
    /// Every JSON object printed, in order: the records of a JSON Lines command (`log`).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(serde_json::Value::is_object)
            .collect()
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        self.stdout
            .iter()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(serde_json::Value::is_object)
    }

    /// The `Error:` lines (with their hints), joined: the text of a refusal or failure.
    pub fn error_text(&self) -> String {
        let mut lines = self
            .stderr
            .iter()
            .skip_while(|l| !l.starts_with("Error: "))
            .map(String::as_str);
        let first = lines.next().map(|l| l.trim_start_matches("Error: "));
        first
            .into_iter()
            .chain(lines)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

tokio::task_local! {
    static CAPTURE: std::cell::RefCell<Captured>;
}

/// Runs `fut` with everything the printer writes (in this task) collected instead.
pub async fn capture<F: std::future::Future>(fut: F) -> (F::Output, Captured) {
    CAPTURE
        .scope(std::cell::RefCell::new(Captured::default()), async {
            let output = fut.await;
            (output, CAPTURE.with(|c| c.take()))
        })
        .await
}

fn captured(line: &str, stdout: bool) -> bool {
    CAPTURE
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let lines = if stdout { &mut c.stdout } else { &mut c.stderr };
            lines.push(line.to_string());
        })
        .is_ok()
}

fn out(line: &str) {
    if captured(line, true) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|_| stdout.flush());
}

fn err(line: &str) {
    if captured(line, false) {
        return;
    }
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
