//! `setup claude-code|codex [--scope project|user|local] [--mcp] [--mirror]
//! [--block-on-unread] [--dry-run] [--remove]`: wires the harness's hooks (and MCP server)
//! to tracecraft. The files and the merge live in [`crate::setup`]; this prints what
//! changed, or with `--dry-run` the resulting files.

use anyhow::Context;
use serde_json::json;

use crate::cli::{SetupArgs, SetupTarget};
use crate::outcome::Outcome;
use crate::output::Printer;
use crate::setup::{self, Wiring};

pub fn run(args: SetupArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let wiring = Wiring {
        target: args.target,
        scope: args.scope,
        mcp: args.mcp,
        mirror: args.mirror,
        block_on_unread: args.block_on_unread,
        remove: args.remove,
        project_dir: std::env::current_dir().context("reading the current directory")?,
        home: crate::config::home_dir(),
    };
    let edits = setup::plan(&wiring)?;
    if !args.dry_run {
        setup::apply(&edits)?;
    }
    let harness = match args.target {
        SetupTarget::ClaudeCode => "Claude Code",
        SetupTarget::Codex => "Codex",
    };
    let mut lines = Vec::new();
    for edit in &edits {
        let path = edit.path.display();
        match (&edit.after, args.dry_run) {
            (None, _) => lines.push(format!("{path}: unchanged")),
            (Some(text), true) => {
                lines.push(format!(
                    "{path} would become ({}):",
                    describe(&edit.changes)
                ));
                lines.push(text.trim_end().to_string());
            }
            (Some(_), false) => lines.push(format!("{path}: {}", describe(&edit.changes))),
        }
    }
    if !args.dry_run && !args.remove && edits.iter().any(|e| e.after.is_some()) {
        lines.push(format!(
            "{harness} now runs `tracecraft hook` at session start, on prompts and tool use (at most every 30 s), at stop and at session end."
        ));
    }
    let json = json!({
        "harness": harness,
        "dry_run": args.dry_run,
        "files": edits.iter().map(|e| json!({
            "path": e.path,
            "changed": e.after.is_some(),
            "changes": e.changes,
            "content": if args.dry_run { e.after.clone() } else { None },
        })).collect::<Vec<_>>(),
    });
    printer.result(lines.join("\n"), &json);
    Ok(Outcome::Success)
}

fn describe(changes: &[String]) -> String {
    if changes.is_empty() {
        "rewritten".into()
    } else {
        changes.join(", ")
    }
}
