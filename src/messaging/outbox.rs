//! Sending (contract sections 2, 3 and 13): one create-once message document under the
//! recipient's mailbox, and with it, in the same round trip, the thread pointer, the
//! acknowledgement request, the event and the presence refresh. The key carries the
//! sender's clock in nanoseconds and 8 hex characters of a random uuid, so a burst of sends
//! from one agent never collides and a mailbox listing is in time order.

use anyhow::Context;

use crate::app::App;
use crate::docs::Message;
use crate::events::{self, Event};
use crate::ids;
use crate::keys;
use crate::store::{PutMode, StoreError};
use crate::time;

use super::{acks, threads};

/// A fresh uuid suffix is drawn when a create-once write finds its key taken (only a
/// uuid collision within one nanosecond can do that).
const CREATE_ATTEMPTS: usize = 3;

/// A message about to be sent; identifiers already checked.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub to: String,
    pub message: String,
    /// As typed.
    pub step: Option<String>,
    pub thread: Option<String>,
    pub reply_to: Option<String>,
    pub ack: bool,
    /// The message answered, when it has no thread yet: it gets a pointer in the new
    /// thread too, so `thread` shows the whole conversation.
    pub answered: Option<(String, Message)>,
    /// What the message is, when it is not a plain note: `complete --to` sends a
    /// `"kind": "handoff"` (contract section 10).
    pub kind: Option<String>,
}

/// A message sent.
pub struct Sent {
    pub key: String,
    pub id: String,
    pub doc: Message,
}

pub fn create_mode(app: &App) -> PutMode {
    if app.store.capabilities().atomic_create {
        PutMode::Create
    } else {
        PutMode::Overwrite
    }
}

pub async fn send(app: &App, out: Outgoing) -> anyhow::Result<Sent> {
    let now = time::now();
    let mut doc = Message {
        from: app.agent().to_string(),
        to: out.to.clone(),
        message: out.message,
        sent_at: Some(time::format(now)),
        step: out.step,
        thread: out.thread,
        reply_to: out.reply_to,
        ack_required: out.ack,
        extra: Default::default(),
    };
    if let Some(kind) = out.kind {
        doc.extra
            .insert("kind".into(), serde_json::Value::String(kind));
    }
    let ts = time::ts_ns(now);
    let mode = create_mode(app);
    let mut attempt = 1;
    loop {
        let key = keys::message(&doc.to, &ts, &doc.from, &ids::uuid8());
        let id = keys::message_id(&key).expect("a message key").to_string();
        // Everything that goes with the message rides along concurrently: sending costs
        // one round trip however much of it there is.
        let pointer = async {
            match &doc.thread {
                Some(t) => threads::record(app, t, &key, &doc).await,
                None => Ok(()),
            }
        };
        let answered = async {
            match (&doc.thread, &out.answered) {
                (Some(t), Some((k, m))) => threads::record(app, t, k, m).await,
                _ => Ok(()),
            }
        };
        let request = async {
            if doc.ack_required {
                acks::request(app, &id, &key, &doc).await
            } else {
                Ok(())
            }
        };
        let event = Event::new("send")
            .step(doc.step.clone())
            .key(key.clone())
            .with("to", &doc.to)
            .with("thread", &doc.thread)
            .with("reply_to", &doc.reply_to)
            .with("ack", doc.ack_required.then_some(true));
        let (written, pointer, answered, request, ()) = tokio::join!(
            events::alongside(app, event, app.write(&key, &doc, mode.clone())),
            pointer,
            answered,
            request,
            app.refresh_presence(None, None),
        );
        match written {
            Ok(_) => {}
            Err(StoreError::AlreadyExists { .. }) if attempt < CREATE_ATTEMPTS => {
                attempt += 1;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("could not send to {}", doc.to)),
        }
        pointer.context("the message was sent, but its thread pointer was not recorded")?;
        answered.context(
            "the message was sent, but the answered message's thread pointer was not recorded",
        )?;
        request
            .context("the message was sent, but its acknowledgement request was not recorded")?;
        return Ok(Sent { key, id, doc });
    }
}
