//! Retention (`gc`, contract section 13): what may be deleted once it is older than a
//! cutoff, decided from listings alone. An object's age is the time in its key (the
//! `ts_ns` of messages, events, history snapshots and thread entries; for acknowledgements
//! that of the message acknowledged); session transcripts carry none, so a session goes as
//! a whole once every one of its objects was last written before the cutoff. Only keys
//! that parse as one of these kinds are ever candidates, so live memory values, claims,
//! statuses, specs, handoffs, reservations, cursors, presence and artifacts are never
//! touched; the newest history snapshot of each memory key is always kept.
//!
//! [`plan`] decides and [`execute`] deletes exactly what a plan lists, so `gc --dry-run`
//! prints what `gc` then deletes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::app::{App, FETCH_CONCURRENCY};
use crate::keys;
use crate::store::ListEntry;

/// The kinds of object `gc` deletes, in the order it reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Broadcasts,
    Events,
    Acks,
    MemoryHistory,
    DirectMessages,
    ThreadEntries,
    Sessions,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Broadcasts => "broadcasts",
            Kind::Events => "events",
            Kind::Acks => "acks",
            Kind::MemoryHistory => "memory_history",
            Kind::DirectMessages => "direct_messages",
            Kind::ThreadEntries => "thread_entries",
            Kind::Sessions => "session_objects",
        }
    }
}

/// What to consider beyond the default kinds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Include {
    /// Direct messages and thread entries.
    pub messages: bool,
    /// Mirrored session transcripts (parts and their meta.json).
    pub sessions: bool,
}

/// The keys to delete, per kind (every kind considered is present, maybe empty).
#[derive(Clone, Debug)]
pub struct Plan {
    pub cutoff: DateTime<Utc>,
    pub kinds: BTreeMap<Kind, Vec<String>>,
}

impl Plan {
    pub fn total(&self) -> usize {
        self.kinds.values().map(Vec::len).sum()
    }
}

pub async fn plan(app: &App, cutoff: DateTime<Utc>, include: Include) -> anyhow::Result<Plan> {
    let cut = cutoff.timestamp_nanos_opt().unwrap_or(i64::MIN);
    let broadcast_dir = keys::mailbox(keys::BROADCAST);
    let history_dir = keys::memory_history_root();
    let list = |prefix: String| async move { app.store.list(&prefix, None).await };
    let none = || async { Ok::<_, crate::store::StoreError>(Vec::<ListEntry>::new()) };
    let (broadcasts, events, acks, history, messages, threads, sessions) = tokio::join!(
        list(broadcast_dir),
        list(keys::EVENTS_DIR.to_string()),
        list(keys::ACKS_DIR.to_string()),
        list(history_dir),
        async {
            if include.messages {
                list("messages/".to_string()).await
            } else {
                none().await
            }
        },
        async {
            if include.messages {
                list(keys::THREADS_DIR.to_string()).await
            } else {
                none().await
            }
        },
        async {
            if include.sessions {
                list(keys::SESSIONS_DIR.to_string()).await
            } else {
                none().await
            }
        },
    );
    let mut kinds = BTreeMap::new();
    kinds.insert(
        Kind::Broadcasts,
        old_messages(&broadcasts?, cut, |mailbox| mailbox == keys::BROADCAST),
    );
    kinds.insert(
        Kind::Events,
        events?
            .into_iter()
            .filter(|e| keys::parse_event(&e.key).is_some_and(|(ts, _)| ts < cut))
            .map(|e| e.key)
            .collect(),
    );
    kinds.insert(Kind::Acks, old_acks(&acks?, cut));
    kinds.insert(Kind::MemoryHistory, old_history(&history?, cut));
    if include.messages {
        kinds.insert(
            Kind::DirectMessages,
            old_messages(&messages?, cut, |mailbox| mailbox != keys::BROADCAST),
        );
        kinds.insert(
            Kind::ThreadEntries,
            threads?
                .into_iter()
                .filter(|e| thread_entry_ts(&e.key).is_some_and(|ts| ts < cut))
                .map(|e| e.key)
                .collect(),
        );
    }
    if include.sessions {
        kinds.insert(Kind::Sessions, old_sessions(&sessions?, cutoff));
    }
    Ok(Plan { cutoff, kinds })
}

/// Deletes every key of the plan; returns how many.
pub async fn execute(app: &App, plan: &Plan) -> anyhow::Result<usize> {
    let all: Vec<&String> = plan.kinds.values().flatten().collect();
    let store = &app.store;
    stream::iter(all.iter().copied())
        .map(|key| async move {
            store
                .delete(key)
                .await
                .map_err(|e| anyhow::Error::from(e).context(format!("could not delete '{key}'")))
        })
        .buffer_unordered(FETCH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(all.len())
}

fn old_messages(entries: &[ListEntry], cut: i64, mailbox: impl Fn(&str) -> bool) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            keys::parse_message(&e.key).is_some_and(|m| {
                mailbox(m.mailbox) && m.ts_ns.parse::<i64>().is_ok_and(|ts| ts < cut)
            })
        })
        .map(|e| e.key.clone())
        .collect()
}

/// Everything under `acks/<id>/` for a message id older than the cutoff.
fn old_acks(entries: &[ListEntry], cut: i64) -> Vec<String> {
    entries
        .iter()
        .filter(|e| {
            keys::parse_ack(&e.key)
                .and_then(|(id, _)| keys::parse_stem(id))
                .is_some_and(|(ts, _)| ts < cut)
        })
        .map(|e| e.key.clone())
        .collect()
}

/// Snapshots older than the cutoff, except the newest of each memory key.
fn old_history(entries: &[ListEntry], cut: i64) -> Vec<String> {
    let mut by_dir: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for e in entries {
        if let Some((ts, dir)) = keys::parse_history(&e.key) {
            by_dir.entry(dir).or_default().push((ts, e.key.as_str()));
        }
    }
    let mut out = Vec::new();
    for (_, mut snaps) in by_dir {
        snaps.sort();
        snaps.pop();
        out.extend(
            snaps
                .into_iter()
                .filter(|(ts, _)| *ts < cut)
                .map(|(_, k)| k.to_string()),
        );
    }
    out.sort();
    out
}

fn thread_entry_ts(key: &str) -> Option<i64> {
    let rest = key.strip_prefix(keys::THREADS_DIR)?;
    let (thread, name) = rest.split_once('/')?;
    if thread.is_empty() || name.contains('/') {
        return None;
    }
    keys::parse_stem(name.strip_suffix(".json")?).map(|(ts, _)| ts)
}

/// Every object of each session whose objects were all last written before the cutoff
/// (a session with an object of unknown age is kept).
fn old_sessions(entries: &[ListEntry], cutoff: DateTime<Utc>) -> Vec<String> {
    let mut by_session: BTreeMap<String, Vec<&ListEntry>> = BTreeMap::new();
    for e in entries {
        let Some(rest) = e.key.strip_prefix(keys::SESSIONS_DIR) else {
            continue;
        };
        let mut parts = rest.splitn(3, '/');
        let (Some(h), Some(s), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if file.contains('/') || (keys::part_of(file).is_none() && file != "meta.json") {
            continue;
        }
        by_session
            .entry(keys::session_dir(h, s))
            .or_default()
            .push(e);
    }
    let mut out = Vec::new();
    for (_, objects) in by_session {
        if objects
            .iter()
            .all(|e| e.last_modified.is_some_and(|t| t < cutoff))
        {
            out.extend(objects.iter().map(|e| e.key.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> ListEntry {
        ListEntry::bare(key)
    }

    #[test]
    fn the_newest_snapshot_of_each_key_is_kept() {
        let e: Vec<ListEntry> = [
            "memory/_history/a/1000_x_00000001.json",
            "memory/_history/a/2000_x_00000002.json",
            "memory/_history/a/b/1500_x_00000003.json",
            "memory/_history/c/100_x_00000004.json",
        ]
        .into_iter()
        .map(entry)
        .collect();
        assert_eq!(
            old_history(&e, 5000),
            ["memory/_history/a/1000_x_00000001.json"]
        );
        assert!(old_history(&e, 500).is_empty());
    }

    #[test]
    fn only_layout_keys_older_than_the_cutoff_are_candidates() {
        let e: Vec<ListEntry> = [
            "messages/_broadcast/1000_a_00000001.json",
            "messages/_broadcast/9000_a_00000002.json",
            "messages/bob/1000_a_00000003.json",
            "messages/bob/_cursor.json",
        ]
        .into_iter()
        .map(entry)
        .collect();
        assert_eq!(
            old_messages(&e, 5000, |m| m == keys::BROADCAST),
            ["messages/_broadcast/1000_a_00000001.json"]
        );
        assert_eq!(
            old_messages(&e, 5000, |m| m != keys::BROADCAST),
            ["messages/bob/1000_a_00000003.json"]
        );
        let acks: Vec<ListEntry> = [
            "acks/1000_a_00000001/_request.json",
            "acks/1000_a_00000001/bob.json",
            "acks/9000_a_00000002/_request.json",
        ]
        .into_iter()
        .map(entry)
        .collect();
        assert_eq!(old_acks(&acks, 5000).len(), 2);
        assert_eq!(
            thread_entry_ts("threads/t/1000_a_00000001.json"),
            Some(1000)
        );
        assert_eq!(thread_entry_ts("threads/t/x.json"), None);
    }
}
