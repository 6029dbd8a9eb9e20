//! Conversations (contract section 13): a message sent in a thread also gets a create-once
//! pointer `threads/<thread>/<message-id>.json`, so `thread T` reads one prefix whatever
//! the size of the mailboxes. The pointer holds a copy of the message and its key, so a
//! conversation reads back in one request per message and survives the recipient's
//! `inbox --delete`.

use anyhow::Context;
use chrono::DateTime;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::app::{self, App, FETCH_CONCURRENCY};
use crate::docs::Message;
use crate::keys;
use crate::store::StoreError;
use crate::time;

use super::{Kind, Shown, outbox};

/// `threads/<thread>/<message-id>.json`: the message, and where it was delivered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pointer {
    pub key: String,
    #[serde(flatten)]
    pub message: Message,
}

/// Records `message` (stored at `key`) in `thread`; a pointer already there is kept.
pub async fn record(app: &App, thread: &str, key: &str, message: &Message) -> anyhow::Result<()> {
    let id = keys::message_id(key).context("not a message key")?;
    let pointer = Pointer {
        key: key.to_string(),
        message: message.clone(),
    };
    match app
        .write(
            &keys::thread_entry(thread, id),
            &pointer,
            outbox::create_mode(app),
        )
        .await
    {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The conversation, oldest first.
pub async fn read(app: &App, thread: &str) -> anyhow::Result<Vec<Shown>> {
    let dir = keys::thread_dir(thread);
    let listed = app
        .store
        .list(&dir, None)
        .await
        .with_context(|| format!("could not list {dir}"))?;
    let store = &app.store;
    let bodies: Vec<_> = stream::iter(listed.into_iter().map(|e| e.key))
        .map(|k| async move {
            let got = store.get(&k).await;
            (k, got)
        })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let mut shown = Vec::new();
    for (k, body) in bodies {
        let obj = match body {
            Ok(obj) => obj,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e).with_context(|| format!("could not read '{k}'")),
        };
        let pointer: Pointer = match app::decode(&k, &obj.body) {
            Ok(p) => p,
            Err(e) => {
                app.printer
                    .warn(format!("skipping unreadable thread entry: {e}"));
                continue;
            }
        };
        let kind = if pointer.message.to == keys::BROADCAST {
            Kind::Broadcast
        } else {
            Kind::Direct
        };
        let order = pointer
            .message
            .sent_at
            .as_deref()
            .and_then(time::parse)
            .or_else(|| {
                keys::message_id(&pointer.key)
                    .and_then(keys::parse_stem)
                    .map(|(ts, _)| DateTime::from_timestamp_nanos(ts))
            });
        shown.push(Shown {
            key: pointer.key,
            kind,
            message: pointer.message,
            order,
        });
    }
    shown.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.key.cmp(&b.key)));
    Ok(shown)
}
