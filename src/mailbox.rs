//! What `prime` and the harness hooks read of the mailbox: the new messages (or all of
//! them), through the same read cursor as `inbox --new` (`messaging::cursor`), so a message
//! is shown as new exactly once whichever of them shows it. Reading and marking read are
//! two steps ([`read`], then [`Read::mark_read`] or [`Read::mark_shown_read`]): a caller
//! decides whether what it showed counts as read. The listing, merging and cursor logic
//! is `messaging`'s; this module only shapes it for callers that show a few.

use std::collections::BTreeSet;

use crate::app::App;
use crate::keys;
use crate::messaging::{self, cursor};

pub use crate::messaging::{Kind, Shown};

/// What [`read`] found: the messages (oldest first), how many there were in all, and what
/// marking them read needs.
pub struct Read {
    /// The messages read, in time order (oldest first); with a limit, the newest ones.
    pub messages: Vec<Shown>,
    /// Every message wanted, also those past the limit.
    pub total: usize,
    /// The cursor as read (`None` unless reading only new messages).
    stored: Option<cursor::Stored>,
    /// Every message key listed, per stream (direct, broadcast).
    listed: [Vec<String>; 2],
    anything_unseen: bool,
}

/// Which messages [`read`] returns.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query {
    /// Only those the read cursor has not seen (`inbox --new`).
    pub new: bool,
    /// Return at most this many (the newest); `total` still counts all.
    pub limit: Option<usize>,
}

/// Lists the caller's mailbox and the broadcasts (two listings, the cursor with
/// `query.new`) and reads the messages wanted; the caller's own broadcasts are left out.
/// Nothing is marked read.
pub async fn read(app: &App, query: Query) -> anyhow::Result<Read> {
    let me = app.agent().to_string();
    let stored = if query.new {
        Some(cursor::load_cursor(app, &keys::cursor(&me), true).await?)
    } else {
        None
    };
    let parts = stored
        .as_ref()
        .map(|s| [&s.cursor.direct, &s.cursor.broadcast]);
    let pass = messaging::read_pass(app, &me, parts).await?;
    let total = pass.shown.len();
    let mut messages = pass.shown;
    if let Some(limit) = query.limit {
        messages.drain(..messages.len().saturating_sub(limit));
    }
    Ok(Read {
        messages,
        total,
        stored,
        listed: pass.listed,
        anything_unseen: pass.anything_unseen,
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
        let streams = streams(app, self.listed);
        cursor::save_cursor(app, &keys::cursor(app.agent()), stored, &borrow(&streams)).await?;
        Ok(())
    }

    /// Marks only the messages returned as read, leaving the watermark where it is: for a
    /// caller that showed the newest few of many, so the rest stay new.
    pub async fn mark_shown_read(self, app: &App) -> anyhow::Result<()> {
        if self.messages.len() == self.total {
            return self.mark_read(app).await;
        }
        let Some(stored) = self.stored else {
            return Ok(());
        };
        if self.messages.is_empty() {
            return Ok(());
        }
        let shown: BTreeSet<&str> = self.messages.iter().map(|m| m.key.as_str()).collect();
        let [direct, broadcast] = self.listed.clone();
        let only = |keys: Vec<String>| -> Vec<String> {
            keys.into_iter()
                .filter(|k| shown.contains(k.as_str()))
                .collect()
        };
        let streams = streams(app, [only(direct), only(broadcast)]);
        cursor::save_seen_only(app, &keys::cursor(app.agent()), stored, &borrow(&streams)).await?;
        Ok(())
    }
}

fn streams(app: &App, listed: [Vec<String>; 2]) -> [(String, Vec<String>); 2] {
    let [direct, broadcast] = listed;
    [
        (keys::mailbox(app.agent()), direct),
        (keys::mailbox(keys::BROADCAST), broadcast),
    ]
}

fn borrow(streams: &[(String, Vec<String>); 2]) -> [(&str, Vec<String>); 2] {
    [
        (streams[0].0.as_str(), streams[0].1.clone()),
        (streams[1].0.as_str(), streams[1].1.clone()),
    ]
}
