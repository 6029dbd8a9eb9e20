//! Editing Codex's `config.toml` with `toml_edit`, which keeps the file's formatting and
//! comments: `features.codex_hooks = true` (the switch Codex reads hooks behind) when
//! hooks are installed, and `[mcp_servers.tracecraft]` with `--mcp`. `--remove` takes out
//! the server entry; the feature switch stays, since other hooks may rely on it.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Table, value};

use super::{FileEdit, PROGRAM, SERVER_NAME, Wiring, read_optional, unparsable};
use crate::outcome::UsageError;

pub fn edit(path: &Path, w: &Wiring) -> anyhow::Result<FileEdit> {
    let before = read_optional(path)?;
    if before.is_none() && w.remove {
        return Ok(FileEdit {
            path: path.to_path_buf(),
            before,
            after: None,
            changes: vec![],
        });
    }
    let mut doc: DocumentMut = before
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(|e| unparsable(path, "TOML", e))?;
    let mut changes = Vec::new();
    if w.remove {
        remove_server(&mut doc, &mut changes);
    } else {
        enable_hooks(&mut doc, &mut changes)?;
        if w.mcp {
            add_server(&mut doc, &mut changes)?;
        }
    }
    let text = doc.to_string();
    let after = (before.as_deref() != Some(text.as_str())).then_some(text);
    Ok(FileEdit {
        path: path.to_path_buf(),
        before,
        after,
        changes,
    })
}

fn not_a_table(what: &str) -> anyhow::Error {
    UsageError::new(format!("`{what}` is not a table; left untouched")).into()
}

fn enable_hooks(doc: &mut DocumentMut, changes: &mut Vec<String>) -> anyhow::Result<()> {
    let features = doc
        .entry("features")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| not_a_table("features"))?;
    if features.get("codex_hooks").and_then(Item::as_bool) != Some(true) {
        features.insert("codex_hooks", value(true));
        changes.push("set features.codex_hooks = true".into());
    }
    Ok(())
}

fn add_server(doc: &mut DocumentMut, changes: &mut Vec<String>) -> anyhow::Result<()> {
    let servers = doc
        .entry("mcp_servers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or_else(|| not_a_table("mcp_servers"))?;
    let current = servers.get(SERVER_NAME).and_then(Item::as_table_like);
    let same = current.is_some_and(|t| {
        let args: Option<Vec<&str>> = t
            .get("args")
            .and_then(Item::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect());
        t.get("command").and_then(Item::as_str) == Some(PROGRAM) && args == Some(vec!["mcp"])
    });
    if same {
        return Ok(());
    }
    let verb = if current.is_some() {
        "updated"
    } else {
        "added"
    };
    let mut table = Table::new();
    table.insert("command", value(PROGRAM));
    table.insert("args", value(Array::from_iter(["mcp"])));
    servers.insert(SERVER_NAME, Item::Table(table));
    changes.push(format!("{verb} mcp_servers.{SERVER_NAME}"));
    Ok(())
}

fn remove_server(doc: &mut DocumentMut, changes: &mut Vec<String>) {
    let Some(servers) = doc.get_mut("mcp_servers").and_then(Item::as_table_like_mut) else {
        return;
    };
    if servers.remove(SERVER_NAME).is_none() {
        return;
    }
    changes.push(format!("removed mcp_servers.{SERVER_NAME}"));
    if servers.is_empty() {
        doc.remove("mcp_servers");
    }
}
