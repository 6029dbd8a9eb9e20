//! The mailbox of contract sections 2, 3 and 6: reading an agent's direct messages and
//! everyone's broadcasts, and the read cursor that `inbox --new`, `prime` and the harness
//! hooks share, so a message is shown as new exactly once whichever of them shows it.
//!
//! The cursor lives at `messages/<me>/_cursor.json`, one part per stream: a `watermark`
//! (a project-relative key prefix; every key at or below it counts as read, and listings
//! start after it) and `seen` (the message keys above the watermark already shown).
//! Message keys carry the sender's clock, so a message can land after a newer one was
//! read; the watermark therefore trails the newest key read by [`HORIZON_NS`] and the
//! seen-set catches everything above it, so a late message is still shown exactly once.
//! The cursor is updated with a compare-and-swap, merging with whatever another reader
//! with the same agent id saved meanwhile. Reading and marking read are two steps
//! ([`read`], then [`Read::mark_read`] or [`Read::mark_shown_read`]): a caller decides
//! whether what it showed counts as read.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::app::{self, App, FETCH_CONCURRENCY};
use crate::docs::{Cursor, CursorPart, Message};
use crate::keys;
use crate::store::{ListEntry, PutMode, StoreError, Version};
use crate::time;

/// How far the watermark trails the newest key read: a message whose key is up to this
/// much older than the newest one read is still shown when it lands late.
const HORIZON_NS: i64 = 3_600 * 1_000_000_000;
/// The most keys one stream's seen-set keeps; past it the watermark moves up to the
/// newest key dropped, so the cursor stays small.
const SEEN_CAP: usize = 2_000;
/// Compare-and-swap rounds before giving up on saving the cursor: each round lets at
/// least one concurrent reader through.
const CURSOR_ATTEMPTS: usize = 16;

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
struct Listed {
    key: String,
    kind: Kind,
    sender: String,
    /// The sender's clock from the key, in nanoseconds.
    ts_ns: Option<i64>,
}

/// A message read.
pub struct Shown {
    pub key: String,
    pub kind: Kind,
    pub message: Message,
    /// `sent_at`, else the key's timestamp: the merge order.
    pub order: Option<DateTime<Utc>>,
}

/// The stored cursor and the version it was read at (`None`: there is none).
struct Stored {
    cursor: Cursor,
    version: Option<Version>,
}

/// What [`read`] found: the messages (oldest first), how many there were in all, and what
/// marking them read needs.
pub struct Read {
    /// The messages read, in time order (oldest first); with a limit, the newest ones.
    pub messages: Vec<Shown>,
    /// Every message wanted, also those past the limit whose bodies were not read.
    pub total: usize,
    /// The cursor as read (`None` unless reading only new messages).
    stored: Option<Stored>,
    /// Every message key listed, per stream.
    listed: [(String, Vec<String>); 2],
    anything_unseen: bool,
}

/// Which messages [`read`] returns.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query {
    /// Only those the read cursor has not seen (`inbox --new`).
    pub new: bool,
    /// Read the bodies of at most this many (the newest); `total` still counts all.
    pub limit: Option<usize>,
}

/// Lists the caller's mailbox and the broadcasts (two listings, the cursor with
/// `query.new`) and reads the bodies wanted: the caller's own broadcasts are left out.
/// Nothing is marked read.
pub async fn read(app: &App, query: Query) -> anyhow::Result<Read> {
    let me = app.agent().to_string();
    let direct_prefix = keys::mailbox(&me);
    let broadcast_prefix = keys::mailbox(keys::BROADCAST);
    let cursor_key = keys::cursor(&me);

    let stored = if query.new {
        Some(load_cursor(app, &cursor_key, true).await?)
    } else {
        None
    };
    let parts = stored
        .as_ref()
        .map(|s| (&s.cursor.direct, &s.cursor.broadcast));
    let direct_after = parts.and_then(|(d, _)| watermark(d, &direct_prefix));
    let broadcast_after = parts.and_then(|(_, b)| watermark(b, &broadcast_prefix));

    let (direct, broadcast) = tokio::join!(
        app.store.list(&direct_prefix, direct_after),
        app.store.list(&broadcast_prefix, broadcast_after),
    );
    let direct = message_keys(
        direct.with_context(|| format!("could not list {direct_prefix}"))?,
        Kind::Direct,
    );
    let broadcast = message_keys(
        broadcast.with_context(|| format!("could not list {broadcast_prefix}"))?,
        Kind::Broadcast,
    );

    // With --new, only what the cursor has not seen; the watermark was applied by the
    // listing, and is checked again in case a backend lists inclusively.
    let unseen = |listed: &[Listed], part: Option<&CursorPart>, prefix: &str| -> Vec<usize> {
        let seen: BTreeSet<&str> = part
            .map(|p| p.seen.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let after = part.and_then(|p| watermark(p, prefix));
        (0..listed.len())
            .filter(|&i| {
                let key = listed[i].key.as_str();
                after.is_none_or(|w| key > w) && !seen.contains(key)
            })
            .collect()
    };
    let direct_new = unseen(&direct, parts.map(|(d, _)| d), &direct_prefix);
    let broadcast_new = unseen(&broadcast, parts.map(|(_, b)| b), &broadcast_prefix);
    let anything_unseen = !direct_new.is_empty() || !broadcast_new.is_empty();

    // Own broadcasts are left out by the sender in the key, without a read.
    let mut wanted: Vec<&Listed> = direct_new
        .iter()
        .map(|&i| &direct[i])
        .chain(
            broadcast_new
                .iter()
                .map(|&i| &broadcast[i])
                .filter(|l| l.sender != me),
        )
        .collect();
    let total = wanted.len();
    if let Some(limit) = query.limit {
        // The newest by the sender's clock in the key: only those bodies are read.
        wanted.sort_by(|a, b| b.ts_ns.cmp(&a.ts_ns).then_with(|| b.key.cmp(&a.key)));
        wanted.truncate(limit);
    }

    let mut messages = fetch(app, &wanted, &me).await?;
    messages.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.key.cmp(&b.key)));
    let keys_of = |l: &[Listed]| l.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
    Ok(Read {
        total: total - (wanted.len() - messages.len()).min(total),
        messages,
        stored,
        listed: [
            (direct_prefix, keys_of(&direct)),
            (broadcast_prefix, keys_of(&broadcast)),
        ],
        anything_unseen,
    })
}

impl Read {
    /// Marks everything listed as read (what `inbox --new` does after showing it all).
    /// No-op unless the read was of new messages and found some.
    pub async fn mark_read(self, app: &App) -> anyhow::Result<()> {
        let Some(stored) = self.stored else {
            return Ok(());
        };
        if !self.anything_unseen {
            return Ok(());
        }
        let cursor_key = keys::cursor(app.agent());
        save_cursor(app, &cursor_key, stored, &self.listed, true).await
    }

    /// Marks only the messages returned as read, leaving the watermark where it is: for a
    /// caller that showed the newest few of many, so the rest stay new.
    pub async fn mark_shown_read(self, app: &App) -> anyhow::Result<()> {
        let Some(stored) = self.stored else {
            return Ok(());
        };
        if self.messages.is_empty() {
            return Ok(());
        }
        let cursor_key = keys::cursor(app.agent());
        if self.messages.len() == self.total {
            return save_cursor(app, &cursor_key, stored, &self.listed, true).await;
        }
        let shown: BTreeSet<&str> = self.messages.iter().map(|m| m.key.as_str()).collect();
        let only = |(prefix, keys): &(String, Vec<String>)| {
            let keys = keys
                .iter()
                .filter(|k| shown.contains(k.as_str()))
                .cloned()
                .collect();
            (prefix.clone(), keys)
        };
        let streams = [only(&self.listed[0]), only(&self.listed[1])];
        save_cursor(app, &cursor_key, stored, &streams, false).await
    }
}

/// The message keys of a listing: bookkeeping (`_cursor.json`, any `_` name), nested keys
/// and names that are not messages are dropped.
fn message_keys(entries: Vec<ListEntry>, kind: Kind) -> Vec<Listed> {
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

/// Reads the bodies, at most [`FETCH_CONCURRENCY`] at a time. A corrupt body is skipped
/// with a warning; one deleted meanwhile (by a concurrent `inbox --delete`) silently.
async fn fetch(app: &App, wanted: &[&Listed], me: &str) -> anyhow::Result<Vec<Shown>> {
    let store = &app.store;
    // Indices rather than references into the closure keep the future `Send` for the
    // MCP server (a closure over `&Listed` trips the compiler's higher-ranked check).
    let bodies: Vec<_> = stream::iter(0..wanted.len())
        .map(|i| async move { (wanted[i], store.get(&wanted[i].key).await) })
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

/// The watermark of a cursor part, when it lies in this stream (a foreign one could hide
/// every message, so it is ignored: messages are shown again rather than lost).
fn watermark<'a>(part: &'a CursorPart, prefix: &str) -> Option<&'a str> {
    part.watermark.as_deref().filter(|w| w.starts_with(prefix))
}

/// Reads the cursor. A corrupt one is replaced (with a warning): messages are shown again
/// rather than `inbox --new` failing until someone repairs it.
async fn load_cursor(app: &App, key: &str, warn: bool) -> anyhow::Result<Stored> {
    match app.store.get(key).await {
        Ok(obj) => {
            let cursor = app::decode::<Cursor>(key, &obj.body).unwrap_or_else(|e| {
                if warn {
                    app.printer.warn(format!(
                        "{e}; starting a new read cursor, older messages may be shown again"
                    ));
                }
                Cursor::default()
            });
            Ok(Stored {
                cursor,
                version: Some(obj.meta.version),
            })
        }
        Err(StoreError::NotFound { .. }) => Ok(Stored {
            cursor: Cursor::default(),
            version: None,
        }),
        Err(e) => Err(e).with_context(|| format!("could not read the read cursor '{key}'")),
    }
}

/// Advances the cursor over everything listed, with a compare-and-swap: on a conflict
/// the cursor is read again and this read's progress merged into it (union of seen, the
/// higher watermark), so concurrent readers with one agent id never lose each other's
/// progress. Backends without compare-and-swap get a fresh read and an overwrite.
async fn save_cursor(
    app: &App,
    key: &str,
    start: Stored,
    streams: &[(String, Vec<String>); 2],
    trail: bool,
) -> anyhow::Result<()> {
    let caps = app.store.capabilities();
    let ours = [start.cursor.direct.clone(), start.cursor.broadcast.clone()];
    let mut current = if caps.compare_and_swap {
        start
    } else {
        load_cursor(app, key, false).await?
    };
    let mut attempt = 1;
    loop {
        let now_ns = time::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut next = current.cursor.clone();
        let now_ns = if trail { now_ns } else { 0 };
        next.direct = advance(&next.direct, &ours[0], &streams[0].1, &streams[0].0, now_ns);
        next.broadcast = advance(
            &next.broadcast,
            &ours[1],
            &streams[1].1,
            &streams[1].0,
            now_ns,
        );
        next.updated_at = Some(time::now_iso());
        let mode = match current.version {
            Some(v) if caps.compare_and_swap => PutMode::UpdateIfVersion(v),
            None if caps.atomic_create => PutMode::Create,
            _ => PutMode::Overwrite,
        };
        match app.write(key, &next, mode).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() && attempt < CURSOR_ATTEMPTS => {
                app.printer
                    .debug(format!("read cursor changed meanwhile ({e}); merging"));
                attempt += 1;
                current = load_cursor(app, key, false).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One stream's next cursor: `stored` (what is saved now) merged with `ours` (what this
/// read started from) and advanced over the keys `listed`. The watermark never goes back;
/// it trails the newest key listed (taken no later than the reader's clock, so one sender
/// with a fast clock cannot push it past messages still to come) by [`HORIZON_NS`].
/// `seen` keeps the known keys above it, at most [`SEEN_CAP`]. A `now_ns` of 0 adds the
/// keys to `seen` without moving the watermark up to them.
fn advance(
    stored: &CursorPart,
    ours: &CursorPart,
    listed: &[String],
    prefix: &str,
    now_ns: i64,
) -> CursorPart {
    let mut mark: Option<String> = [watermark(stored, prefix), watermark(ours, prefix)]
        .into_iter()
        .flatten()
        .max()
        .map(str::to_string);
    // A reader's clock of 0 (marking a few shown messages read) never moves the mark.
    let newest = listed
        .iter()
        .filter_map(|k| keys::parse_message(k)?.ts_ns.parse::<i64>().ok())
        .max()
        .filter(|_| now_ns > 0);
    if let Some(newest) = newest {
        let horizon = newest.min(now_ns).saturating_sub(HORIZON_NS);
        if horizon > 0 {
            let trailing = format!("{prefix}{horizon:019}");
            if mark.as_ref().is_none_or(|m| trailing > *m) {
                mark = Some(trailing);
            }
        }
    }
    let known: BTreeSet<&str> = stored
        .seen
        .iter()
        .chain(&ours.seen)
        .chain(listed)
        .map(String::as_str)
        .filter(|k| k.starts_with(prefix))
        .filter(|k| mark.as_deref().is_none_or(|m| *k > m))
        .collect();
    let mut seen: Vec<String> = known.into_iter().map(str::to_string).collect();
    if seen.len() > SEEN_CAP {
        let cut = seen.len() - SEEN_CAP;
        mark = Some(seen[cut - 1].clone());
        seen.drain(..cut);
    }
    CursorPart {
        watermark: mark,
        seen,
    }
}

#[cfg(test)]
#[path = "mailbox/tests.rs"]
mod tests;
