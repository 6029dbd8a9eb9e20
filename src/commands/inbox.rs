//! `inbox [--new] [--delete]`: the agent's direct messages and everyone's broadcasts,
//! merged in time order (contract sections 2, 3 and 6). Reading and the `--new` read
//! cursor live in [`crate::mailbox`], shared with `prime` and the harness hooks.

use anyhow::Context;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::json;

use crate::app::{App, FETCH_CONCURRENCY};
use crate::cli::InboxArgs;
use crate::mailbox::{self, Kind, Query, Shown};
use crate::outcome::{Outcome, UsageError};

pub async fn run(app: &App, args: InboxArgs) -> anyhow::Result<Outcome> {
    if args.new && args.delete {
        // clap refuses this pair already; kept for callers that build the args directly.
        return Err(UsageError::new("--new and --delete cannot be used together").into());
    }
    let read = mailbox::read(
        app,
        Query {
            new: args.new,
            limit: None,
        },
    )
    .await?;
    print(app, &read.messages, args.new);

    if args.delete {
        delete_direct(app, &read.messages).await?;
    }
    let cursor_key = crate::keys::cursor(app.agent());
    read.mark_read(app).await.with_context(|| {
        format!(
            "could not save the read cursor '{cursor_key}'; the next `inbox --new` will show these messages again"
        )
    })?;
    Ok(Outcome::Success)
}

fn print(app: &App, shown: &[Shown], new: bool) {
    app.printer.result(human(shown, new), &to_json(shown));
}

/// The `--json` object of a list of messages.
pub fn to_json(shown: &[Shown]) -> serde_json::Value {
    json!({
        "messages": shown.iter().map(|s| json!({
            "key": s.key,
            "kind": s.kind.name(),
            "from": s.message.from,
            "to": s.message.to,
            "message": s.message.message,
            "sent_at": s.message.sent_at,
            "step": s.message.step,
        })).collect::<Vec<_>>(),
        "count": shown.len(),
    })
}

/// One line per message, or `No (new) messages.`
pub fn human(shown: &[Shown], new: bool) -> String {
    if shown.is_empty() {
        if new {
            "No new messages."
        } else {
            "No messages."
        }
        .to_string()
    } else {
        shown.iter().map(line).collect::<Vec<_>>().join("\n")
    }
}

/// `[sent_at] (direct|broadcast) from[ [step S]]: message`
pub fn line(s: &Shown) -> String {
    let m = &s.message;
    let step = m
        .step
        .as_deref()
        .map(|s| format!(" [step {s}]"))
        .unwrap_or_default();
    format!(
        "[{}] ({}) {}{}: {}",
        m.sent_at.as_deref().unwrap_or("?"),
        s.kind.name(),
        m.from,
        step,
        m.message
    )
}

/// Deletes the direct messages shown; broadcasts belong to every reader and stay.
async fn delete_direct(app: &App, shown: &[Shown]) -> anyhow::Result<()> {
    let store = &app.store;
    let direct: Vec<String> = shown
        .iter()
        .filter(|s| s.kind == Kind::Direct)
        .map(|s| s.key.clone())
        .collect();
    // Owned keys keep the future `Send` (the MCP server runs this command too).
    stream::iter(direct.clone())
        .map(|key| async move {
            store
                .delete(&key)
                .await
                .with_context(|| format!("could not delete message '{key}'"))
        })
        .buffer_unordered(FETCH_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    if !shown.is_empty() {
        app.printer.info(format!(
            "Deleted {} direct message(s); broadcasts left in place.",
            direct.len()
        ));
    }
    Ok(())
}
