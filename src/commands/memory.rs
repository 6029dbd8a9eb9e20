//! `memory`: shared key-value memory (contract sections 2, 3, 5 and 6). A dotted key
//! `a.b` lives at `memory/a/b.json`; every `set` also writes a create-once snapshot under
//! `memory/_history/a/b/`, so the live value is last-write-wins but no version is lost.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::app::{App, CorruptDocument, FETCH_CONCURRENCY};
use crate::cli::MemoryCommand;
use crate::docs::MemoryValue;
use crate::events::{self, Event};
use crate::ids::InvalidId;
use crate::keys;
use crate::outcome::Outcome;
use crate::store::{ListEntry, PutMode};
use crate::time;

/// The first segment reserved for version snapshots (contract section 5).
const RESERVED_FIRST: &str = "_history";

pub async fn run(app: &App, cmd: MemoryCommand) -> anyhow::Result<Outcome> {
    match cmd {
        MemoryCommand::Set { key, value } => set(app, &key, value).await,
        MemoryCommand::Get { key, with_meta } => get(app, &key, with_meta).await,
        MemoryCommand::List { prefix } => list(app, prefix.as_deref()).await,
        MemoryCommand::History { key, limit } => history(app, &key, limit).await,
    }
}

async fn set(app: &App, key: &str, value: String) -> anyhow::Result<Outcome> {
    check_key(key)?;
    // A key whose last segment starts with `_` maps to a bookkeeping object (contract
    // section 2), which no reader lists as a value: refuse to write one.
    if key.rsplit('.').next().is_some_and(|s| s.starts_with('_')) {
        return Err(invalid(
            key,
            "the last segment may not start with '_' (such keys are bookkeeping, never values)",
        )
        .into());
    }
    let agent = app.agent().to_string();
    let now = time::now();
    let live = MemoryValue {
        value,
        set_by: Some(agent.clone()),
        set_at: Some(time::format(now)),
        key: None,
        extra: Default::default(),
    };
    let snapshot = MemoryValue {
        key: Some(key.to_string()),
        ..live.clone()
    };
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let history_key = keys::memory_history(key, &time::ts_ns(now), &agent, &uuid[..8]);
    let live_key = keys::memory_value(key);
    // Snapshots are create-once where the backend can promise it; elsewhere the random
    // suffix already makes the key unique.
    let snapshot_mode = if app.store.capabilities().atomic_create {
        PutMode::Create
    } else {
        PutMode::Overwrite
    };
    let event = Event::new("memory.set")
        .key(live_key.clone())
        .with("key", key)
        .with("value", &live.value);
    let (snap, written, ()) = tokio::join!(
        app.write(&history_key, &snapshot, snapshot_mode),
        events::alongside(app, event, app.write(&live_key, &live, PutMode::Overwrite)),
        app.refresh_presence(None, None),
    );
    snap.with_context(|| format!("cannot record the history of memory key '{key}'"))?;
    written.with_context(|| format!("cannot set memory key '{key}'"))?;
    app.printer.result(
        format!("Set {key} = {}", live.value),
        &json!({
            "key": key,
            "value": live.value,
            "set_by": live.set_by,
            "set_at": live.set_at,
        }),
    );
    Ok(Outcome::Success)
}

async fn get(app: &App, key: &str, with_meta: bool) -> anyhow::Result<Outcome> {
    check_key(key)?;
    let Some(doc) = app.read::<MemoryValue>(&keys::memory_value(key)).await? else {
        anyhow::bail!("memory key '{key}' is not set");
    };
    let v = doc.value;
    let meta = json!({"key": key, "value": v.value, "set_by": v.set_by, "set_at": v.set_at});
    // `--with-meta` prints the Python tool's object (indented by 2, as its json.dumps),
    // which scripts parse.
    let human = if with_meta {
        serde_json::to_string_pretty(&meta).expect("a JSON value serialises")
    } else {
        v.value.clone()
    };
    app.printer.result(human, &meta);
    Ok(Outcome::Success)
}

async fn list(app: &App, prefix: Option<&str>) -> anyhow::Result<Outcome> {
    let prefix = prefix.filter(|p| !p.is_empty());
    if let Some(p) = prefix {
        check_key(p)?;
    }
    // `memory/design` also matches `memory/designer/...`: the listing is filtered to whole
    // segments below. Without a prefix this lists `memory/_history/` too, filtered out.
    let store_prefix = match prefix {
        Some(p) => keys::memory_prefix(p),
        None => keys::MEMORY_DIR.to_string(),
    };
    let entries = app
        .store
        .list(&store_prefix, None)
        .await
        .context("cannot list memory keys")?;
    let mut found: Vec<String> = entries
        .iter()
        .filter_map(|e| listed_key(&e.key))
        .filter(|k| prefix.is_none_or(|p| within(k, p)))
        .collect();
    found.sort();
    found.dedup();
    if app.printer.json {
        app.printer
            .result("", &json!({"prefix": prefix, "keys": found}));
    } else if found.is_empty() {
        app.printer.info(match prefix {
            Some(p) => format!("No memory keys under '{p}'."),
            None => "No memory keys.".to_string(),
        });
    } else {
        app.printer.result(found.join("\n"), &json!({}));
    }
    Ok(Outcome::Success)
}

async fn history(app: &App, key: &str, limit: Option<usize>) -> anyhow::Result<Outcome> {
    check_key(key)?;
    let dir = keys::memory_history_dir(key);
    let entries = app
        .store
        .list(&dir, None)
        .await
        .with_context(|| format!("cannot list the history of memory key '{key}'"))?;
    let mut snapshots = snapshot_keys(&dir, &entries);
    // `--limit N`: the newest N, still shown oldest first. 0 means all, as in the Python tool.
    if let Some(n) = limit.filter(|n| *n > 0) {
        let skip = snapshots.len().saturating_sub(n);
        snapshots.drain(..skip);
    }
    let docs: Vec<Option<MemoryValue>> = futures::stream::iter(snapshots)
        .map(|k| async move {
            match app.read::<MemoryValue>(&k).await {
                Ok(doc) => Ok(doc.map(|d| d.value)),
                // One damaged snapshot should not hide the rest of the trail.
                Err(e) if e.downcast_ref::<CorruptDocument>().is_some() => {
                    app.printer.warn(format!("skipping {e:#}"));
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await?;
    // A snapshot deleted between the listing and the read is simply left out.
    let docs: Vec<MemoryValue> = docs.into_iter().flatten().collect();
    if docs.is_empty() {
        anyhow::bail!("no history for memory key '{key}'");
    }
    let lines: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "[{}] {}: {}",
                d.set_at.as_deref().unwrap_or("?"),
                d.set_by.as_deref().unwrap_or("?"),
                d.value
            )
        })
        .collect();
    let json_entries: Vec<_> = docs
        .iter()
        .map(|d| json!({"value": d.value, "set_by": d.set_by, "set_at": d.set_at}))
        .collect();
    app.printer.result(
        lines.join("\n"),
        &json!({"key": key, "history": json_entries}),
    );
    Ok(Outcome::Success)
}

/// The snapshot keys directly under `dir` (not those of nested keys: the history of `a`
/// excludes `a.b`'s), ordered by the timestamp their name starts with. Names that carry no
/// timestamp, and bookkeeping names, are not snapshots.
fn snapshot_keys(dir: &str, entries: &[ListEntry]) -> Vec<String> {
    let mut stamped: Vec<(u128, &str)> = entries
        .iter()
        .filter_map(|e| {
            let name = e.key.strip_prefix(dir)?;
            if name.contains('/') || name.starts_with('_') {
                return None;
            }
            let stem = name.strip_suffix(".json")?;
            let (ts, _) = stem.split_once('_')?;
            if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((ts.parse().ok()?, e.key.as_str()))
        })
        .collect();
    stamped.sort();
    stamped.into_iter().map(|(_, k)| k.to_string()).collect()
}

/// The dotted key of a listed object when it is a live value a user can `get`: not a
/// history snapshot, not bookkeeping (last segment starting with `_`), and a valid key.
fn listed_key(object: &str) -> Option<String> {
    let path = object
        .strip_prefix(keys::MEMORY_DIR)?
        .strip_suffix(".json")?;
    // A `.` inside a path segment would make the dotted form name a different object.
    if path.contains('.') {
        return None;
    }
    let dotted = path.replace('/', ".");
    if dotted
        .rsplit('.')
        .next()
        .is_some_and(|s| s.starts_with('_'))
    {
        return None;
    }
    check_key(&dotted).ok()?;
    Some(dotted)
}

/// `design` covers `design` and `design.x`, not `designer`.
fn within(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn invalid(key: &str, reason: &'static str) -> InvalidId {
    InvalidId {
        what: "memory key",
        value: key.to_string(),
        reason,
    }
}

/// Memory keys (contract section 5): dot-separated segments, each 1+ of
/// `A-Z a-z 0-9 _ -`; no `/`; no empty segment; the first segment may not be `_history`.
fn check_key(key: &str) -> Result<(), InvalidId> {
    if key.is_empty() {
        return Err(invalid(key, "may not be empty"));
    }
    if key.contains('/') {
        return Err(invalid(
            key,
            "may not contain '/' (separate segments with '.')",
        ));
    }
    for segment in key.split('.') {
        if segment.is_empty() {
            return Err(invalid(
                key,
                "may not have an empty segment (a leading, trailing or doubled '.')",
            ));
        }
        if !segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(key, "segments may only use A-Z a-z 0-9 _ -"));
        }
    }
    if key.split('.').next() == Some(RESERVED_FIRST) {
        return Err(invalid(
            key,
            "the first segment '_history' is reserved for version snapshots",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> ListEntry {
        ListEntry::bare(key)
    }

    #[test]
    fn keys_follow_section_5() {
        for ok in ["a", "design.api", "A-b_c.9", "_team.notes", "a._history.b"] {
            check_key(ok).unwrap();
        }
        for bad in [
            "",
            "a/b",
            "a..b",
            ".a",
            "a.",
            "a b",
            "é",
            "_history",
            "_history.x",
            "a.b/c",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listing_skips_history_bookkeeping_and_foreign_names() {
        assert_eq!(
            listed_key("memory/design/api.json").as_deref(),
            Some("design.api")
        );
        assert_eq!(
            listed_key("memory/_team/notes.json").as_deref(),
            Some("_team.notes")
        );
        for skipped in [
            "memory/_history/a/1_x_y.json",
            "memory/a/_lock.json",
            "memory/a.b.json",
            "memory/a b.json",
            "memory/a/b.txt",
            "memory//a.json",
        ] {
            assert_eq!(listed_key(skipped), None, "{skipped}");
        }
    }

    #[test]
    fn prefixes_are_segment_bounded() {
        assert!(within("design", "design"));
        assert!(within("design.x", "design"));
        assert!(!within("designer", "design"));
        assert!(!within("design.x", "des"));
    }

    #[test]
    fn history_is_direct_children_in_time_order() {
        let dir = keys::memory_history_dir("a");
        let entries = [
            entry(&format!("{dir}1795256922017355002_bob_00000000.json")),
            entry(&format!("{dir}1795256922017355001_al_ice_ffffffff.json")),
            entry(&format!("{dir}b/1795256922017355000_bob_00000000.json")),
            entry(&format!("{dir}_cursor.json")),
            entry(&format!("{dir}notes.json")),
        ];
        let keys = snapshot_keys(&dir, &entries);
        assert_eq!(
            keys,
            [
                format!("{dir}1795256922017355001_al_ice_ffffffff.json"),
                format!("{dir}1795256922017355002_bob_00000000.json"),
            ]
        );
    }
}
