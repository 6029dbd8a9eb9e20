//! `send R MSG [--step S] [--thread T] [--reply-to ID] [--ack]`: one create-once message
//! under the recipient's mailbox (contract sections 2, 3, 6 and 13). The protocol (the
//! key, the thread pointer, the acknowledgement request, the event) is in
//! [`crate::messaging::outbox`]; this file checks the input and prints.

use serde_json::json;

use crate::app::App;
use crate::cli::SendArgs;
use crate::ids;
use crate::messaging::{self, outbox};
use crate::outcome::Outcome;

pub async fn run(app: &App, args: SendArgs) -> anyhow::Result<Outcome> {
    // Everything the user typed is checked before anything is written (exit 2).
    ids::check_recipient(&args.recipient)?;
    if let Some(t) = &args.thread {
        ids::check_thread(t)?;
    }
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
    // `--reply-to` names a message the caller can see; the reply joins its thread unless
    // another one is given.
    let me = app.agent().to_string();
    let (reply_to, mut thread, answered) = match &args.reply_to {
        Some(id) => {
            let listed = messaging::resolve(app, &me, id).await?;
            let original = messaging::read_one(app, &me, &listed).await?;
            let id = original.id().to_string();
            match original.message.thread.clone() {
                Some(t) => (Some(id), Some(t), None),
                None => (
                    Some(id.clone()),
                    Some(id),
                    Some((original.key.clone(), original.message.clone())),
                ),
            }
        }
        None => (None, None, None),
    };
    if args.thread.is_some() {
        thread = args.thread.clone();
    }
    let answered = answered.filter(|_| args.thread.is_none());
    let sent = outbox::send(
        app,
        outbox::Outgoing {
            to: args.recipient,
            message: args.message,
            step,
            thread,
            reply_to,
            ack: args.ack,
            answered,
            kind: None,
        },
    )
    .await?;
    print_sent(app, &sent);
    Ok(Outcome::Success)
}

/// `Sent to R: MSG`, as before for a plain message; a thread or an acknowledgement
/// request are said on a second line.
pub fn print_sent(app: &App, sent: &outbox::Sent) {
    let doc = &sent.doc;
    let mut human = format!("Sent to {}: {}", doc.to, doc.message);
    let mut notes = Vec::new();
    if let Some(t) = &doc.thread {
        notes.push(format!("thread {t}"));
    }
    if doc.ack_required {
        notes.push("acknowledgement requested".to_string());
    }
    if !notes.is_empty() {
        human.push_str(&format!(
            "\n  id {} ({})",
            messaging::short_id(&sent.id),
            notes.join(", ")
        ));
    }
    let json = json!({
        "to": doc.to,
        "from": doc.from,
        "message": doc.message,
        "step": doc.step,
        "key": sent.key,
        "id": sent.id,
        "sent_at": doc.sent_at,
        "thread": doc.thread,
        "reply_to": doc.reply_to,
        "ack_required": doc.ack_required,
    });
    app.printer.result(human, &json);
}
