//! The mailbox (contract sections 2, 3, 6 and 13): reading an agent's direct messages and
//! everyone's broadcasts merged in time order, resolving message ids, and the polling
//! schedule of a waiting inbox. Sending lives in [`outbox`], conversations in [`threads`],
//! acknowledgements in [`acks`] and the read cursor in [`cursor`]; commands (`inbox`,
//! `send`, `reply`, `thread`, `ack`, `acks`) only parse and print.

pub mod acks;
pub mod cursor;
pub mod outbox;
pub mod threads;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::app::{self, App, FETCH_CONCURRENCY};
use crate::docs::{CursorPart, Message};
use crate::keys;
use crate::outcome::{Failure, UsageError};
use crate::store::{ListEntry, StoreError};
use crate::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Direct,
    Broadcast,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Direct => "direct",
            Kind::Broadcast => "broadcast",
        }
    }
}

/// One message key from a listing.
#[derive(Clone, Debug)]
pub struct Listed {
    pub key: String,
    pub kind: Kind,
    pub sender: String,
    /// The sender's clock from the key, in nanoseconds.
    pub ts_ns: Option<i64>,
}

/// A message read and shown.
#[derive(Clone, Debug)]
pub struct Shown {
    pub key: String,
    pub kind: Kind,
    pub message: Message,
    /// `sent_at`, else the key's timestamp: the merge order.
    pub order: Option<DateTime<Utc>>,
}

impl Shown {
    pub fn id(&self) -> &str {
        keys::message_id(&self.key).unwrap_or(&self.key)
    }

    /// `[sent_at] (direct|broadcast) from[ [step S]]: message`, the Python tool's line, for
    /// a message without the section 13 fields; those add ` [thread T]`, ` [re ID]` and
    /// ` [ack requested]` before the colon, and `--ids` puts the id in front.
    pub fn line(&self, with_id: bool) -> String {
        let m = &self.message;
        let id = if with_id {
            format!("{} ", self.id())
        } else {
            String::new()
        };
        format!(
            "{id}[{}] ({}) {}{}: {}",
            m.sent_at.as_deref().unwrap_or("?"),
            self.kind.name(),
            m.from,
            self.tags(),
            m.message
        )
    }

    /// A line of a conversation: `[sent_at] from → to[ tags]: message`.
    pub fn conversation_line(&self, with_id: bool) -> String {
        let m = &self.message;
        let id = if with_id {
            format!("{} ", self.id())
        } else {
            String::new()
        };
        let tags = self.tags().replace(
            &format!(" [thread {}]", m.thread.as_deref().unwrap_or("")),
            "",
        );
        format!(
            "{id}[{}] {} → {}{}: {}",
            m.sent_at.as_deref().unwrap_or("?"),
            m.from,
            m.to,
            tags,
            m.message
        )
    }

    fn tags(&self) -> String {
        let m = &self.message;
        let mut tags = String::new();
        if let Some(s) = &m.step {
            tags.push_str(&format!(" [step {s}]"));
        }
        if let Some(t) = &m.thread {
            tags.push_str(&format!(" [thread {t}]"));
        }
        if let Some(r) = &m.reply_to {
            tags.push_str(&format!(" [re {}]", short_id(r)));
        }
        if m.ack_required {
            tags.push_str(" [ack requested]");
        }
        tags
    }

    pub fn json(&self) -> Value {
        let m = &self.message;
        json!({
            "id": self.id(),
            "key": self.key,
            "kind": self.kind.name(),
            "from": m.from,
            "to": m.to,
            "message": m.message,
            "sent_at": m.sent_at,
            "step": m.step,
            "thread": m.thread,
            "reply_to": m.reply_to,
            "ack_required": m.ack_required,
        })
    }
}

/// The uuid8 of a message id: the shortest suffix that names it in practice.
pub fn short_id(id: &str) -> &str {
    id.rsplit('_').next().unwrap_or(id)
}

/// The message keys of a listing: bookkeeping (`_cursor.json`, any `_` name), nested keys
/// and names that are not messages are dropped.
pub fn message_keys(entries: Vec<ListEntry>, kind: Kind) -> Vec<Listed> {
    entries
        .into_iter()
        .filter_map(|e| {
            let parsed = keys::parse_message(&e.key)?;
            let sender = parsed.sender.to_string();
            let ts_ns = parsed.ts_ns.parse().ok();
            Some(Listed {
                key: e.key,
                kind,
                sender,
                ts_ns,
            })
        })
        .collect()
}

/// Lists the caller's mailbox and the broadcasts, each after its watermark when given.
pub async fn list_both(
    app: &App,
    me: &str,
    after: [Option<&str>; 2],
) -> anyhow::Result<[Vec<Listed>; 2]> {
    let direct_prefix = keys::mailbox(me);
    let broadcast_prefix = keys::mailbox(keys::BROADCAST);
    let (direct, broadcast) = tokio::join!(
        app.store.list(&direct_prefix, after[0]),
        app.store.list(&broadcast_prefix, after[1]),
    );
    Ok([
        message_keys(
            direct.with_context(|| format!("could not list {direct_prefix}"))?,
            Kind::Direct,
        ),
        message_keys(
            broadcast.with_context(|| format!("could not list {broadcast_prefix}"))?,
            Kind::Broadcast,
        ),
    ])
}

/// What one look at the mailbox found.
pub struct Pass {
    /// The messages to show, in time order.
    pub shown: Vec<Shown>,
    /// Every key listed per stream (direct, broadcast): what the cursor advances over.
    pub listed: [Vec<String>; 2],
    /// Whether anything was not yet in the cursor (so it needs saving).
    pub anything_unseen: bool,
}

/// Lists and reads what `parts` (the cursor's direct and broadcast parts; `None`: show
/// everything) has not seen, own broadcasts left out.
pub async fn read_pass(
    app: &App,
    me: &str,
    parts: Option<[&CursorPart; 2]>,
) -> anyhow::Result<Pass> {
    let prefixes = [keys::mailbox(me), keys::mailbox(keys::BROADCAST)];
    let after = |i: usize| parts.and_then(|p| cursor::watermark(p[i], &prefixes[i]));
    let [direct, broadcast] = list_both(app, me, [after(0), after(1)]).await?;

    // Only what the cursor has not seen; the watermark was applied by the listing, and is
    // checked again in case a backend lists inclusively.
    let unseen = |listed: &[Listed], i: usize| -> Vec<usize> {
        let part = parts.map(|p| p[i]);
        let seen: BTreeSet<&str> = part
            .map(|p| p.seen.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mark = after(i);
        (0..listed.len())
            .filter(|&j| {
                let key = listed[j].key.as_str();
                mark.is_none_or(|w| key > w) && !seen.contains(key)
            })
            .collect()
    };
    let direct_new = unseen(&direct, 0);
    let broadcast_new = unseen(&broadcast, 1);
    let anything_unseen = !direct_new.is_empty() || !broadcast_new.is_empty();

    // Own broadcasts are left out by the sender in the key, without a read.
    let wanted: Vec<&Listed> = direct_new
        .iter()
        .map(|&i| &direct[i])
        .chain(
            broadcast_new
                .iter()
                .map(|&i| &broadcast[i])
                .filter(|l| l.sender != me),
        )
        .collect();
    let mut shown = fetch(app, &wanted, me).await?;
    shown.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.key.cmp(&b.key)));
    let keys_of = |l: &[Listed]| l.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
    Ok(Pass {
        shown,
        listed: [keys_of(&direct), keys_of(&broadcast)],
        anything_unseen,
    })
}

/// Reads the bodies, at most [`FETCH_CONCURRENCY`] at a time. A corrupt body is skipped
/// with a warning; one deleted meanwhile (by a concurrent `inbox --delete`) silently.
pub async fn fetch(app: &App, wanted: &[&Listed], me: &str) -> anyhow::Result<Vec<Shown>> {
    let store = &app.store;
    let bodies: Vec<_> = stream::iter(wanted.iter().copied())
        .map(|l| async move { (l, store.get(&l.key).await) })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let mut shown = Vec::with_capacity(bodies.len());
    for (listed, body) in bodies {
        let obj = match body {
            Ok(obj) => obj,
            Err(StoreError::NotFound { .. }) => {
                app.printer.debug(format!(
                    "message '{}' disappeared before it was read",
                    listed.key
                ));
                continue;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("could not read message '{}'", listed.key));
            }
        };
        let message: Message = match app::decode(&listed.key, &obj.body) {
            Ok(m) => m,
            Err(e) => {
                app.printer
                    .warn(format!("skipping unreadable message: {e}"));
                continue;
            }
        };
        // A broadcast whose key does not name us but whose body does is still our own.
        if listed.kind == Kind::Broadcast && message.from == me {
            continue;
        }
        let order = message
            .sent_at
            .as_deref()
            .and_then(time::parse)
            .or_else(|| listed.ts_ns.map(DateTime::from_timestamp_nanos));
        shown.push(Shown {
            key: listed.key.clone(),
            kind: listed.kind,
            message,
            order,
        });
    }
    Ok(shown)
}

/// Deletes the direct messages shown; broadcasts belong to every reader and stay.
/// Returns how many were deleted.
pub async fn delete_direct(app: &App, shown: &[Shown]) -> anyhow::Result<usize> {
    let store = &app.store;
    let direct: Vec<&str> = shown
        .iter()
        .filter(|s| s.kind == Kind::Direct)
        .map(|s| s.key.as_str())
        .collect();
    stream::iter(direct.iter().copied())
        .map(|key| async move {
            store
                .delete(key)
                .await
                .with_context(|| format!("could not delete message '{key}'"))
        })
        .buffer_unordered(FETCH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(direct.len())
}

/// Finds the message a user named by its id or any unique suffix of it (such as the
/// uuid8) among the caller's direct messages and the broadcasts: two listings. None is
/// exit 1; several are a usage error (exit 2) naming them.
pub async fn resolve(app: &App, me: &str, id: &str) -> anyhow::Result<Listed> {
    let mut found = resolve_all(app, me, std::slice::from_ref(&id.to_string())).await?;
    Ok(found.remove(0))
}

/// [`resolve`] for several ids, from one pair of listings; the first failure is returned.
pub async fn resolve_all(app: &App, me: &str, ids: &[String]) -> anyhow::Result<Vec<Listed>> {
    let [direct, broadcast] = list_both(app, me, [None, None]).await?;
    let all: Vec<Listed> = direct.into_iter().chain(broadcast).collect();
    ids.iter().map(|id| pick(&all, id)).collect()
}

fn pick(all: &[Listed], id: &str) -> anyhow::Result<Listed> {
    let wanted = id.trim().trim_end_matches(".json");
    if wanted.is_empty() || wanted.contains('/') {
        return Err(UsageError::new(format!("'{id}' is not a message id")).into());
    }
    let stem = |l: &Listed| keys::message_id(&l.key).unwrap_or_default().to_string();
    if let Some(exact) = all.iter().find(|l| stem(l) == wanted) {
        return Ok(exact.clone());
    }
    let mut found: Vec<Listed> = all
        .iter()
        .filter(|l| stem(l).ends_with(wanted))
        .cloned()
        .collect();
    match found.len() {
        0 => Err(Failure {
            message: format!("no message '{id}' in your mailbox or the broadcasts"),
            hint: Some("`tracecraft inbox --ids` shows message ids".into()),
        }
        .into()),
        1 => Ok(found.remove(0)),
        _ => {
            let names: Vec<String> = found.iter().map(stem).collect();
            let mut e = UsageError::new(format!(
                "'{id}' names {} messages: {}",
                names.len(),
                names.join(", ")
            ));
            e.hint = Some("give more of the id".into());
            Err(e.into())
        }
    }
}

/// Reads one message the caller can see, by its listing.
pub async fn read_one(app: &App, me: &str, listed: &Listed) -> anyhow::Result<Shown> {
    let store_me = if listed.kind == Kind::Broadcast && listed.sender == me {
        // Reading one's own broadcast (to reply in its thread) is fine: `fetch` would
        // leave it out, so read it directly.
        ""
    } else {
        me
    };
    let mut shown = fetch(app, &[listed], store_me).await?;
    shown.pop().ok_or_else(|| {
        Failure {
            message: format!("message '{}' could not be read", listed.key),
            hint: None,
        }
        .into()
    })
}

/// The polling schedule of a waiting inbox: quick at first (an answer to a question just
/// asked comes soon), then at most one listing per mailbox every [`IDLE_INTERVAL`] once
/// nothing has arrived for [`ACTIVE_FOR`].
#[derive(Clone, Copy, Debug)]
pub struct Poll {
    next: Duration,
}

const FIRST_INTERVAL: Duration = Duration::from_millis(100);
const ACTIVE_INTERVAL: Duration = Duration::from_millis(500);
const ACTIVE_FOR: Duration = Duration::from_secs(10);
pub const IDLE_INTERVAL: Duration = Duration::from_secs(2);

impl Default for Poll {
    fn default() -> Self {
        Poll {
            next: FIRST_INTERVAL,
        }
    }
}

impl Poll {
    /// The delay before the next look, `idle` after the last message (or the start).
    pub fn next_delay(&mut self, idle: Duration) -> Duration {
        let d = if idle >= ACTIVE_FOR {
            IDLE_INTERVAL
        } else {
            self.next
        };
        self.next = (self.next * 3 / 2).min(ACTIVE_INTERVAL);
        d
    }

    /// Something arrived: be quick again (an answer often follows).
    pub fn reset(&mut self) {
        self.next = FIRST_INTERVAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_is_quick_at_first_and_every_two_seconds_when_idle() {
        let mut p = Poll::default();
        let early: Vec<u128> = (0..8)
            .map(|_| p.next_delay(Duration::from_secs(1)).as_millis())
            .collect();
        assert_eq!(early[0], 100);
        assert_eq!(*early.last().unwrap(), 500);
        assert_eq!(p.next_delay(Duration::from_secs(11)), IDLE_INTERVAL);
        p.reset();
        assert_eq!(p.next_delay(Duration::ZERO), FIRST_INTERVAL);
    }

    fn shown(message: serde_json::Value) -> Shown {
        Shown {
            key: "messages/bob/1795256922017355000_alice_0a1b2c3d.json".into(),
            kind: Kind::Direct,
            message: serde_json::from_value(message).unwrap(),
            order: None,
        }
    }

    #[test]
    fn plain_messages_print_as_before_and_new_fields_add_tags() {
        let plain = shown(json!({"from": "alice", "to": "bob", "message": "hi",
            "sent_at": "2026-11-21T10:28:42.017355+00:00", "step": "S1"}));
        assert_eq!(
            plain.line(false),
            "[2026-11-21T10:28:42.017355+00:00] (direct) alice [step S1]: hi"
        );
        let threaded = shown(json!({"from": "alice", "to": "bob", "message": "hi",
            "sent_at": "2026-11-21T10:28:42.017355+00:00", "thread": "api",
            "reply_to": "1_bob_99aa00bb", "ack_required": true}));
        assert_eq!(
            threaded.line(true),
            "1795256922017355000_alice_0a1b2c3d [2026-11-21T10:28:42.017355+00:00] (direct) alice [thread api] [re 99aa00bb] [ack requested]: hi"
        );
        assert_eq!(threaded.json()["id"], "1795256922017355000_alice_0a1b2c3d");
    }
}
