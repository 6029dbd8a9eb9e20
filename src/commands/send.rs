//! `send R MSG [--step S]`: one create-once message document under the recipient's
//! mailbox (contract sections 2, 3 and 6). The key carries the sender's clock in
//! nanoseconds and 8 hex characters of a random uuid, so a burst of sends from one agent
//! never collides and a mailbox listing is in time order.

use anyhow::Context;
use serde_json::json;

use crate::app::App;
use crate::cli::SendArgs;
use crate::docs::Message;
use crate::ids;
use crate::keys;
use crate::outcome::Outcome;
use crate::store::{PutMode, StoreError};
use crate::time;

/// A fresh uuid suffix is drawn when a create-once write finds its key taken (only a
/// uuid collision within one nanosecond can do that).
const CREATE_ATTEMPTS: usize = 3;

pub async fn run(app: &App, args: SendArgs) -> anyhow::Result<Outcome> {
    // Everything the user typed is checked before anything is written (exit 2).
    ids::check_recipient(&args.recipient)?;
    // The step id is checked under the rule of section 5, but the message carries it as
    // typed, as the Python tool writes it (and as output echoes step ids).
    let step = match args.step {
        Some(step) => {
            let sid = ids::normalize_step(&step)?;
            if let Some(outcome) = super::fence(app, &step, &sid, "send").await? {
                return Ok(outcome);
            }
            Some(step)
        }
        None => None,
    };

    let sender = app.agent().to_string();
    let now = time::now();
    let doc = Message {
        from: sender.clone(),
        to: args.recipient.clone(),
        message: args.message,
        sent_at: Some(time::format(now)),
        step,
        extra: Default::default(),
    };
    let ts = time::ts_ns(now);
    let mode = if app.store.capabilities().atomic_create {
        PutMode::Create
    } else {
        PutMode::Overwrite
    };

    // Presence rides along concurrently: it never adds a round trip to the send.
    let (written, ()) = tokio::join!(
        write_message(app, &doc, &ts, mode),
        app.refresh_presence(None, None)
    );
    let key = written.with_context(|| format!("could not send to {}", doc.to))?;

    let json = json!({
        "to": doc.to,
        "from": doc.from,
        "message": doc.message,
        "step": doc.step,
        "key": key,
        "sent_at": doc.sent_at,
    });
    app.printer
        .result(format!("Sent to {}: {}", doc.to, doc.message), &json);
    Ok(Outcome::Success)
}

/// Writes the message under a new key and returns that key.
/// Writes `doc` to its recipient's mailbox under a fresh key (`mode`: create-once where
/// the backend can promise it); returns the key.
pub async fn write_message(
    app: &App,
    doc: &Message,
    ts: &str,
    mode: PutMode,
) -> anyhow::Result<String> {
    let mut attempt = 1;
    loop {
        let key = keys::message(&doc.to, ts, &doc.from, &uuid8());
        match app.write(&key, doc, mode.clone()).await {
            Ok(_) => return Ok(key),
            Err(StoreError::AlreadyExists { .. }) if attempt < CREATE_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// 8 hex characters of a random uuid4.
fn uuid8() -> String {
    let mut hex = uuid::Uuid::new_v4().simple().to_string();
    hex.truncate(8);
    hex
}
