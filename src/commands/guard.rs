//! `guard check [PATH...] [--staged]`, `guard install [--pre-push]`, `guard uninstall`:
//! refuse (exit 3) changes to paths inside another agent's exclusive reservation, naming
//! path, holder, pattern, time left and reason, and manage the git hook that runs the
//! check. In the hook (`--hook`), `TRACECRAFT_GUARD=warn` never blocks, and a config or
//! store that cannot be reached lets the commit through with a warning unless
//! `TRACECRAFT_GUARD=strict`. The git side is in `guard.rs`.

use std::io::Read;

use anyhow::Context;
use serde_json::json;

use super::reservations::{blocker_json, blocker_line};
use crate::app::App;
use crate::cli::GuardCommand;
use crate::guard::{self, Hook};
use crate::outcome::Outcome;
use crate::output::Printer;
use crate::reservations::{Blocker, Reservations};

/// `TRACECRAFT_GUARD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Normal,
    Warn,
    Strict,
}

fn mode(printer: &Printer) -> Mode {
    match std::env::var("TRACECRAFT_GUARD").as_deref().map(str::trim) {
        Ok("warn") => Mode::Warn,
        Ok("strict") => Mode::Strict,
        Ok("") | Err(_) => Mode::Normal,
        Ok(other) => {
            printer.warn(format!(
                "TRACECRAFT_GUARD={other} is not warn or strict; checking normally"
            ));
            Mode::Normal
        }
    }
}

pub async fn dispatch(cmd: GuardCommand, printer: &Printer) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir()?;
    match cmd {
        GuardCommand::Install { pre_push } => {
            let exe = std::env::current_exe().context("cannot find this program's path")?;
            let mut hooks = vec![Hook::PreCommit];
            if pre_push {
                hooks.push(Hook::PrePush);
            }
            let mut lines = Vec::new();
            let mut rows = Vec::new();
            for hook in hooks {
                let done = guard::install(&cwd, hook, &exe)
                    .with_context(|| format!("cannot install the {} hook", hook.name()))?;
                let verb = if done.updated { "Updated" } else { "Installed" };
                let mut line =
                    format!("{verb} the {} hook at {}", hook.name(), done.path.display());
                if let Some(c) = &done.chained {
                    line.push_str(&format!(" (it runs {} first)", c.display()));
                }
                lines.push(line);
                rows.push(json!({
                    "hook": hook.name(),
                    "path": done.path,
                    "chained": done.chained,
                    "updated": done.updated,
                }));
            }
            printer.result(lines.join("\n"), &json!({"installed": rows}));
            Ok(Outcome::Success)
        }
        GuardCommand::Uninstall => {
            let removed = guard::uninstall(&cwd).context("cannot remove the guard's hooks")?;
            let human = if removed.is_empty() {
                "No guard hook installed.".to_string()
            } else {
                removed
                    .iter()
                    .map(|p| format!("Removed {}", p.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            printer.result(human, &json!({"removed": removed}));
            Ok(Outcome::Success)
        }
        GuardCommand::Check {
            paths,
            staged,
            pushed,
            hook,
        } => {
            let mut checked: Vec<String> = paths
                .iter()
                .map(|p| guard::repo_relative(&cwd, p))
                .collect();
            if staged {
                checked.extend(guard::staged_paths(&cwd).context("cannot read the staged paths")?);
            }
            if pushed {
                let mut input = String::new();
                std::io::stdin().read_to_string(&mut input)?;
                checked.extend(
                    guard::pushed_paths(&cwd, &input).context("cannot read the pushed commits")?,
                );
            }
            checked.sort();
            checked.dedup();
            check(printer, &checked, hook).await
        }
    }
}

async fn check(printer: &Printer, paths: &[String], hook: bool) -> anyhow::Result<Outcome> {
    if paths.is_empty() {
        printer.result("Nothing to check.", &json!({"checked": 0, "conflicts": []}));
        return Ok(Outcome::Success);
    }
    let mode = mode(printer);
    let blockers = match read_blockers(printer, paths).await {
        Ok(b) => b,
        Err(e) if hook && mode != Mode::Strict => {
            printer.warn(format!(
                "cannot check reservations ({e:#}); letting this through unchecked \
                 (TRACECRAFT_GUARD=strict refuses instead)"
            ));
            printer.result(
                "Reservations not checked: the store could not be reached.",
                &json!({"checked": 0, "unreachable": true, "error": format!("{e:#}")}),
            );
            return Ok(Outcome::Success);
        }
        Err(e) => return Err(e),
    };
    let json = json!({
        "checked": paths.len(),
        "conflicts": blockers.iter().map(blocker_json).collect::<Vec<_>>(),
    });
    if blockers.is_empty() {
        printer.result(
            format!("No reserved paths among {} checked.", paths.len()),
            &json,
        );
        return Ok(Outcome::Success);
    }
    let lines: Vec<String> = blockers.iter().map(blocker_line).collect();
    if mode == Mode::Warn {
        for line in &lines {
            printer.warn(format!("{line} (TRACECRAFT_GUARD=warn: not blocking)"));
        }
        printer.result(
            format!("{} reserved path(s), not blocking.", blockers.len()),
            &json,
        );
        return Ok(Outcome::Success);
    }
    let mut message = vec![format!(
        "{} path(s) lie in another agent's reservation:",
        blockers.len()
    )];
    message.extend(lines.iter().map(|l| format!("  {l}")));
    printer.refusal(
        message.join("\n"),
        Some(
            "ask the holder, wait until it is released or expires, or leave these paths out; \
             TRACECRAFT_GUARD=warn lets it through",
        ),
        &json,
    );
    Ok(Outcome::Conflict)
}

async fn read_blockers(printer: &Printer, paths: &[String]) -> anyhow::Result<Vec<Blocker>> {
    let app = App::open(printer).await?;
    let res = Reservations::new(app.store.as_ref(), app.agent());
    Ok(res.check(paths).await?)
}
