//! Editing the JSON files of Claude Code (`settings.json`, `.mcp.json`, `~/.claude.json`)
//! and Codex (`hooks.json`). Key order is kept (serde_json's `preserve_order`), and a
//! file whose content did not change is not rewritten.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{FileEdit, HookEntry, SERVER_NAME, is_ours, read_optional, unparsable};
use crate::hooks;
use crate::outcome::UsageError;

/// Reads `path` (absent: `{}`, or nothing to do when removing), applies `change` to its
/// JSON object and returns the edit.
pub fn edit(
    path: &Path,
    remove: bool,
    change: impl FnOnce(&mut Map<String, Value>) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<FileEdit> {
    let before = read_optional(path)?;
    let mut doc = match &before {
        None if remove => {
            return Ok(FileEdit {
                path: path.to_path_buf(),
                before,
                after: None,
                changes: vec![],
            });
        }
        None => Value::Object(Map::new()),
        Some(text) if text.trim().is_empty() => Value::Object(Map::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| unparsable(path, "JSON", e))?,
    };
    let Some(root) = doc.as_object_mut() else {
        return Err(unparsable(path, "JSON", "the top level is not an object"));
    };
    let original = root.clone();
    // Context keeps the usage error in the chain: still exit 2.
    let changes = change(root).map_err(|e| e.context(path.display().to_string()))?;
    let after = (*root != original || before.is_none()).then(|| {
        let mut text = serde_json::to_string_pretty(&doc).expect("JSON serialises");
        text.push('\n');
        text
    });
    Ok(FileEdit {
        path: path.to_path_buf(),
        before,
        after,
        changes,
    })
}

fn command_of(hook: &Value) -> &str {
    hook.get("command")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn not_a(what: &str, kind: &str) -> anyhow::Error {
    UsageError::new(format!("`{what}` is not {kind}; left untouched")).into()
}

/// Installs `entries` (one hook per event, replacing any earlier tracecraft hook of that
/// event) or, with `None`, removes every tracecraft hook. Other hooks, groups, matchers
/// and keys stay as they are; a group or event list that only tracecraft's hooks filled
/// goes when they go.
pub fn merge_hooks(
    root: &mut Map<String, Value>,
    entries: Option<&[HookEntry]>,
) -> anyhow::Result<Vec<String>> {
    let mut changes = Vec::new();
    if entries.is_none() && !root.contains_key("hooks") {
        return Ok(changes);
    }
    let hooks_value = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks_map = hooks_value
        .as_object_mut()
        .ok_or_else(|| not_a("hooks", "an object"))?;
    for event in hooks::EVENTS.map(hooks::event_name) {
        let desired = entries
            .and_then(|es| es.iter().find(|e| e.event == event))
            .map(|e| &e.hook);
        let Some(list) = hooks_map.get_mut(event) else {
            if let Some(hook) = desired {
                hooks_map.insert(event.into(), json!([{"hooks": [hook]}]));
                changes.push(format!("added hooks.{event}"));
            }
            continue;
        };
        let groups = list
            .as_array_mut()
            .ok_or_else(|| not_a(&format!("hooks.{event}"), "a list"))?;
        let ours: Vec<&Value> = groups
            .iter()
            .filter_map(|g| g.get("hooks").and_then(Value::as_array))
            .flatten()
            .filter(|h| is_ours(command_of(h)))
            .collect();
        if let Some(hook) = desired
            && ours.len() == 1
            && ours[0] == hook
        {
            continue;
        }
        let had_ours = !ours.is_empty();
        groups.retain_mut(|group| {
            let Some(list) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                return true;
            };
            let n = list.len();
            list.retain(|h| !is_ours(command_of(h)));
            !(list.is_empty() && n > 0)
        });
        match desired {
            Some(hook) => {
                groups.push(json!({"hooks": [hook]}));
                let verb = if had_ours { "updated" } else { "added" };
                changes.push(format!("{verb} hooks.{event}"));
            }
            None if had_ours => {
                changes.push(format!("removed hooks.{event}"));
                if groups.is_empty() {
                    hooks_map.remove(event);
                }
            }
            None => {}
        }
    }
    if entries.is_none() && hooks_map.is_empty() && !changes.is_empty() {
        root.remove("hooks");
    }
    Ok(changes)
}

/// Sets (or, with `None`, removes) `mcpServers.tracecraft` in the object found by
/// following `at` from the top (`projects.<dir>` for Claude Code's local scope).
pub fn merge_mcp(
    root: &mut Map<String, Value>,
    at: &[String],
    server: Option<&Value>,
) -> anyhow::Result<Vec<String>> {
    let mut here = root;
    for (i, segment) in at.iter().enumerate() {
        if server.is_none() && !here.contains_key(segment) {
            return Ok(vec![]);
        }
        here = here
            .entry(segment.clone())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| not_a(&at[..=i].join("."), "an object"))?;
    }
    let name = format!("mcpServers.{SERVER_NAME}");
    match server {
        Some(server) => {
            let servers = here
                .entry("mcpServers")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .ok_or_else(|| not_a("mcpServers", "an object"))?;
            match servers.get(SERVER_NAME) {
                Some(existing) if existing == server => Ok(vec![]),
                existing => {
                    let verb = if existing.is_some() {
                        "updated"
                    } else {
                        "added"
                    };
                    servers.insert(SERVER_NAME.into(), server.clone());
                    Ok(vec![format!("{verb} {name}")])
                }
            }
        }
        None => {
            let Some(servers) = here.get_mut("mcpServers").and_then(Value::as_object_mut) else {
                return Ok(vec![]);
            };
            if servers.remove(SERVER_NAME).is_none() {
                return Ok(vec![]);
            }
            if servers.is_empty() {
                here.remove("mcpServers");
            }
            Ok(vec![format!("removed {name}")])
        }
    }
}
