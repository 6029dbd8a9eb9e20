//! Wiring tracecraft into a harness (contract section 11, `setup`): which files Claude
//! Code and Codex read hooks and MCP servers from, and the entries tracecraft owns in
//! them. People edit these files by hand, so an edit changes only tracecraft's entries:
//! [`json`] and [`toml`] merge into what is there, a file whose meaning did not change is
//! not written at all (a second run changes no byte), a file that does not parse is
//! refused before anything is written, and a write replaces the file atomically with its
//! permissions kept.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::{HookEvent, SetupScope, SetupTarget};
use crate::hooks;
use crate::outcome::UsageError;

pub mod json;
pub mod toml;

/// The server name under `mcpServers` / `[mcp_servers]`.
pub const SERVER_NAME: &str = "tracecraft";
/// The program the entries run: found on `PATH`, so a committed project file works on
/// every machine that has tracecraft installed.
pub const PROGRAM: &str = "tracecraft";
/// Seconds the harness gives a hook before killing it; `hook` itself gives up sooner.
const HOOK_TIMEOUT_S: u64 = 10;

/// What to wire, and where.
#[derive(Clone, Debug)]
pub struct Wiring {
    pub target: SetupTarget,
    pub scope: SetupScope,
    pub mcp: bool,
    pub mirror: bool,
    pub block_on_unread: bool,
    pub remove: bool,
    /// The project directory (project and local scopes).
    pub project_dir: PathBuf,
    pub home: PathBuf,
}

/// One file's edit: its text before (`None`: absent) and after (`None`: unchanged).
#[derive(Clone, Debug)]
pub struct FileEdit {
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: Option<String>,
    /// What changed, in a few words each (`added hooks.Stop`, `removed mcp_servers.tracecraft`).
    pub changes: Vec<String>,
}

/// One hook tracecraft installs: the harness event and the command it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct HookEntry {
    pub event: &'static str,
    pub hook: Value,
}

/// The hook entries for `w`, one per event.
pub fn hook_entries(w: &Wiring) -> Vec<HookEntry> {
    let codex = w.target == SetupTarget::Codex;
    hooks::EVENTS
        .iter()
        .map(|&event| {
            let mut command = format!("{PROGRAM} hook {}", hooks::event_word(event));
            let mut timeout = HOOK_TIMEOUT_S;
            let ends = matches!(event, HookEvent::Stop | HookEvent::SessionEnd);
            if event == HookEvent::Stop && w.block_on_unread {
                command.push_str(" --block-on-unread");
            }
            if ends && w.mirror {
                command.push_str(" --mirror");
                if codex {
                    command.push_str(" --harness codex");
                }
            }
            if codex && event == HookEvent::SessionEnd {
                // Codex gives session-end hooks at most 3 seconds.
                command.push_str(" --timeout 2");
                timeout = 3;
            }
            HookEntry {
                event: hooks::event_name(event),
                hook: json!({"type": "command", "command": command, "timeout": timeout}),
            }
        })
        .collect()
}

/// The MCP server entry of Claude Code's `.mcp.json` / `~/.claude.json`.
pub fn claude_mcp_server() -> Value {
    json!({"type": "stdio", "command": PROGRAM, "args": ["mcp"], "env": {}})
}

/// Whether a hook command is one of tracecraft's: `tracecraft hook ...` (any path to
/// the program).
pub fn is_ours(command: &str) -> bool {
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default();
    let name = Path::new(program.trim_matches(['"', '\'']))
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    matches!(name, "tracecraft" | "tracecraft.exe") && words.next() == Some("hook")
}

/// Plans every file edit for `w`, reading the files; nothing is written. A file that is
/// not valid JSON or TOML is a usage error (exit 2) and nothing is written anywhere.
pub fn plan(w: &Wiring) -> anyhow::Result<Vec<FileEdit>> {
    let mut edits = Vec::new();
    let entries = (!w.remove).then(|| hook_entries(w));
    match w.target {
        SetupTarget::ClaudeCode => {
            let settings = match w.scope {
                SetupScope::Project => w.project_dir.join(".claude/settings.json"),
                SetupScope::User => w.home.join(".claude/settings.json"),
                SetupScope::Local => w.project_dir.join(".claude/settings.local.json"),
            };
            edits.push(json::edit(&settings, w.remove, |doc| {
                json::merge_hooks(doc, entries.as_deref())
            })?);
            if w.mcp || w.remove {
                let (path, at): (PathBuf, Vec<String>) = match w.scope {
                    SetupScope::Project => (w.project_dir.join(".mcp.json"), vec![]),
                    SetupScope::User => (w.home.join(".claude.json"), vec![]),
                    SetupScope::Local => (
                        w.home.join(".claude.json"),
                        vec!["projects".into(), w.project_dir.display().to_string()],
                    ),
                };
                let server = (!w.remove).then(claude_mcp_server);
                edits.push(json::edit(&path, w.remove, |doc| {
                    json::merge_mcp(doc, &at, server.as_ref())
                })?);
            }
        }
        SetupTarget::Codex => {
            let dir = match w.scope {
                SetupScope::Project => w.project_dir.join(".codex"),
                SetupScope::User => w.home.join(".codex"),
                SetupScope::Local => {
                    return Err(UsageError {
                        message: "Codex has no local scope".into(),
                        hint: Some("use --scope project or --scope user".into()),
                    }
                    .into());
                }
            };
            edits.push(json::edit(&dir.join("hooks.json"), w.remove, |doc| {
                json::merge_hooks(doc, entries.as_deref())
            })?);
            edits.push(toml::edit(&dir.join("config.toml"), w)?);
        }
    }
    edits.retain(|e| e.after.is_some() || e.before.is_some() || !e.changes.is_empty());
    Ok(edits)
}

/// Writes every changed file: a temp file beside it with the same permissions, renamed
/// over it.
pub fn apply(edits: &[FileEdit]) -> anyhow::Result<()> {
    for edit in edits {
        if let Some(text) = &edit.after {
            write_atomic(&edit.path, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", edit.path.display()))?;
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tracecraft-{}.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = std::fs::File::create_new(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a file that may not exist yet.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The refusal for a file that does not parse.
fn unparsable(path: &Path, kind: &str, message: impl std::fmt::Display) -> anyhow::Error {
    UsageError {
        message: format!(
            "{} is not valid {kind} ({message}); left untouched",
            path.display()
        ),
        hint: Some("fix the file by hand, then run setup again".into()),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_commands_are_recognised_by_program_and_verb() {
        assert!(is_ours("tracecraft hook stop"));
        assert!(is_ours(
            "/usr/local/bin/tracecraft hook post-tool-use --every 30"
        ));
        assert!(!is_ours("tracecraft heartbeat"));
        assert!(!is_ours("echo tracecraft hook"));
        assert!(!is_ours("my-tracecraft hook stop"));
    }
}
