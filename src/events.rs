//! The event log of contract section 13: every command that changes the bucket also writes
//! one create-once event `events/<YYYY-MM-DD>/<ts_ns>_<agent>_<uuid8>.json`, concurrently
//! with its own write, so the log answers "who did what, when" without adding a round
//! trip to any command. Events are partitioned by day so a reader of the recent past
//! lists only the days it needs.
//!
//! Writing: build an [`Event`] and either put [`record`] into the command's own
//! `tokio::join!`, or wrap the command's write in [`alongside`], which also withdraws the
//! event when the write fails. A failed event write is a warning, never a failed command.
//! Reading: [`list`] and [`read`] serve `log`; `gc` ages events by their keys.

use std::future::Future;

use chrono::{DateTime, Days, NaiveDate, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::{self, App, FETCH_CONCURRENCY};
use crate::docs::Extra;
use crate::ids;
use crate::keys;
use crate::store::{PutMode, StoreError};
use crate::time;

/// A fresh uuid suffix is drawn when a create-once write finds its key taken.
const CREATE_ATTEMPTS: usize = 3;
/// Past this many days, `log --since` lists from the first day on in one listing rather
/// than one listing per day.
const MAX_DAY_LISTINGS: u64 = 14;

/// One stored event.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventDoc {
    pub at: String,
    pub agent: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub detail: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An event about to be written: its type (`claim`, `send`, `memory.set`, ...), the step
/// it is about (as typed), the main key it touched and free-form detail.
#[derive(Clone, Debug, Default)]
pub struct Event {
    kind: String,
    step: Option<String>,
    key: Option<String>,
    detail: Map<String, Value>,
}

impl Event {
    pub fn new(kind: impl Into<String>) -> Self {
        Event {
            kind: kind.into(),
            ..Event::default()
        }
    }

    pub fn step(mut self, step: Option<impl Into<String>>) -> Self {
        self.step = step.map(Into::into);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds one detail field; `null` values are left out.
    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        if !value.is_null() {
            self.detail.insert(name.to_string(), value);
        }
        self
    }
}

/// Writes `event` as the calling agent, now. Never fails: a failed write is a warning
/// (the command's own write is what matters). Returns the key written.
pub async fn record(app: &App, event: Event) -> Option<String> {
    match try_record(app, event).await {
        Ok(key) => Some(key),
        Err(e) => {
            app.printer
                .warn(format!("the event log was not updated: {e:#}"));
            None
        }
    }
}

/// Runs `work` (a command's own write) and records `event` concurrently; when `work`
/// fails, the event is withdrawn again (best effort), so the log does not claim a change
/// that did not happen. The one-line way for a command to log what it does.
pub async fn alongside<T, E>(
    app: &App,
    event: Event,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    alongside_if(app, event, work, Result::is_ok).await
}

/// [`alongside`] for work whose expected refusals are values, not errors (a reservation
/// refused by another agent's): the event stays only when `happened` says the change was
/// made.
pub async fn alongside_if<T>(
    app: &App,
    event: Event,
    work: impl Future<Output = T>,
    happened: impl FnOnce(&T) -> bool,
) -> T {
    let (result, written) = tokio::join!(work, record(app, event));
    if !happened(&result)
        && let Some(key) = written
        && let Err(e) = app.store.delete(&key).await
    {
        app.printer
            .debug(format!("could not withdraw event '{key}': {e}"));
    }
    result
}

async fn try_record(app: &App, event: Event) -> anyhow::Result<String> {
    let now = time::now();
    let doc = EventDoc {
        at: time::format(now),
        agent: app.agent().to_string(),
        kind: event.kind,
        step: event.step,
        key: event.key,
        detail: event.detail,
        extra: Default::default(),
    };
    let mode = if app.store.capabilities().atomic_create {
        PutMode::Create
    } else {
        PutMode::Overwrite
    };
    let (day, ts) = (day_of(now), time::ts_ns(now));
    let mut attempt = 1;
    loop {
        let key = keys::event(&day, &ts, app.agent(), &ids::uuid8());
        match app.write(&key, &doc, mode.clone()).await {
            Ok(_) => return Ok(key),
            Err(StoreError::AlreadyExists { .. }) if attempt < CREATE_ATTEMPTS => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// `YYYY-MM-DD` of a moment, in UTC: the event partition it falls in.
pub fn day_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The listings that cover every event written at or after `since` (all of them for
/// `None`): one `(prefix, start_after)` per day from that day to tomorrow (a writer's
/// clock may run ahead), or one listing of the whole log when that is fewer requests.
pub fn listings(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<(String, Option<String>)> {
    let Some(since) = since else {
        return vec![(keys::EVENTS_DIR.to_string(), None)];
    };
    let first = since.date_naive();
    let last = now.date_naive() + Days::new(1);
    let start = |day: NaiveDate| {
        let ts = time::ts_ns(since);
        // Everything of that day at or after `since`: keys sort by time within a day.
        let below = ts.parse::<i64>().unwrap_or(0).saturating_sub(1).max(0);
        format!("{}{below:019}", keys::events_day(&day.to_string()))
    };
    if first > last {
        return vec![];
    }
    let days = (last - first).num_days() as u64 + 1;
    if days > MAX_DAY_LISTINGS {
        return vec![(keys::EVENTS_DIR.to_string(), Some(start(first)))];
    }
    (0..days)
        .map(|i| {
            let day = first + Days::new(i);
            let prefix = keys::events_day(&day.to_string());
            let after = (i == 0).then(|| start(day));
            (prefix, after)
        })
        .collect()
}

/// Every event key the listings find, in key order, with the event's time and agent.
pub async fn list(
    app: &App,
    listings: &[(String, Option<String>)],
) -> anyhow::Result<Vec<(String, i64, String)>> {
    let found = futures::future::try_join_all(
        listings
            .iter()
            .map(|(prefix, after)| app.store.list(prefix, after.as_deref())),
    )
    .await?;
    let mut out: Vec<(String, i64, String)> = found
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let (ts, agent) = keys::parse_event(&e.key)?;
            let agent = agent.to_string();
            Some((e.key, ts, agent))
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Reads events, at most [`FETCH_CONCURRENCY`] at a time, in the order given. Unreadable
/// ones are skipped with a warning; ones deleted meanwhile (by `gc`) silently.
pub async fn read(app: &App, keys: &[String]) -> anyhow::Result<Vec<(String, EventDoc)>> {
    let store = &app.store;
    let bodies: Vec<_> = stream::iter(keys.iter())
        .map(|k| async move { (k, store.get(k).await) })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::with_capacity(bodies.len());
    for (key, body) in bodies {
        match body {
            Ok(obj) => match app::decode::<EventDoc>(key, &obj.body) {
                Ok(doc) => out.push((key.clone(), doc)),
                Err(e) => app.printer.warn(format!("skipping unreadable event: {e}")),
            },
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        time::parse(text).unwrap()
    }

    #[test]
    fn an_hour_back_lists_one_or_two_days_from_the_right_key() {
        let now = at("2026-12-03T09:30:00+00:00");
        let since = at("2026-12-03T08:30:00+00:00");
        let l = listings(Some(since), now);
        assert_eq!(l.len(), 2, "{l:?}");
        assert_eq!(l[0].0, "events/2026-12-03/");
        let after = l[0].1.as_deref().unwrap();
        assert!(after.starts_with("events/2026-12-03/"));
        let first_event = keys::event("2026-12-03", &time::ts_ns(since), "a", "00000000");
        assert!(
            first_event.as_str() > after,
            "an event at `since` is listed"
        );
        assert_eq!(l[1], ("events/2026-12-04/".to_string(), None));

        let just_after_midnight = at("2026-12-03T00:10:00+00:00");
        let l = listings(Some(at("2026-12-02T23:10:00+00:00")), just_after_midnight);
        let days: Vec<&str> = l.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            days,
            [
                "events/2026-12-02/",
                "events/2026-12-03/",
                "events/2026-12-04/"
            ]
        );
    }

    #[test]
    fn long_ranges_are_one_listing_and_none_is_everything() {
        let now = at("2026-12-03T09:30:00+00:00");
        let l = listings(Some(at("2026-10-01T00:00:00+00:00")), now);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, "events/");
        assert!(l[0].1.as_deref().unwrap().starts_with("events/2026-10-01/"));
        assert_eq!(listings(None, now), [("events/".to_string(), None)]);
    }

    #[test]
    fn builder_leaves_out_nulls() {
        let e = Event::new("send")
            .step(Some("S1"))
            .with("to", "bob")
            .with("thread", None::<String>);
        assert_eq!(e.kind, "send");
        assert_eq!(e.step.as_deref(), Some("S1"));
        assert_eq!(e.detail.len(), 1);
    }
}
