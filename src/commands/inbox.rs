//! `inbox [--new] [--delete] [--ids] [--wait [--timeout S]] [--follow]`: the agent's
//! direct messages and everyone's broadcasts, merged in time order (contract sections 2, 3,
//! 6 and 13). Reading, the cursor and the polling schedule are in [`crate::messaging`];
//! this file decides what to print and when to stop.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::time::Instant;

use crate::app::App;
use crate::cli::InboxArgs;
use crate::events::{self, Event};
use crate::keys;
use crate::messaging::cursor::{self, Stored};
use crate::messaging::{self, Pass, Poll, Shown};
use crate::outcome::{Interrupted, Outcome, UsageError};

pub async fn run(app: &App, args: InboxArgs) -> anyhow::Result<Outcome> {
    if args.new && args.delete {
        // clap refuses this pair already; kept for callers that build the args directly.
        return Err(UsageError::new("--new and --delete cannot be used together").into());
    }
    if args.wait || args.follow {
        return watch(app, &args).await;
    }
    let me = app.agent().to_string();
    let cursor_key = keys::cursor(&me);
    let stored = if args.new {
        Some(cursor::load_cursor(app, &cursor_key, true).await?)
    } else {
        None
    };
    let pass = messaging::read_pass(app, &me, parts(stored.as_ref())).await?;
    print_all(app, &pass.shown, args.new, args.ids);

    if args.delete {
        let deleted = messaging::delete_direct(app, &pass.shown).await?;
        if deleted > 0 {
            events::record(app, Event::new("inbox.delete").with("deleted", deleted)).await;
        }
        if !pass.shown.is_empty() {
            app.printer.info(format!(
                "Deleted {deleted} direct message(s); broadcasts left in place."
            ));
        }
    }
    if let Some(stored) = stored {
        save(app, &cursor_key, stored, &pass).await?;
    }
    Ok(Outcome::Success)
}

fn parts(stored: Option<&Stored>) -> Option<[&crate::docs::CursorPart; 2]> {
    stored.map(|s| [&s.cursor.direct, &s.cursor.broadcast])
}

/// Advances the cursor over what `pass` listed, when it found anything new.
async fn save(app: &App, key: &str, stored: Stored, pass: &Pass) -> anyhow::Result<Stored> {
    if !pass.anything_unseen {
        return Ok(stored);
    }
    let me = app.agent();
    let (direct, broadcast) = (keys::mailbox(me), keys::mailbox(keys::BROADCAST));
    let streams = [
        (direct.as_str(), pass.listed[0].clone()),
        (broadcast.as_str(), pass.listed[1].clone()),
    ];
    cursor::save_cursor(app, key, stored, &streams)
        .await
        .with_context(|| {
            format!(
                "could not save the read cursor '{key}'; the next `inbox --new` will show these messages again"
            )
        })
}

fn print_all(app: &App, shown: &[Shown], new: bool, ids: bool) {
    let json = json!({
        "messages": shown.iter().map(Shown::json).collect::<Vec<_>>(),
        "count": shown.len(),
    });
    let human = if shown.is_empty() {
        if new {
            "No new messages."
        } else {
            "No messages."
        }
        .to_string()
    } else {
        shown
            .iter()
            .map(|s| s.line(ids))
            .collect::<Vec<_>>()
            .join("\n")
    };
    app.printer.result(human, &json);
}

/// `--wait` and `--follow`: look at the mailbox (after the cursor's watermark), print what
/// is new and save the cursor, else sleep on the polling schedule. Ctrl-C exits 130.
async fn watch(app: &App, args: &InboxArgs) -> anyhow::Result<Outcome> {
    let timeout = match args.timeout {
        None => None,
        Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(UsageError::new(format!(
                "--timeout must be a number of seconds >= 0, not {s}"
            ))
            .into());
        }
    };
    let me = app.agent().to_string();
    let cursor_key = keys::cursor(&me);
    let mut stored = cursor::load_cursor(app, &cursor_key, true).await?;
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    let mut last_activity = started;
    let mut poll = Poll::default();
    if args.follow {
        app.printer
            .info("Following your inbox: Ctrl-C to stop.".to_string());
    }
    loop {
        let pass = tokio::select! {
            pass = messaging::read_pass(app, &me, parts(Some(&stored))) => pass?,
            _ = tokio::signal::ctrl_c() => return Err(Interrupted.into()),
        };
        // The benchmark counts these lines to measure an idle waiter's request rate.
        app.printer.debug(format!(
            "inbox: looked at 2 mailboxes at {:.3} s",
            started.elapsed().as_secs_f64()
        ));
        let found = !pass.shown.is_empty();
        if found {
            if args.wait {
                print_all(app, &pass.shown, true, args.ids);
            } else {
                for s in &pass.shown {
                    app.printer.result(s.line(args.ids), &s.json());
                }
            }
        }
        stored = save(app, &cursor_key, stored, &pass).await?;
        if found {
            if args.wait {
                return Ok(Outcome::Success);
            }
            last_activity = Instant::now();
            poll.reset();
        }
        let mut delay = poll.next_delay(last_activity.elapsed());
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                app.printer.refusal(
                    "Timed out; no new messages",
                    None,
                    &json!({"messages": [], "count": 0, "timed_out": true}),
                );
                return Ok(Outcome::TimedOut);
            }
            delay = delay.min(deadline - now);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tokio::signal::ctrl_c() => return Err(Interrupted.into()),
        }
    }
}
