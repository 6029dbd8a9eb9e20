//! Acknowledgements (contract section 13): `send --ack` records who must acknowledge at
//! `acks/<message-id>/_request.json`; `ack ID` records `acks/<message-id>/<agent>.json`,
//! create-once and so idempotent. Who has acknowledged what is read from one listing of
//! `acks/` (names only); requests are read only for the messages that matter to the
//! caller.

use std::collections::BTreeMap;

use anyhow::Context;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::app::{App, FETCH_CONCURRENCY};
use crate::docs::{Extra, Message};
use crate::keys;
use crate::store::StoreError;
use crate::time;

use super::outbox;

/// `acks/<message-id>/_request.json`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Request {
    pub from: String,
    pub to: String,
    pub key: String,
    #[serde(default)]
    pub sent_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `acks/<message-id>/<agent>.json`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ack {
    pub agent: String,
    pub acked_at: String,
    pub key: String,
    #[serde(flatten)]
    pub extra: Extra,
}

pub async fn request(app: &App, id: &str, key: &str, doc: &Message) -> anyhow::Result<()> {
    let req = Request {
        from: doc.from.clone(),
        to: doc.to.clone(),
        key: key.to_string(),
        sent_at: doc.sent_at.clone(),
        extra: Default::default(),
    };
    app.write(&keys::ack_request(id), &req, outbox::create_mode(app))
        .await?;
    Ok(())
}

/// Records the caller's acknowledgement of the message stored at `key`; `false` when it
/// was already there (acknowledging twice changes nothing).
pub async fn acknowledge(app: &App, id: &str, key: &str) -> anyhow::Result<bool> {
    let doc = Ack {
        agent: app.agent().to_string(),
        acked_at: time::now_iso(),
        key: key.to_string(),
        extra: Default::default(),
    };
    let ack_key = keys::ack(id, app.agent());
    if !app.store.capabilities().atomic_create {
        // Without create-once, look first so a second ack keeps the first time.
        match app.store.head(&ack_key).await {
            Ok(_) => return Ok(false),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match app.write(&ack_key, &doc, outbox::create_mode(app)).await {
        Ok(_) => Ok(true),
        Err(StoreError::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not record the acknowledgement {ack_key}")),
    }
}

/// What the listing of `acks/` says about one message.
#[derive(Clone, Debug, Default)]
struct Listed {
    requested: bool,
    acked_by: Vec<String>,
}

async fn list_all(app: &App) -> anyhow::Result<BTreeMap<String, Listed>> {
    let entries = app
        .store
        .list(keys::ACKS_DIR, None)
        .await
        .with_context(|| format!("could not list {}", keys::ACKS_DIR))?;
    let mut by_id: BTreeMap<String, Listed> = BTreeMap::new();
    for e in entries {
        let Some((id, agent)) = keys::parse_ack(&e.key) else {
            continue;
        };
        let entry = by_id.entry(id.to_string()).or_default();
        match agent {
            None => entry.requested = true,
            Some(a) => entry.acked_by.push(a.to_string()),
        }
    }
    Ok(by_id)
}

/// A message that asked for acknowledgement.
#[derive(Clone, Debug)]
pub struct Awaiting {
    pub id: String,
    pub request: Request,
    /// The message text, when the message can still be read.
    pub message: Option<String>,
    pub acked_by: Vec<String>,
    /// Who has not acknowledged yet (for a broadcast: every known agent but the sender).
    pub waiting: Vec<String>,
}

/// The messages `me` sent with `--ack`, and who has (not) acknowledged each.
pub async fn sent_by(app: &App, me: &str) -> anyhow::Result<Vec<Awaiting>> {
    let all = list_all(app).await?;
    let mine: Vec<(String, Listed)> = all
        .into_iter()
        .filter(|(id, l)| l.requested && keys::parse_stem(id).is_some_and(|(_, s)| s == me))
        .collect();
    let agents = if mine.is_empty() {
        vec![]
    } else {
        known_agents(app).await?
    };
    let mut out = read_requests(app, mine).await?;
    for a in &mut out {
        let expected: Vec<String> = if a.request.to == keys::BROADCAST {
            agents.iter().filter(|x| *x != me).cloned().collect()
        } else {
            vec![a.request.to.clone()]
        };
        a.waiting = expected
            .into_iter()
            .filter(|x| !a.acked_by.contains(x))
            .collect();
    }
    Ok(out)
}

/// The messages to `me` (directly or by broadcast) that await its acknowledgement.
pub async fn pending_for(app: &App, me: &str) -> anyhow::Result<Vec<Awaiting>> {
    let all = list_all(app).await?;
    let candidates: Vec<(String, Listed)> = all
        .into_iter()
        .filter(|(id, l)| {
            l.requested
                && !l.acked_by.iter().any(|a| a == me)
                && keys::parse_stem(id).is_some_and(|(_, s)| s != me)
        })
        .collect();
    let mut out = read_requests(app, candidates).await?;
    out.retain(|a| a.request.to == me || a.request.to == keys::BROADCAST);
    for a in &mut out {
        a.waiting = vec![me.to_string()];
    }
    Ok(out)
}

/// Reads each request and, concurrently, the message it names (for its text).
async fn read_requests(app: &App, ids: Vec<(String, Listed)>) -> anyhow::Result<Vec<Awaiting>> {
    let store = &app.store;
    let read = stream::iter(ids)
        .map(|(id, listed)| async move {
            let key = keys::ack_request(&id);
            let req = match store.get(&key).await {
                Ok(obj) => obj,
                Err(StoreError::NotFound { .. }) => return Ok(None),
                Err(e) => {
                    return Err(anyhow::Error::from(e).context(format!("could not read {key}")));
                }
            };
            let Ok(request) = serde_json::from_slice::<Request>(&req.body) else {
                return Ok(None);
            };
            let message = match store.get(&request.key).await {
                Ok(obj) => serde_json::from_slice::<Message>(&obj.body)
                    .ok()
                    .map(|m| m.message),
                Err(_) => None,
            };
            Ok(Some(Awaiting {
                id,
                request,
                message,
                acked_by: listed.acked_by,
                waiting: vec![],
            }))
        })
        .buffered(FETCH_CONCURRENCY)
        .try_collect::<Vec<Option<Awaiting>>>()
        .await?;
    Ok(read.into_iter().flatten().collect())
}

/// Every agent with a presence record.
async fn known_agents(app: &App) -> anyhow::Result<Vec<String>> {
    let entries = app.store.list(keys::AGENTS_DIR, None).await?;
    Ok(entries
        .iter()
        .filter_map(|e| keys::agent_of(&e.key).map(str::to_string))
        .collect())
}
